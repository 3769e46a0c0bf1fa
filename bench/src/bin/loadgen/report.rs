//! Renders a run's results (one JSON object a line, from `bench/run.sh`) and the
//! run's metadata as BENCHMARKS.md: every figure with its sizes, the ratio against
//! the Node peer and the ceiling measured in the same run, and a check of each goal
//! of `shared/docs/targets.md`. The hand-written analysis (`bench/analysis.md`) is
//! appended as it is.

use std::{fmt::Write as _, path::PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

#[derive(Args)]
pub struct ReportArgs {
    #[arg(long)]
    results: PathBuf,
    #[arg(long)]
    meta: PathBuf,
    /// Markdown appended under "Analysis".
    #[arg(long)]
    analysis: Option<PathBuf>,
    #[arg(long)]
    out: PathBuf,
    /// Where the charts (SVG) are written; linked from the report by their path
    /// relative to the report's folder. Default: `charts/` beside the report.
    #[arg(long)]
    charts: Option<PathBuf>,
}

struct Results(Vec<Value>);

impl Results {
    fn find(&self, pred: impl Fn(&Value) -> bool) -> Vec<&Value> {
        self.0.iter().filter(|v| pred(v)).collect()
    }
    fn one(&self, pred: impl Fn(&Value) -> bool) -> Option<&Value> {
        self.0.iter().find(|v| pred(v))
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}
fn f(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}
fn lat(v: &Value, k: &str) -> Option<f64> {
    v.get("latency")
        .and_then(|l| l.get(k))
        .and_then(Value::as_f64)
}
fn num(x: Option<f64>) -> String {
    match x {
        None => "–".into(),
        Some(x) if x >= 100_000.0 => format!("{:.0}k", x / 1000.0),
        Some(x) if x >= 10_000.0 => format!("{:.1}k", x / 1000.0),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
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
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "–".into(),
    }
}
fn pct(x: Option<f64>) -> String {
    x.map(|x| format!("{x:.0}%")).unwrap_or_else(|| "–".into())
}
fn yes(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**met**",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

const LABELS: [(&str, &str); 5] = [
    ("chatwire", "chatwire (expresschat)"),
    ("chatwire-before", "chatwire, build before this pass"),
    ("node", "Node peer, expresschat work"),
    ("node-relay", "Node peer, room relay"),
    ("ceiling", "raw ceiling"),
];

fn label_name(l: &str) -> &str {
    LABELS
        .iter()
        .find(|(k, _)| *k == l)
        .map(|(_, n)| *n)
        .unwrap_or(l)
}

pub fn run(a: ReportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.results)
        .with_context(|| format!("read {}", a.results.display()))?;
    let r = Results(
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    );
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(&a.meta)?)?;
    let mut o = String::new();
    header(&mut o, &meta);
    goals(&mut o, &r);
    versus_node(&mut o, &r);
    let out_dir = a
        .out
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let chart_dir = a.charts.clone().unwrap_or_else(|| out_dir.join("charts"));
    charts(&mut o, &r, &chart_dir, &out_dir)?;
    before_after(&mut o, &r, &meta);
    idle(&mut o, &r);
    fanout(&mut o, &r);
    dm(&mut o, &r);
    if let Some(t) = a
        .analysis
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
    {
        o.push('\n');
        o.push_str(t.trim_end());
        o.push('\n');
    }
    method(&mut o, &meta);
    // The two-node section (bench/cluster.sh) is another run's: keep it.
    let old = std::fs::read_to_string(&a.out).unwrap_or_default();
    if let Some(section) = crate::cluster_report::section_of(&old) {
        o.push('\n');
        o.push_str(section);
        o.push('\n');
    }
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    std::fs::write(&a.out, o)?;
    Ok(())
}

fn header(o: &mut String, m: &Value) {
    let g = |k: &str| {
        m.get(k)
            .map(|v| v.as_str().map(str::to_owned).unwrap_or(v.to_string()))
            .unwrap_or_default()
    };
    let _ = writeln!(o, "# Benchmarks\n");
    let _ = writeln!(
        o,
        "Written by `bench/run.sh` from the run of **{}** (commit `{}`{}). Every figure \
         below was measured in that one run; ratios compare servers measured side by side \
         in it. Rerun with `bench/run.sh` (needs Rust, Node 20 + npm, and PostgreSQL's \
         binaries for the PostgreSQL scenario).\n",
        g("date"),
        g("commit"),
        if m["dirty"].as_bool() == Some(true) {
            ", with uncommitted changes in the tree"
        } else {
            ""
        }
    );
    if m["quick"].as_i64() == Some(1) {
        let _ = writeln!(
            o,
            "**QUICK run: reduced sizes, a smoke test, not the figures of record.**\n"
        );
    }
    let _ = writeln!(
        o,
        "Machine: {}, {} cores, {} GiB, {}, fd limit {}. {}\n\
         Load average (1/5/15 min) before the run: {}; after: {}. The machine was \
         {}% busy (all cores) in the 3 s before the run with none of its servers \
         running (top: {}) and {}% in the 3 s after it. Other engineers' builds and \
         tests share this machine: each measurement below also shows *other CPU*, \
         the CPU that every other process used during its window (percent of one \
         core); where it is high, the figure is depressed by that noise. Before each \
         server starts, `run.sh` waits (at most 30 s) for the machine to be under 25% \
         busy.\n\n\
         Versions: {}; Node {}, socket.io {}, better-sqlite3 {}, pg {}, bufferutil {}; \
         PostgreSQL {}.\n",
        g("cpu"),
        g("cores"),
        g("mem_gib"),
        g("kernel"),
        g("fd_limit"),
        if m["pinned"].as_bool() == Some(true) {
            "Each server (and the private PostgreSQL) pinned to core 0, the generator to core 1 (`taskset`)."
        } else {
            "Not pinned (no taskset or a single core)."
        },
        g("load_before"),
        g("load_after"),
        g("busy_before_pct"),
        g("top_before"),
        g("busy_after_pct"),
        g("rustc"),
        g("node"),
        g("socket_io"),
        g("better_sqlite3"),
        g("pg"),
        g("bufferutil"),
        if g("postgres").is_empty() {
            "not run".into()
        } else {
            g("postgres")
        },
    );
    let _ = writeln!(
        o,
        "The servers:\n\
         - **chatwire**: the release binary, expresschat profile only (Socket.IO on `/`), \
         log level `warn`, defaults otherwise (SQLite file in WAL mode with \
         `synchronous=NORMAL`, pool of 16; `SOCKET_BUFFER=1024`) except the per-user \
         message budget, raised to `MESSAGES_PER_MINUTE=1000000` (default 30,000: the \
         fan-out sender alone sends more in a minute; the Node peer has no budget).\n\
         - **Node peer, expresschat work** (`bench/node-peer/server.js`, `MODE=express`): \
         socket.io 4, websocket only; checks the same HS256 token, looks the user up and \
         sends the same three greeting events from its database; persists group and \
         personal messages with the same statements in one transaction, then delivers \
         to the members' `user:<id>` rooms (same events, same fan-out, same database \
         engine and settings).\n\
         - **Node peer, room relay** (`MODE=relay`): the peer of `targets.md` (`joinRoom`, \
         `sendMessage` ⇒ `newMessage` to the room, sender included; no auth, no database).\n\
         - **raw ceiling** (`bench/src/bin/ceiling.rs`): tokio-tungstenite broadcast \
         server speaking just enough Engine.IO for the same generator, writing all \
         frames queued for a connection with one flush.\n\n\
         The generator (`loadgen`) is one thread; when its own CPU nears 100% a figure is \
         bounded by the generator, not by the server (shown as gen CPU).\n"
    );
}

/// The charts a reader looks at first: fan-out deliveries/s and p99 by room size,
/// memory per connection by connection count; one line per server.
fn charts(
    o: &mut String,
    r: &Results,
    dir: &std::path::Path,
    out_dir: &std::path::Path,
) -> Result<()> {
    use crate::charts::{Chart, Series, color_of, render};
    let members = members_measured(r);
    let steps: Vec<u64> = {
        let mut s: Vec<u64> = r
            .find(|v| s(v, "scenario") == "idle")
            .iter()
            .filter_map(|v| v["conns"].as_u64())
            .collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let series = |value: &dyn Fn(&str) -> Vec<Option<f64>>| -> Vec<Series> {
        LABELS
            .iter()
            .map(|(l, name)| Series {
                name: (*name).to_string(),
                color: color_of(l),
                values: value(l),
            })
            .filter(|s| s.values.iter().any(Option::is_some))
            .collect()
    };
    let fan_x: Vec<String> = members.iter().map(|m| format!("{m} members")).collect();
    let list = [
        (
            "fanout-deliveries.svg",
            "Group fan-out at saturation: deliveries/s by room size",
            Chart {
                title: "Group fan-out at saturation",
                x_label: "room size (one sender)",
                y_label: "deliveries/s",
                xs: fan_x.clone(),
                series: series(&|l| {
                    members
                        .iter()
                        .map(|m| fan(r, l, *m, "saturation").and_then(|v| f(v, "deliveries_per_s")))
                        .collect()
                }),
                log_y: true,
            },
        ),
        (
            "fanout-p99.svg",
            "Group fan-out at the fixed rates: p99 latency by room size",
            Chart {
                title: "Group fan-out at the fixed rates: p99 latency",
                x_label: "room size (fixed rate)",
                y_label: "p99 ms",
                xs: members
                    .iter()
                    .map(|m| {
                        let rate = r
                            .find(|v| {
                                s(v, "scenario") == "fanout"
                                    && v["members"].as_u64() == Some(*m)
                                    && s(v, "mode") == "rate"
                            })
                            .first()
                            .and_then(|v| f(v, "target_msgs_per_s"));
                        format!("{m} x {} msg/s", num(rate))
                    })
                    .collect(),
                series: series(&|l| {
                    members
                        .iter()
                        .map(|m| fan(r, l, *m, "rate").and_then(|v| lat(v, "p99_ms")))
                        .collect()
                }),
                log_y: true,
            },
        ),
        (
            "memory-per-connection.svg",
            "RSS per idle connection by connection count",
            Chart {
                title: "RSS per idle connection",
                x_label: "idle connections held",
                y_label: "KiB per connection",
                xs: steps.iter().map(|n| num(Some(*n as f64))).collect(),
                series: series(&|l| {
                    steps
                        .iter()
                        .map(|n| {
                            r.one(|v| {
                                s(v, "scenario") == "idle"
                                    && s(v, "label") == l
                                    && v["conns"].as_u64() == Some(*n)
                            })
                            .and_then(|v| f(v, "rss_per_conn_kib"))
                        })
                        .collect()
                }),
                log_y: false,
            },
        ),
    ];
    let mut drawn = Vec::new();
    for (file, alt, chart) in &list {
        if let Some(svg) = render(chart) {
            std::fs::create_dir_all(dir)?;
            let path = dir.join(file);
            std::fs::write(&path, svg).with_context(|| format!("write {}", path.display()))?;
            let href = path
                .strip_prefix(out_dir)
                .map(|p| p.to_path_buf())
                .unwrap_or(path.clone());
            drawn.push(format!("![{alt}]({})", href.display()));
        }
    }
    if !drawn.is_empty() {
        let _ = writeln!(
            o,
            "## Charts
"
        );
        let _ = writeln!(
            o,
            "Drawn by `loadgen report` from this run's results (the tables below hold every \
             figure).\n"
        );
        for d in drawn {
            let _ = writeln!(o, "{d}\n");
        }
    }
    Ok(())
}

fn max_step<'a>(r: &'a Results, label: &str) -> Option<&'a Value> {
    r.find(|v| s(v, "scenario") == "idle" && s(v, "label") == label)
        .into_iter()
        .max_by_key(|v| v["conns"].as_u64().unwrap_or(0))
}
fn min_step<'a>(r: &'a Results, label: &str) -> Option<&'a Value> {
    r.find(|v| s(v, "scenario") == "idle" && s(v, "label") == label)
        .into_iter()
        .min_by_key(|v| v["conns"].as_u64().unwrap_or(0))
}
fn fan<'a>(r: &'a Results, label: &str, members: u64, mode: &str) -> Option<&'a Value> {
    r.one(|v| {
        s(v, "scenario") == "fanout"
            && s(v, "label") == label
            && v["members"].as_u64() == Some(members)
            && s(v, "mode") == mode
    })
}
fn members_measured(r: &Results) -> Vec<u64> {
    let mut m: Vec<u64> = r
        .find(|v| s(v, "scenario") == "fanout")
        .iter()
        .filter_map(|v| v["members"].as_u64())
        .collect();
    m.sort_unstable();
    m.dedup();
    m
}
fn dm_sat<'a>(r: &'a Results, label: &str, db: &str) -> Option<&'a Value> {
    r.one(|v| {
        s(v, "scenario") == "dm"
            && s(v, "label") == label
            && s(v, "db") == db
            && s(v, "mode") == "saturation"
    })
}
/// The highest fixed-rate DM run that held p99 <= 25 ms with nothing lost.
fn dm_sustained<'a>(r: &'a Results, label: &str, db: &str) -> Option<&'a Value> {
    r.find(|v| {
        s(v, "scenario") == "dm"
            && s(v, "label") == label
            && s(v, "db") == db
            && lat(v, "p99_ms").is_some_and(|p| p <= 25.0)
            && v["lost"].as_u64() == Some(0)
    })
    .into_iter()
    .max_by(|a, b| {
        f(a, "delivered_per_s")
            .unwrap_or(0.0)
            .total_cmp(&f(b, "delivered_per_s").unwrap_or(0.0))
    })
}

