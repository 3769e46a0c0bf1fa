//! Idle connections in steps (e.g. 1k, 5k, 19.8k): how fast they connect (handshake,
//! auth, greeting), the server's RSS per connection once they are idle, and the
//! round trip of a few probes at each size (is latency flat as connections grow?).

use std::{rc::Rc, time::Duration};

use anyhow::Result;
use chatwire_bench::{
    stats,
    sys::{CpuWindow, rss_kib_sum},
};
use clap::Args;
use serde_json::json;

use crate::{
    Proto, Target, emit,
    hub::{Hub, connect_range, wait_ctl},
    round2,
};

#[derive(Args)]
pub struct IdleArgs {
    #[command(flatten)]
    target: Target,
    /// Connection counts to reach, ascending.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000")]
    steps: Vec<usize>,
    /// Seconds to let the server settle before reading its RSS.
    #[arg(long, default_value_t = 3)]
    settle_secs: u64,
    /// Round-trip probes at each step (sequential, spread over the connections).
    #[arg(long, default_value_t = 100)]
    probes: usize,
}

pub async fn run(a: IdleArgs) -> Result<()> {
    let t = &a.target;
    let hub = Hub::new();
    let pid = &t.server_pid;
    let base = rss_kib_sum(pid);
    let mut conns = Vec::new();
    let mut prev_rss = base;
    let mut solo_joined = std::collections::HashSet::new();
    for &step in &a.steps {
        let from = conns.len();
        if step <= from {
            continue;
        }
        let cpu = CpuWindow::start(pid);
        let batch = connect_range(t, &hub, from, step).await?;
        let share = cpu.stop();
        let made = batch.conns.len();
        eprintln!(
            "idle[{}]: {} -> {} conns in {:.1}s ({} errors)",
            t.label,
            from,
            from + made,
            batch.secs,
            batch.errors.len()
        );
        for e in batch.errors.iter().take(5) {
            eprintln!("  {e}");
        }
        conns.extend(batch.conns);
        tokio::time::sleep(Duration::from_secs(a.settle_secs)).await;
        let rss = rss_kib_sum(pid);
        let n = conns.len();

        // Probes: one at a time, so they measure the round trip, not a queue.
        let mut rx = hub.listen();
        hub.forward_all.set(true);
        let mut h = stats::new_histogram();
        let mut probe_errors = 0;
        let k = a.probes.min(n);
        for p in 0..k {
            let idx = p * n / k.max(1);
            let c = &conns[idx];
            let t0 = std::time::Instant::now();
            let ok = match t.proto {
                Proto::Express => {
                    c.emit("fetch-user-details", &json!({}));
                    wait_ctl(&mut rx, Duration::from_secs(5), |i, f| {
                        i == idx && f.starts_with("42[\"user-details\"")
                    })
                    .await
                }
                Proto::Relay => {
                    let room = format!("solo-{idx}");
                    if solo_joined.insert(idx) {
                        c.emit("joinRoom", &json!({"roomId": room, "userId": idx}));
                    }
                    let tag = hub.tag(u64::MAX - 1);
                    c.emit(
                        "sendMessage",
                        &json!({"roomId": room, "userId": idx, "content": tag}),
                    );
                    wait_ctl(&mut rx, Duration::from_secs(5), |i, f| {
                        i == idx && f.contains("~T")
                    })
                    .await
                }
            };
            match ok {
                Ok(_) => {
                    let _ = h.record(t0.elapsed().as_micros().max(1) as u64);
                }
                Err(_) => probe_errors += 1,
            }
        }
        hub.unlisten();

        let mut m = t.result("idle");
        m.insert("conns".into(), n.into());
        m.insert("step_conns".into(), made.into());
        m.insert("errors".into(), batch.errors.len().into());
        m.insert("closed".into(), hub.closed.get().into());
        m.insert("connect_secs".into(), round2(batch.secs).into());
        m.insert(
            "connects_per_s".into(),
            round2(made as f64 / batch.secs.max(1e-6)).into(),
        );
        m.insert("connect_latency".into(), batch.latency);
        m.insert("concurrency".into(), t.concurrency.into());
        m.insert("server_cpu_pct".into(), share.server_pct.map(round2).into());
        m.insert("gen_cpu_pct".into(), share.generator_pct.map(round2).into());
        m.insert("others_cpu_pct".into(), share.others_pct.map(round2).into());
        m.insert("rss_base_kib".into(), base.into());
        m.insert("rss_kib".into(), rss.into());
        if let (Some(b), Some(r)) = (base, rss) {
            m.insert(
                "rss_per_conn_kib".into(),
                round2((r as f64 - b as f64) / n.max(1) as f64).into(),
            );
        }
        if let (Some(p), Some(r)) = (prev_rss, rss) {
            m.insert(
                "rss_marginal_kib".into(),
                round2((r as f64 - p as f64) / made.max(1) as f64).into(),
            );
        }
        m.insert("probe_rtt".into(), stats::summary(&h));
        m.insert("probe_errors".into(), probe_errors.into());
        emit(m);
        prev_rss = rss;
        if batch.errors.len() > made {
            eprintln!("idle[{}]: more errors than connections; stopping", t.label);
            break;
        }
    }
    drop(conns);
    // Let the connection tasks send their close frames.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = Rc::strong_count(&hub);
    Ok(())
}
