//! Persisted direct messages: `pairs` pairs of users, each with a personal chat;
//! the first of each pair sends `send-personal-message`, the server commits it and
//! then delivers `receive-personal-message` to the second. Measured at a fixed
//! total rate (spread round-robin over the senders) and at saturation (at most
//! `window` undelivered messages per sender on average).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use chatwire_bench::sys::CpuWindow;
use clap::Args;
use serde_json::{Value, json};

use crate::{
    Proto, Target, emit,
    hub::{Conn, Hub, connect_range, wait_ctl},
    round2,
};

#[derive(Args)]
pub struct DmArgs {
    #[command(flatten)]
    target: Target,
    #[arg(long, default_value_t = 100)]
    pairs: usize,
    /// Fixed total message rates (messages/s), one run each.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    rates: Vec<u64>,
    /// Seconds measured per run (after one warm-up second).
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// Undelivered messages per sender at saturation; 0 skips saturation.
    #[arg(long, default_value_t = 4)]
    window: u64,
}

pub async fn run(a: DmArgs) -> Result<()> {
    let t = &a.target;
    if t.proto != Proto::Express {
        bail!("dm needs --proto express");
    }
    let hub = Hub::new();
    let batch = connect_range(t, &hub, 0, a.pairs * 2).await?;
    if batch.conns.len() < a.pairs * 2 {
        bail!(
            "only {} of {} connections: {:?}",
            batch.conns.len(),
            a.pairs * 2,
            batch.errors.first()
        );
    }
    let conns = batch.conns;

    // Open the personal chats; the creator learns the ChatId.
    let mut rx = hub.listen();
    for p in 0..a.pairs {
        let (s, r) = (&conns[2 * p], &conns[2 * p + 1]);
        s.emit(
            "create-personal-chat",
            &json!({"Receiver": r.user, "Partner": r.name, "UserName": s.name}),
        );
    }
    let mut chats: HashMap<usize, String> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while chats.len() < a.pairs && Instant::now() < deadline {
        let Ok((i, f)) = wait_ctl(&mut rx, Duration::from_secs(5), |i, f| {
            i % 2 == 0 && f.starts_with("42[\"create-personal-chat-creator\"")
        })
        .await
        else {
            break;
        };
        if let Some(id) = chatwire_bench::sio::event_data(&f)
            .and_then(|d| d["ChatId"].as_str().map(str::to_owned))
        {
            chats.insert(i / 2, id);
        }
    }
    hub.unlisten();
    if chats.len() < a.pairs {
        bail!("only {} of {} personal chats opened", chats.len(), a.pairs);
    }
    let senders: Vec<(&Conn, String)> = (0..a.pairs)
        .map(|p| (&conns[2 * p], chats[&p].clone()))
        .collect();

    // Probe: one message per pair, all delivered.
    let mut seq = 0u64;
    let before = hub.total.get();
    for (s, chat) in &senders {
        s.send(frame(&hub, chat, seq));
        seq += 1;
    }
    if !hub
        .wait_total(before + a.pairs as u64, Duration::from_secs(30))
        .await
    {
        eprintln!(
            "dm[{}]: probe delivered {} of {}",
            t.label,
            hub.total.get() - before,
            a.pairs
        );
    }
    for &rate in &a.rates {
        emit(drive(t, &hub, &senders, &mut seq, Some(rate), a.window, a.secs).await);
    }
    if a.window > 0 {
        emit(drive(t, &hub, &senders, &mut seq, None, a.window, a.secs).await);
    }
    drop(conns);
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

fn frame(hub: &Hub, chat: &str, seq: u64) -> String {
    chatwire_bench::sio::event(
        "send-personal-message",
        &json!({"ChatId": chat, "Content": hub.tag(seq)}),
    )
}

async fn drive(
    t: &Target,
    hub: &Hub,
    senders: &[(&Conn, String)],
    seq: &mut u64,
    rate: Option<u64>,
    window: u64,
    secs: u64,
) -> serde_json::Map<String, Value> {
    let warmup = Duration::from_secs(1);
    let started = Instant::now();
    let base_total = hub.total.get();
    let first_seq = *seq;
    let mut sent = 0u64;
    let mut next = 0usize;
    let mut measuring = false;
    let mut cpu = None;
    let mut total_at_start = 0;
    let mut t_measure = started;
    let cap = window * senders.len() as u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let now = Instant::now();
        let elapsed = now - started;
        if !measuring && elapsed >= warmup {
            measuring = true;
            hub.measure_from(*seq);
            total_at_start = hub.total.get();
            t_measure = now;
            cpu = Some(CpuWindow::start(&t.server_pid));
        }
        if elapsed >= warmup + Duration::from_secs(secs) {
            break;
        }
        let allowed = match rate {
            Some(r) => ((elapsed.as_secs_f64() * r as f64) as u64).saturating_sub(sent),
            None => cap.saturating_sub(sent - (hub.total.get() - base_total).min(sent)),
        };
        for _ in 0..allowed {
            let (s, chat) = &senders[next];
            next = (next + 1) % senders.len();
            s.send(frame(hub, chat, *seq));
            *seq += 1;
            sent += 1;
        }
    }
    let window_secs = t_measure.elapsed().as_secs_f64();
    let delivered_in_window = hub.total.get() - total_at_start;
    let share = cpu.map(|c| c.stop()).unwrap_or_default();
    hub.measure_until(*seq);
    let measured = *seq - hub.lo.get();
    let drained = hub
        .wait_total(base_total + (*seq - first_seq), Duration::from_secs(30))
        .await;
    let got = hub.in_range.get();

    let mut m = t.result("dm");
    m.insert("pairs".into(), senders.len().into());
    match rate {
        Some(r) => {
            m.insert("mode".into(), "rate".into());
            m.insert("target_msgs_per_s".into(), r.into());
        }
        None => {
            m.insert("mode".into(), "saturation".into());
            m.insert("window".into(), cap.into());
        }
    }
    m.insert("secs".into(), round2(window_secs).into());
    m.insert("msgs_measured".into(), measured.into());
    m.insert(
        "sent_per_s".into(),
        round2(measured as f64 / window_secs).into(),
    );
    m.insert(
        "delivered_per_s".into(),
        round2(delivered_in_window as f64 / window_secs).into(),
    );
    m.insert("latency".into(), hub.latency());
    m.insert("expected".into(), measured.into());
    m.insert("delivered".into(), got.into());
    m.insert("lost".into(), measured.saturating_sub(got).into());
    m.insert("drained".into(), drained.into());
    m.insert("closed".into(), hub.closed.get().into());
    m.insert("server_cpu_pct".into(), share.server_pct.map(round2).into());
    m.insert("gen_cpu_pct".into(), share.generator_pct.map(round2).into());
    m.insert("others_cpu_pct".into(), share.others_pct.map(round2).into());
    eprintln!("dm[{}]: {}", t.label, Value::Object(m.clone()));
    m
}