/// A figure of a comparison table with its unit (`ms`: a latency, spaced), or a
/// dash when it was not measured.
fn cell(x: Option<f64>, unit: &str) -> String {
    match x {
        Some(_) if unit == "ms" => format!("{} ms", ms(x)),
        Some(_) => format!("{}{unit}", num(x)),
        None => "–".into(),
    }
}

/// chatwire against its own earlier build (`BEFORE_BIN` in run.sh), measured in
/// the same run with the same sizes: what the pass changed.
fn before_after(o: &mut String, r: &Results, meta: &Value) {
    if r.one(|v| s(v, "label") == "chatwire-before").is_none() {
        return;
    }
    let _ = writeln!(o, "## Before and after this pass\n");
    let _ = writeln!(
        o,
        "The same suite, in this run, against chatwire built from commit `{}` (before the \
         pass) and from the commit above (after). *Change* is after ÷ before (for latency \
         and memory, lower is better).\n",
        meta["before_commit"].as_str().unwrap_or("unknown")
    );
    let _ = writeln!(o, "| figure | before | after | change |");
    let _ = writeln!(o, "|---|---|---|---|");
    let mut row = |name: String, b: Option<f64>, a: Option<f64>, unit: &str| {
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} |",
            cell(b, unit),
            cell(a, unit),
            ratio(a, b)
        );
    };
    let (b, a) = (max_step(r, "chatwire-before"), max_step(r, "chatwire"));
    let g = |v: Option<&Value>, k: &str| v.and_then(|v| f(v, k));
    let conns = num(g(a, "conns"));
    row(
        format!("connects/s (step to {conns})"),
        g(b, "connects_per_s"),
        g(a, "connects_per_s"),
        "/s",
    );
    row(
        format!("RSS per idle connection at {conns}, KiB"),
        g(b, "rss_per_conn_kib"),
        g(a, "rss_per_conn_kib"),
        "",
    );
    for m in members_measured(r) {
        let (b, a) = (
            fan(r, "chatwire-before", m, "saturation"),
            fan(r, "chatwire", m, "saturation"),
        );
        row(
            format!("fan-out to {m} members at saturation, deliveries/s"),
            g(b, "deliveries_per_s"),
            g(a, "deliveries_per_s"),
            "/s",
        );
        let (b, a) = (
            fan(r, "chatwire-before", m, "rate"),
            fan(r, "chatwire", m, "rate"),
        );
        let rate = num(g(a, "target_msgs_per_s"));
        row(
            format!("fan-out to {m} members at {rate} msg/s, p99"),
            b.and_then(|v| lat(v, "p99_ms")),
            a.and_then(|v| lat(v, "p99_ms")),
            "ms",
        );
    }
    for db in ["sqlite", "postgres"] {
        let (b, a) = (dm_sat(r, "chatwire-before", db), dm_sat(r, "chatwire", db));
        if a.is_none() {
            continue;
        }
        row(
            format!("direct messages on {db} at saturation, msg/s"),
            g(b, "delivered_per_s"),
            g(a, "delivered_per_s"),
            "/s",
        );
        row(
            format!("direct messages on {db} at saturation, p99"),
            b.and_then(|v| lat(v, "p99_ms")),
            a.and_then(|v| lat(v, "p99_ms")),
            "ms",
        );
        let (b, a) = (
            dm_sustained(r, "chatwire-before", db),
            dm_sustained(r, "chatwire", db),
        );
        row(
            format!("direct messages on {db}: best fixed rate held at p99 <= 25 ms"),
            g(b, "delivered_per_s"),
            g(a, "delivered_per_s"),
            "/s",
        );
    }
    let _ = writeln!(o);
}

