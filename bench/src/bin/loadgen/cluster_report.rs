//! Renders the two-node section of BENCHMARKS.md from `bench/cluster.sh`'s results:
//! idle connections held and cross-node fan-out, chatwire on one node and on two
//! (cluster mode, Redis + PostgreSQL) beside the Node peer as one process and as two
//! with `@socket.io/redis-adapter`. The section sits between [`BEGIN`] and [`END`]
//! in the output file: it replaces an earlier one, or is appended, so the
//! single-node report around it stays as it is (and `loadgen report` keeps it).

use std::{fmt::Write as _, path::PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

pub const BEGIN: &str = "<!-- cluster:begin (bench/cluster.sh writes this section) -->";
pub const END: &str = "<!-- cluster:end -->";

#[derive(Args)]
pub struct ClusterReportArgs {
    #[arg(long)]
    results: PathBuf,
    #[arg(long)]
    meta: PathBuf,
    /// Markdown appended to the section (the hand-written reading).
    #[arg(long)]
    analysis: Option<PathBuf>,
    /// The file whose cluster section is replaced (created when missing).
    #[arg(long)]
    out: PathBuf,
}

/// The four configurations, in table order: (label, name, processes).
const CONFIGS: [(&str, &str, u32); 4] = [
    ("chatwire-1n", "chatwire, 1 node", 1),
    ("chatwire-2n", "chatwire, 2 nodes (Redis)", 2),
    ("node-1p", "Node peer, 1 process", 1),
    ("node-2p", "Node peer, 2 processes + redis-adapter", 2),
];

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}
fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}
fn sub(v: &Value, obj: &str, k: &str) -> Option<f64> {
    v.get(obj).and_then(|o| o.get(k)).and_then(Value::as_f64)
}
fn int(x: f64) -> String {
    let n = x.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}
fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(x) if x >= 100.0 => int(x),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}
fn ms(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}
fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.0}%")).unwrap_or_else(|| "–".into())
}
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "–".into(),
    }
}

/// One configuration's idle figures at its largest step, over its generators
/// (one per node for two nodes: the fd limit is per process).
struct Idle {
    conns: f64,
    per_node: Vec<f64>,
    errors: u64,
    connect_secs: f64,
    rss_kib: Option<f64>,
    rss_base_kib: Option<f64>,
    probe_p99: Option<f64>,
    cpu: Option<f64>,
}

fn idle_of(rows: &[Value], label: &str) -> Option<Idle> {
    let mine: Vec<&Value> = rows
        .iter()
        .filter(|v| s(v, "scenario") == "idle" && s(v, "label") == label)
        .collect();
    if mine.is_empty() {
        return None;
    }
    // The last row of each generator (tag `node`) is its largest step.
    let mut nodes: Vec<&str> = mine.iter().map(|v| s(v, "node")).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let last: Vec<&Value> = nodes
        .iter()
        .filter_map(|n| mine.iter().rev().find(|v| s(v, "node") == *n).copied())
        .collect();
    let sum = |k: &str| -> Option<f64> { last.iter().map(|v| f(v, k)).sum() };
    Some(Idle {
        conns: sum("conns").unwrap_or(0.0),
        per_node: last.iter().filter_map(|v| f(v, "conns")).collect(),
        errors: last
            .iter()
            .map(|v| v["errors"].as_u64().unwrap_or(0) + v["closed"].as_u64().unwrap_or(0))
            .sum(),
        connect_secs: mine
            .iter()
            .filter_map(|v| f(v, "connect_secs"))
            .fold(0.0, |a, b| a + b)
            / nodes.len().max(1) as f64,
        rss_kib: sum("rss_kib"),
        rss_base_kib: sum("rss_base_kib"),
        probe_p99: last
            .iter()
            .filter_map(|v| sub(v, "probe_rtt", "p99_ms"))
            .reduce(f64::max),
        cpu: sum("server_cpu_pct"),
    })
}

fn fan<'a>(rows: &'a [Value], label: &str, members: u64, mode: &str) -> Option<&'a Value> {
    rows.iter().find(|v| {
        s(v, "scenario") == "fanout"
            && s(v, "label") == label
            && v["members"].as_u64() == Some(members)
            && s(v, "mode") == mode
    })
}