/// Every figure of the report beside the Node peer doing the same work: is chatwire
/// ahead? Higher is better for rates, lower for memory and latency.
fn versus_node(o: &mut String, r: &Results) {
    let _ = writeln!(o, "## Against the Node peer, figure by figure\n");
    let _ = writeln!(
        o,
        "chatwire and the Node peer doing the same work (expresschat events, same \
         database), in this run. *Ahead* when chatwire's figure is better: higher for \
         rates, lower for memory and latency.\n"
    );
    let _ = writeln!(
        o,
        "| figure | chatwire | Node peer | chatwire ÷ Node | ahead |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|");
    let g = |v: Option<&Value>, k: &str| v.and_then(|v| f(v, k));
    let mut row =
        |name: String, c: Option<f64>, n: Option<f64>, higher_better: bool, unit: &str| {
            let ahead = match (c, n) {
                (Some(c), Some(n)) if c == n => Some(None),
                (Some(c), Some(n)) if higher_better => Some(Some(c > n)),
                (Some(c), Some(n)) => Some(Some(c < n)),
                _ => None,
            };
            let _ = writeln!(
                o,
                "| {name} | {} | {} | {} | {} |",
                cell(c, unit),
                cell(n, unit),
                ratio(c, n),
                match ahead {
                    Some(Some(true)) => "**yes**",
                    Some(Some(false)) => "**no**",
                    Some(None) => "tie",
                    None => "not measured",
                }
            );
        };
    let (c, n) = (max_step(r, "chatwire"), max_step(r, "node"));
    let conns = num(g(c, "conns"));
    row(
        format!("RSS per idle connection at {conns}"),
        g(c, "rss_per_conn_kib"),
        g(n, "rss_per_conn_kib"),
        false,
        " KiB",
    );
    row(
        format!("connects/s (step to {conns})"),
        g(c, "connects_per_s"),
        g(n, "connects_per_s"),
        true,
        "/s",
    );
    for m in members_measured(r) {
        row(
            format!("fan-out to {m} members at saturation, deliveries/s"),
            g(fan(r, "chatwire", m, "saturation"), "deliveries_per_s"),
            g(fan(r, "node", m, "saturation"), "deliveries_per_s"),
            true,
            "/s",
        );
        let c = fan(r, "chatwire", m, "rate");
        let rate = num(g(c, "target_msgs_per_s"));
        row(
            format!("fan-out to {m} members at {rate} msg/s, p99"),
            c.and_then(|v| lat(v, "p99_ms")),
            fan(r, "node", m, "rate").and_then(|v| lat(v, "p99_ms")),
            false,
            "ms",
        );
    }
    for db in ["sqlite", "postgres"] {
        let (c, n) = (dm_sat(r, "chatwire", db), dm_sat(r, "node", db));
        if c.is_none() && n.is_none() {
            continue;
        }
        row(
            format!("direct messages on {db} at saturation, msg/s"),
            g(c, "delivered_per_s"),
            g(n, "delivered_per_s"),
            true,
            "/s",
        );
        row(
            format!("direct messages on {db}: best fixed rate held at p99 <= 25 ms, no loss"),
            g(dm_sustained(r, "chatwire", db), "target_msgs_per_s"),
            g(dm_sustained(r, "node", db), "target_msgs_per_s"),
            true,
            "/s",
        );
    }
    let _ = writeln!(o);
}

fn goals(o: &mut String, r: &Results) {
    let _ = writeln!(o, "## Where chatwire stands against targets.md\n");
    let _ = writeln!(
        o,
        "| goal | target | chatwire | Node peer (same work) | ratio | verdict |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|");
    let cw = max_step(r, "chatwire");
    let nd = max_step(r, "node");
    let rss = |v: Option<&Value>| v.and_then(|v| f(v, "rss_per_conn_kib"));
    let conns = |v: Option<&Value>| v.and_then(|v| f(v, "conns"));
    let _ = writeln!(
        o,
        "| memory per idle authenticated connection (RSS / connections at {} connections) | <= 8 KiB | {} KiB | {} KiB | {} | {} |",
        num(conns(cw)),
        num(rss(cw)),
        num(rss(nd)),
        ratio(rss(cw), rss(nd)),
        yes(rss(cw).map(|x| x <= 8.0))
    );
    let held = cw.map(|v| v["errors"].as_u64() == Some(0) && v["closed"].as_u64() == Some(0));
    let _ = writeln!(
        o,
        "| connections held on one process | ~19.9k without errors | {} held, {} errors, {} dropped | {} | | {} |",
        num(conns(cw)),
        cw.and_then(|v| v["errors"].as_u64()).unwrap_or(0),
        cw.and_then(|v| v["closed"].as_u64()).unwrap_or(0),
        num(conns(nd)),
        match (held, conns(cw)) {
            (Some(true), Some(c)) if c >= 19_800.0 => "**met** (19.8k: the fd limit less headroom)",
            (Some(true), Some(_)) => "held what was tried (fewer than 19.8k)",
            (Some(false), _) => "**not met**",
            _ => "not measured",
        }
    );
    let _ = writeln!(
        o,
        "| the same in cluster mode (2 processes) | twice that | measured by `bench/cluster.sh` in its own run: \"Two nodes\" below | | | see below |"
    );
    let rate = |v: Option<&Value>| v.and_then(|v| f(v, "connects_per_s"));
    let _ = writeln!(
        o,
        "| handshake + auth rate (step to {} connections) | >= 10k/s and 3x Node | {}/s | {}/s | {} | {} |",
        num(conns(cw)),
        num(rate(cw)),
        num(rate(nd)),
        ratio(rate(cw), rate(nd)),
        yes(rate(cw).map(|x| x >= 10_000.0))
    );
    for m in members_measured(r) {
        let c = fan(r, "chatwire", m, "saturation");
        let n = fan(r, "node", m, "saturation");
        let d = |v: Option<&Value>| v.and_then(|v| f(v, "deliveries_per_s"));
        let failed = r
            .one(|v| {
                s(v, "scenario") == "fanout"
                    && s(v, "label") == "chatwire"
                    && v["members"].as_u64() == Some(m)
                    && v.get("error").is_some()
            })
            .map(|v| format!("failed: {}", s(v, "error")));
        let _ = writeln!(
            o,
            "| group fan-out at saturation, {m} members | >= 1M deliveries/s, 8x Node | {} | {}/s | {} | {} |",
            failed.unwrap_or_else(|| format!("{}/s", num(d(c)))),
            num(d(n)),
            ratio(d(c), d(n)),
            yes(d(c).map(|x| x >= 1_000_000.0))
        );
    }
    let c = r.one(|v| {
        s(v, "scenario") == "fanout"
            && s(v, "label") == "chatwire"
            && v["members"].as_u64() == Some(1000)
            && s(v, "mode") == "rate"
    });
    let n = r.one(|v| {
        s(v, "scenario") == "fanout"
            && s(v, "label") == "node"
            && v["members"].as_u64() == Some(1000)
            && s(v, "mode") == "rate"
    });
    let p99 = |v: Option<&Value>| v.and_then(|v| lat(v, "p99_ms"));
    let _ = writeln!(
        o,
        "| p99 at 1,000 members x {} msg/s | <= 20 ms | {} ms | {} ms | {} | {} |",
        c.and_then(|v| v["target_msgs_per_s"].as_u64())
            .unwrap_or(100),
        ms(p99(c)),
        ms(p99(n)),
        ratio(p99(c), p99(n)),
        yes(p99(c).map(|x| x <= 20.0))
    );
    for db in ["sqlite", "postgres"] {
        let c = dm_sat(r, "chatwire", db);
        let n = dm_sat(r, "node", db);
        let d = |v: Option<&Value>| v.and_then(|v| f(v, "delivered_per_s"));
        let cs = dm_sustained(r, "chatwire", db);
        let ns = dm_sustained(r, "node", db);
        if c.is_none() && n.is_none() {
            let _ = writeln!(
                o,
                "| persisted direct messages, {db} | >= 20k msg/s, p99 <= 25 ms, 3x Node | | | | not measured |"
            );
            continue;
        }
        let _ = writeln!(
            o,
            "| persisted direct messages, {db}: saturation (p99) | >= 20k msg/s, p99 <= 25 ms, 3x Node | {}/s (p99 {} ms) | {}/s (p99 {} ms) | {} | {} |",
            num(d(c)),
            ms(p99(c)),
            num(d(n)),
            ms(p99(n)),
            ratio(d(c), d(n)),
            yes(d(c).map(|x| x >= 20_000.0)),
        );
        let _ = writeln!(
            o,
            "| persisted direct messages, {db}: best fixed rate held at p99 <= 25 ms, no loss | (same) | {} | {} | {} | {} |",
            cs.map(|v| format!(
                "{}/s (p99 {} ms)",
                num(f(v, "delivered_per_s")),
                ms(lat(v, "p99_ms"))
            ))
            .unwrap_or_else(|| "none of the rates tried".into()),
            ns.map(|v| format!(
                "{}/s (p99 {} ms)",
                num(f(v, "delivered_per_s")),
                ms(lat(v, "p99_ms"))
            ))
            .unwrap_or_else(|| "none of the rates tried".into()),
            ratio(
                cs.and_then(|v| f(v, "delivered_per_s")),
                ns.and_then(|v| f(v, "delivered_per_s"))
            ),
            yes(cs.map(|v| f(v, "delivered_per_s").unwrap_or(0.0) >= 20_000.0)),
        );
    }
    for m in members_measured(r) {
        let c = fan(r, "chatwire", m, "saturation");
        let k = fan(r, "ceiling", m, "saturation");
        let d = |v: Option<&Value>| v.and_then(|v| f(v, "deliveries_per_s"));
        let share = match (d(c), d(k)) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let _ = writeln!(
            o,
            "| ceiling ratio, {m} members (chatwire ÷ raw ceiling at saturation) | >= 30% | {} | ceiling {}/s | | {} |",
            share
                .map(|x| format!("{:.1}%", x * 100.0))
                .unwrap_or_else(|| "–".into()),
            num(d(k)),
            yes(share.map(|x| x >= 0.30))
        );
    }
    let (lo, hi) = (min_step(r, "chatwire"), max_step(r, "chatwire"));
    let growth = |k: &dyn Fn(&Value) -> Option<f64>| match (lo.and_then(k), hi.and_then(k)) {
        (Some(a), Some(b)) if a > 0.0 => Some(b / a),
        _ => None,
    };
    let mem_growth = growth(&|v| f(v, "rss_per_conn_kib"));
    let lat_growth = growth(&|v| {
        v.get("probe_rtt")
            .and_then(|p| p.get("p50_ms"))
            .and_then(Value::as_f64)
    });
    let _ = writeln!(
        o,
        "| cost growth {} → {} connections: memory per connection, probe round trip p50 | within 20% | memory x{}, latency x{} | | | {} |",
        num(lo.and_then(|v| f(v, "conns"))),
        num(hi.and_then(|v| f(v, "conns"))),
        mem_growth
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "–".into()),
        lat_growth
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "–".into()),
        yes(match (mem_growth, lat_growth) {
            (Some(m), Some(l)) => Some(m <= 1.2 && l <= 1.2),
            _ => None,
        })
    );
    let _ = writeln!(
        o,
        "| history queries O(page) | | not measured by this suite | | | not measured |"
    );
    let _ = writeln!(o);
}