pub fn run(a: ClusterReportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.results)
        .with_context(|| format!("read {}", a.results.display()))?;
    let rows: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(&a.meta)?)?;
    let g = |k: &str| {
        meta.get(k)
            .map(|v| v.as_str().map(str::to_owned).unwrap_or(v.to_string()))
            .unwrap_or_default()
    };
    let mut o = String::new();
    let _ = writeln!(o, "{BEGIN}\n");
    let _ = writeln!(o, "## Two nodes (cluster mode) beside one\n");
    let _ = writeln!(
        o,
        "Measured {} on commit {}{} by `bench/cluster.sh`{}: {} ({} cores, {} GiB), {}, \
         Node {} with socket.io {} and @socket.io/redis-adapter {} (redis {}), PostgreSQL {}, \
         Redis {}. Load average before / after: {} / {}; machine busy before the run: {}% \
         (others' work shares the machine).\n",
        g("date"),
        g("commit"),
        if g("dirty") == "true" {
            " (with uncommitted changes)"
        } else {
            ""
        },
        if g("quick") == "1" {
            " (QUICK: small sizes, a smoke run)"
        } else {
            ""
        },
        g("cpu"),
        g("cores"),
        g("mem_gib"),
        g("rustc"),
        g("node"),
        g("socket_io"),
        g("redis_adapter"),
        g("redis_client"),
        g("postgres"),
        g("redis_server"),
        g("load_before"),
        g("load_after"),
        g("busy_before_pct"),
    );
    let _ = writeln!(
        o,
        "**Set-up.** All four on one PostgreSQL database server (a private one, pinned \
         with the servers) and, for two, one private `redis-server`: chatwire's nodes in \
         cluster mode (`REDIS_URL`, the four shared secrets, `CHATWIRE_NODE_ID` a / b; \
         one node is chatwire as one process, no `REDIS_URL`), the Node peer \
         (`bench/node-peer`, `MODE=express`, the same expresschat work on PostgreSQL) \
         as one process, and as two with `REDIS_URL` (the redis adapter). **Pinning: \
         every server process (both nodes), PostgreSQL and Redis share core 0; the \
         generator(s) run on core 1.** So two nodes get the same CPU as one: this run \
         cannot show throughput growing with nodes (it needs a core per node, which a \
         2-core machine with a generator does not have); it shows what the second node \
         costs and what it holds. Memory and connections held are per process and do \
         scale: the fd limit is {} per process, which is what caps one node at 19,800 \
         connections.\n",
        g("fd_limit"),
    );

    // ---- idle ----
    let _ = writeln!(o, "### Idle connections held\n");
    let _ = writeln!(
        o,
        "`loadgen idle --steps {}` per node, one generator process per node (each \
         generator is capped by the same fd limit), both at once for two, users split \
         (node a: users 1–N, node b: N+1–2N). *RSS* is every server process together \
         (not PostgreSQL or Redis); *RSS/conn* = (RSS − RSS before) ÷ connections; \
         *connect time* = mean over the generators of their time to open all their \
         connections (steps added); *probe p99* = the worse generator's round trip of \
         100 sequential `fetch-user-details` at the largest step.\n",
        g("idle_steps"),
    );
    let _ = writeln!(
        o,
        "| server | processes | connections held | per process | errors / closed | connect time s | server CPU over the last step | RSS MiB | RSS/conn KiB | probe p99 ms |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
    let mut idles = Vec::new();
    for (label, name, procs) in CONFIGS {
        let Some(i) = idle_of(&rows, label) else {
            let _ = writeln!(o, "| {name} | {procs} | not measured | | | | | | | |");
            idles.push(None);
            continue;
        };
        let per_conn = match (i.rss_kib, i.rss_base_kib) {
            (Some(r), Some(b)) if i.conns > 0.0 => Some((r - b) / i.conns),
            _ => None,
        };
        let _ = writeln!(
            o,
            "| {name} | {procs} | {} | {} | {} | {} | {} | {} | {} | {} |",
            int(i.conns),
            i.per_node
                .iter()
                .map(|x| int(*x))
                .collect::<Vec<_>>()
                .join(" + "),
            i.errors,
            num(Some(i.connect_secs)),
            pct(i.cpu),
            num(i.rss_kib.map(|k| k / 1024.0)),
            num(per_conn),
            ms(i.probe_p99),
        );
        idles.push(Some(i));
    }
    let held = |k: usize| idles.get(k).and_then(|i| i.as_ref()).map(|i| i.conns);
    let _ = writeln!(
        o,
        "\nConnections held, two processes ÷ one: chatwire {}, Node peer {}.\n",
        ratio(held(1), held(0)),
        ratio(held(3), held(2)),
    );

    // ---- fan-out ----
    let mut members: Vec<u64> = rows
        .iter()
        .filter(|v| s(v, "scenario") == "fanout")
        .filter_map(|v| v["members"].as_u64())
        .collect();
    members.sort_unstable();
    members.dedup();
    let _ = writeln!(o, "### Group fan-out across nodes\n");
    let _ = writeln!(
        o,
        "`loadgen fanout --members {} --rates {} --secs {}`, one generator process; for \
         two processes `--addr a,b`: connection n goes to node n mod 2, so the sender \
         (connection 0) is on node a and the other members alternate: about half the \
         deliveries of every message cross nodes (through Redis pub/sub), half stay on \
         the sender's node. The same work in every row: the sender creates the group, \
         then every message is stored in PostgreSQL (sequence bump, insert, read \
         pointer) before it is delivered to the other members. Saturation = closed loop \
         (at most 64,000 ÷ recipients messages not yet delivered to everyone), then a \
         fixed rate (open loop); 1 s warm-up, then the measured seconds; latency = send \
         → receipt on the generator's one clock; *same / other node p99* splits it by \
         where the recipient is connected; *÷ 1 process* and *chatwire ÷ Node peer*: \
         deliveries/s at saturation, p99 at a fixed rate (where throughput is the \
         demand); *lost* = expected − received after a drain \
         of up to 30 s (`+drop`: the server disconnected the sender). Server CPU is all \
         server processes together, in % of one core (PostgreSQL and Redis not \
         included; they run on the same core).\n",
        g("fanout_members"),
        g("fanout_rates"),
        g("secs"),
    );
    let _ = writeln!(
        o,
        "| members (a / b) | mode | server | msgs/s | deliveries/s | p50 / p99 ms | same / other node p99 ms | lost | server CPU | ÷ 1 process | chatwire ÷ Node peer |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|---|");
    for &m in &members {
        for mode in ["saturation", "rate"] {
            for (k, (label, name, _)) in CONFIGS.iter().enumerate() {
                let Some(v) = fan(&rows, label, m, mode) else {
                    continue;
                };
                let split = match (
                    v["recipients_local"].as_u64(),
                    v["recipients_remote"].as_u64(),
                ) {
                    // The sender is on a too.
                    (Some(l), Some(r)) => format!("{m} ({} / {r})", l + 1),
                    _ => format!("{m} (all on one)"),
                };
                let mode_txt = match mode {
                    "rate" => format!("{} msg/s", v["target_msgs_per_s"]),
                    _ => "saturation".into(),
                };
                let d = f(v, "deliveries_per_s");
                // Two processes beside one of the same server: throughput at
                // saturation, p99 at a fixed rate (where throughput is the demand).
                let compare = |other: Option<&Value>| match mode {
                    "rate" => ratio(
                        sub(v, "latency", "p99_ms"),
                        other.and_then(|x| sub(x, "latency", "p99_ms")),
                    )
                    .replace('x', "x p99"),
                    _ => ratio(d, other.and_then(|x| f(x, "deliveries_per_s"))),
                };
                let vs_one = if k % 2 == 1 {
                    compare(fan(&rows, CONFIGS[k - 1].0, m, mode))
                } else {
                    String::new()
                };
                // chatwire beside the Node peer with as many processes.
                let vs_node = if k < 2 {
                    compare(fan(&rows, CONFIGS[k + 2].0, m, mode))
                } else {
                    String::new()
                };
                let lost = v["lost"].as_u64().unwrap_or(0);
                let lost = if v["sender_dropped"].as_bool() == Some(true) {
                    format!("{lost} +drop")
                } else {
                    lost.to_string()
                };
                let _ = writeln!(
                    o,
                    "| {split} | {mode_txt} | {name} | {} | {} | {} / {} | {} / {} | {lost} | {} | {vs_one} | {vs_node} |",
                    num(f(v, "msgs_per_s")),
                    num(d),
                    ms(sub(v, "latency", "p50_ms")),
                    ms(sub(v, "latency", "p99_ms")),
                    ms(sub(v, "latency_local", "p99_ms")),
                    ms(sub(v, "latency_remote", "p99_ms")),
                    pct(f(v, "server_cpu_pct")),
                );
            }
        }
        // A room that could not be set up on some configuration.
        for (label, name, _) in CONFIGS {
            if let Some(e) = rows.iter().find(|v| {
                s(v, "scenario") == "fanout"
                    && s(v, "label") == label
                    && v["members"].as_u64() == Some(m)
                    && v.get("error").is_some()
            }) {
                let _ = writeln!(
                    o,
                    "| {m} | – | {name} | failed: {} | | | | | | | |",
                    s(e, "error")
                );
            }
        }
    }
    let _ = writeln!(o);
    if let Some(t) = a
        .analysis
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
    {
        o.push_str(t.trim_end());
        o.push_str("\n\n");
    }
    let _ = writeln!(
        o,
        "Reproduce: `bench/cluster.sh` (builds, runs all four configurations in one \
         run, about 10 minutes, and rewrites this section of BENCHMARKS.md; \
         `QUICK=1 bench/cluster.sh` is a smoke run into `bench/out/cluster-quick/`). \
         Raw results: `bench/out/cluster/results.jsonl`.\n"
    );
    let _ = writeln!(o, "{END}");

    let old = std::fs::read_to_string(&a.out).unwrap_or_default();
    let new = splice(&old, &o);
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    std::fs::write(&a.out, new)?;
    Ok(())
}

/// `doc` with its cluster section replaced by `section` (appended when it has none).
pub fn splice(doc: &str, section: &str) -> String {
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if e > b => {
            format!(
                "{}{}{}",
                &doc[..b],
                section,
                &doc[e + END.len()..].trim_start_matches('\n')
            )
        }
        _ if doc.is_empty() => section.to_owned(),
        _ => format!("{}\n\n{}", doc.trim_end(), section),
    }
}

/// The cluster section of `doc`, markers included, if it has one.
pub fn section_of(doc: &str) -> Option<&str> {
    let b = doc.find(BEGIN)?;
    let e = doc[b..].find(END)? + b;
    Some(&doc[b..e + END.len()])
}