fn idle(o: &mut String, r: &Results) {
    let _ = writeln!(o, "## Idle connections: connect rate and memory\n");
    let _ = writeln!(
        o,
        "`loadgen idle --steps …`: connections opened in steps (64 handshakes in flight, \
         spread over 8 source addresses 127.0.0.2–9); each counts once its greeting is \
         complete (chatwire and the Node peer's expresschat work: `user-id`, \
         `personal-chat-list`, `group-chat-list` after the token check and database \
         look-ups; relay and ceiling: the namespace CONNECT answer). After 3 s of quiet \
         the server's VmRSS is read: *RSS/conn* = (RSS − RSS before the first \
         connection) ÷ connections; *marginal* = growth over the step ÷ the step's \
         connections. *probe* = round trip of 100 sequential requests spread over the \
         connections (`fetch-user-details` ⇒ `user-details`; relay/ceiling: a \
         `sendMessage` to a room of one).\n"
    );
    let _ = writeln!(
        o,
        "| server | connections | errors | connects/s | connect p50 / p99 ms | server / gen / other CPU while connecting | RSS/conn KiB | marginal KiB | probe p50 / p99 ms |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|");
    for (l, name) in LABELS {
        for v in r.find(|v| s(v, "scenario") == "idle" && s(v, "label") == l) {
            let cl = |k: &str| {
                v.get("connect_latency")
                    .and_then(|x| x.get(k))
                    .and_then(Value::as_f64)
            };
            let pr = |k: &str| {
                v.get("probe_rtt")
                    .and_then(|x| x.get(k))
                    .and_then(Value::as_f64)
            };
            let _ = writeln!(
                o,
                "| {name} | {} | {} | {} | {} / {} | {} / {} / {} | {} | {} | {} / {} |",
                num(f(v, "conns")),
                v["errors"].as_u64().unwrap_or(0) + v["closed"].as_u64().unwrap_or(0),
                num(f(v, "connects_per_s")),
                ms(cl("p50_ms")),
                ms(cl("p99_ms")),
                pct(f(v, "server_cpu_pct")),
                pct(f(v, "gen_cpu_pct")),
                pct(f(v, "others_cpu_pct")),
                num(f(v, "rss_per_conn_kib")),
                num(f(v, "rss_marginal_kib")),
                ms(pr("p50_ms")),
                ms(pr("p99_ms")),
            );
        }
    }
    let _ = writeln!(o);
    let (c, n, k, nr) = (
        max_step(r, "chatwire"),
        max_step(r, "node"),
        max_step(r, "ceiling"),
        max_step(r, "node-relay"),
    );
    let g = |v: Option<&Value>, key: &str| v.and_then(|v| f(v, key));
    let _ = writeln!(
        o,
        "At the largest step: chatwire ÷ Node peer (same work): connects/s {}, RSS/conn {}; \
         chatwire ÷ ceiling: RSS/conn {}; Node relay ÷ ceiling RSS/conn {} (targets.md measured \
         13.7 and 8.4 KiB for these two at 19.9k).\n",
        ratio(g(c, "connects_per_s"), g(n, "connects_per_s")),
        ratio(g(c, "rss_per_conn_kib"), g(n, "rss_per_conn_kib")),
        ratio(g(c, "rss_per_conn_kib"), g(k, "rss_per_conn_kib")),
        ratio(g(nr, "rss_per_conn_kib"), g(k, "rss_per_conn_kib")),
    );
}

fn fanout(o: &mut String, r: &Results) {
    let _ = writeln!(o, "## Group fan-out (one sender)\n");
    let _ = writeln!(
        o,
        "`loadgen fanout --members … --rates …`: the members connect, the first creates \
         the group (`create-group-chat` with every other member; relay: all `joinRoom`), a \
         probe message must reach every recipient, then the sender runs twice: at a \
         **fixed rate** (open loop) and at **saturation** (closed loop: at most \
         64,000 ÷ recipients messages (between 2 and 256) not yet delivered to every \
         recipient: 256 for 100 members, 64 for 1,000, 6 for 10,000; at most 256 keeps \
         chatwire's per-socket buffers of 1,024 packets from overflowing). Each run: 1 s warm-up, then the \
         measured seconds; *deliveries/s* = deliveries received in the measured window ÷ \
         its length; latency = send → receipt, on the generator's one clock, for every \
         delivery of the measured messages; *lost* = expected − received after a drain of \
         up to 30 s. The fixed-rate run comes after the saturation run, and may ask more \
         than the server can do: then latency is queueing, and chatwire may disconnect \
         the sender when its inbox (1,024 events) is full (shown in the table). chatwire and the Node peer (same work) persist every message \
         (SQLite) before delivering it to the other members (the sender gets none); relay \
         and ceiling persist nothing and deliver to every member, the sender included.\n"
    );
    let _ = writeln!(
        o,
        "| members | mode | server | msgs/s | deliveries/s | p50 / p90 / p99 / max ms | lost | server / gen / other CPU | ÷ Node (same work) | ÷ ceiling |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
    for m in members_measured(r) {
        for mode in ["rate", "saturation"] {
            let node_same = fan(r, "node", m, mode);
            let ceil = fan(r, "ceiling", m, mode);
            for (l, name) in LABELS {
                let Some(v) = fan(r, l, m, mode) else {
                    let failed = r.one(|v| {
                        s(v, "scenario") == "fanout"
                            && s(v, "label") == l
                            && v["members"].as_u64() == Some(m)
                            && v.get("error").is_some()
                    });
                    if let (Some(e), "rate") = (failed, mode) {
                        let _ = writeln!(
                            o,
                            "| {m} | – | {name} | failed: {} | | | | | | | |",
                            s(e, "error")
                        );
                    }
                    continue;
                };
                let mode_txt = match mode {
                    "rate" => format!("{} msg/s", v["target_msgs_per_s"]),
                    _ => "saturation".into(),
                };
                let d = f(v, "deliveries_per_s");
                let (vs_node, vs_ceil) = match mode {
                    // At a fixed rate the throughput is the demand; latency compares.
                    "rate" => (
                        ratio(lat(v, "p99_ms"), node_same.and_then(|x| lat(x, "p99_ms")))
                            .replace('x', "x p99"),
                        ratio(lat(v, "p99_ms"), ceil.and_then(|x| lat(x, "p99_ms")))
                            .replace('x', "x p99"),
                    ),
                    _ => (
                        ratio(d, node_same.and_then(|x| f(x, "deliveries_per_s"))),
                        ratio(d, ceil.and_then(|x| f(x, "deliveries_per_s"))),
                    ),
                };
                let _ = writeln!(
                    o,
                    "| {m} | {mode_txt} | {name} | {} | {} | {} / {} / {} / {} | {} | {} / {} / {} | {} | {} |",
                    num(f(v, "msgs_per_s")),
                    num(d),
                    ms(lat(v, "p50_ms")),
                    ms(lat(v, "p90_ms")),
                    ms(lat(v, "p99_ms")),
                    ms(lat(v, "max_ms")),
                    lost_cell(v),
                    pct(f(v, "server_cpu_pct")),
                    pct(f(v, "gen_cpu_pct")),
                    pct(f(v, "others_cpu_pct")),
                    if l == "node" { "1x".into() } else { vs_node },
                    if l == "ceiling" { "1x".into() } else { vs_ceil },
                );
            }
        }
    }
    let _ = writeln!(o);
}

/// Undelivered after the drain, and whether the server dropped the sender.
fn lost_cell(v: &Value) -> String {
    let lost = v["lost"].as_u64().unwrap_or(0);
    let mut c = lost.to_string();
    if lost > 0 && v["drained"].as_bool() == Some(false) {
        c.push_str(" (not drained in 30 s)");
    }
    if v["sender_dropped"].as_bool() == Some(true) {
        c.push_str(" **sender disconnected by the server**");
    }
    c
}

fn dm(o: &mut String, r: &Results) {
    let _ = writeln!(
        o,
        "## Persisted direct messages (send ⇒ commit ⇒ deliver)\n"
    );
    let rows = r.find(|v| s(v, "scenario") == "dm");
    if rows.is_empty() {
        let _ = writeln!(o, "Not measured in this run.\n");
        return;
    }
    let _ = writeln!(
        o,
        "`loadgen dm --pairs … --rates …`: each pair opens a personal chat \
         (`create-personal-chat`); the first of each pair sends `send-personal-message`, \
         the server checks membership, commits the message (sequence bump, insert, read \
         pointer, members) and then delivers `receive-personal-message` to the partner. \
         Fixed total rates spread round-robin over the senders, then saturation (at most 4 \
         undelivered messages per sender on average). Latency = send → receipt.\n"
    );
    let _ = writeln!(
        o,
        "| database | mode | server | pairs | sent/s | delivered/s | p50 / p90 / p99 / max ms | lost | server / gen / other CPU | ÷ Node (same DB) |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
    for db in ["sqlite", "postgres"] {
        for v in rows.iter().filter(|v| s(v, "db") == db) {
            let mode = s(v, "mode");
            let peer = r.one(|x| {
                s(x, "scenario") == "dm"
                    && s(x, "db") == db
                    && s(x, "label") == "node"
                    && s(x, "mode") == mode
                    && x.get("target_msgs_per_s") == v.get("target_msgs_per_s")
            });
            let vs = if s(v, "label") == "node" {
                "1x".into()
            } else if mode == "rate" {
                ratio(lat(v, "p99_ms"), peer.and_then(|x| lat(x, "p99_ms"))).replace('x', "x p99")
            } else {
                ratio(
                    f(v, "delivered_per_s"),
                    peer.and_then(|x| f(x, "delivered_per_s")),
                )
            };
            let _ = writeln!(
                o,
                "| {db} | {} | {} | {} | {} | {} | {} / {} / {} / {} | {} | {} / {} / {} | {} |",
                if mode == "rate" {
                    format!("{} msg/s", v["target_msgs_per_s"])
                } else {
                    "saturation".into()
                },
                label_name(s(v, "label")),
                v["pairs"],
                num(f(v, "sent_per_s")),
                num(f(v, "delivered_per_s")),
                ms(lat(v, "p50_ms")),
                ms(lat(v, "p90_ms")),
                ms(lat(v, "p99_ms")),
                ms(lat(v, "max_ms")),
                lost_cell(v),
                pct(f(v, "server_cpu_pct")),
                pct(f(v, "gen_cpu_pct")),
                pct(f(v, "others_cpu_pct")),
                vs,
            );
        }
    }
    let _ = writeln!(
        o,
        "\nAt a fixed rate *÷ Node* compares p99 latency (lower is better); at saturation it \
         compares throughput (higher is better). Server CPU counts the chatwire or node \
         process only; PostgreSQL's processes fall under *other*.\n"
    );
}

fn method(o: &mut String, m: &Value) {
    let g = |k: &str| {
        m.get(k)
            .map(|v| v.as_str().map(str::to_owned).unwrap_or(v.to_string()))
            .unwrap_or_default()
    };
    let _ = writeln!(o, "\n## Method and commands\n");
    let _ = writeln!(
        o,
        "Sizes of this run: idle steps {}; fan-out rooms {} at fixed rates {} msg/s; \
         direct messages {} pairs at {} msg/s; {} s measured per run.\n",
        g("idle_steps"),
        g("fanout_members"),
        g("fanout_rates"),
        g("dm_pairs"),
        g("dm_rates"),
        g("secs"),
    );
    let _ = writeln!(
        o,
        "```sh\n\
         bench/run.sh                       # build, run everything, write BENCHMARKS.md\n\
         QUICK=1 bench/run.sh               # smoke run with small sizes (bench/out/quick/)\n\
         # what it runs, per server (pinned: taskset -c 0 server, taskset -c 1 loadgen):\n\
         loadgen setup  --addr 127.0.0.1:3700 --log chatwire.log --users N   # chatwire only\n\
         loadgen idle   --addr … --proto express|relay --label … --steps {}\n\
         loadgen fanout --addr … --proto express|relay --label … --members {} --rates {} --secs {}\n\
         loadgen dm     --addr … --proto express --label … --pairs {} --rates {} --secs {} --tag db=sqlite|postgres\n\
         ```\n",
        g("idle_steps"),
        g("fanout_members"),
        g("fanout_rates"),
        g("secs"),
        g("dm_pairs"),
        g("dm_rates"),
        g("secs"),
    );
    let _ = writeln!(
        o,
        "How users exist: chatwire's are created through `POST /signup` and the \
         verification link that its console mailer writes to the (JSON) log, on a fresh \
         SQLite file (or PostgreSQL database), with `BCRYPT_COST=4` (setup only; no \
         scenario logs in). The generator then mints each connection's access token \
         itself (HS256 with the server's `JWT_ACCESS_SECRET`; claims `sub` = user id, \
         `iat`, `exp`, `typ:\"access\"`), exactly what `POST /login` would return; \
         chatwire still checks the signature, the expiry and the user in the database on \
         every handshake, and each connection's `user-id` greeting confirms the user. The \
         Node peer's users are inserted directly (`SEED_USERS`) and it checks the same \
         token the same way. Raw results of the last run: `bench/out/results.jsonl`.\n"
    );
}
