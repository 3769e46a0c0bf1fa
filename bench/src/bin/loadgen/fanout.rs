//! Group fan-out: one sender, rooms of N members. For each room size the sender
//! runs twice: at a fixed message rate (open loop: latency under a known demand)
//! and at saturation (closed loop: at most `window` messages not yet delivered to
//! every recipient, so the server's per-socket buffers never overflow).
//!
//! express: the sender creates a group (`create-group-chat`) with the other
//! members and sends `send-group-message`; the others get `receive-group-message`
//! (the sender does not). relay: every member sends `joinRoom`, the sender sends
//! `sendMessage`; every member gets `newMessage`, the sender included.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use chatwire_bench::sys::CpuWindow;
use clap::Args;
use serde_json::{Value, json};

use crate::{
    Proto, Target, emit,
    hub::{Conn, Hub, connect_range, wait_ctl},
    round2,
};

#[derive(Args)]
pub struct FanoutArgs {
    #[command(flatten)]
    target: Target,
    /// Room sizes (members, sender included), ascending.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    members: Vec<usize>,
    /// Fixed message rate for each room size (same order); 0 skips it.
    #[arg(long, value_delimiter = ',', default_value = "1000,100")]
    rates: Vec<u64>,
    /// Seconds measured per run (after one warm-up second).
    #[arg(long, default_value_t = 5)]
    secs: u64,
    /// Deliveries in flight at saturation: the sender keeps at most
    /// window_deliveries / recipients messages (between 2 and 256) not yet
    /// delivered to every recipient: 256 for a room of 100, 64 for 1,000, 6 for
    /// 10,000. At most 256 keeps chatwire's per-socket buffers (1,024) from
    /// overflowing.
    #[arg(long, default_value_t = 64_000)]
    window_deliveries: u64,
    /// Skip the saturation runs.
    #[arg(long)]
    no_saturation: bool,
}

/// Builds the frame of message `seq` (its content carries the delivery tag).
type FrameFn = Box<dyn Fn(&Hub, u64) -> String>;

/// How one room is addressed.
struct Room {
    name: String,
    members: usize,
    recipients: u64,
    /// Builds the frame of message `seq`.
    frame: FrameFn,
}

pub async fn run(a: FanoutArgs) -> Result<()> {
    let t = &a.target;
    let hub = Hub::new();
    hub.nodes.set(t.addr.len());
    let max = a.members.iter().copied().max().unwrap_or(0);
    let batch = connect_range(t, &hub, 0, max).await?;
    eprintln!(
        "fanout[{}]: {} conns in {:.1}s, {} errors",
        t.label,
        batch.conns.len(),
        batch.secs,
        batch.errors.len()
    );
    if batch.conns.len() < max {
        bail!(
            "only {} of {max} connections: {:?}",
            batch.conns.len(),
            batch.errors.first()
        );
    }
    let mut conns = batch.conns;
    let mut seq = 0u64;
    for (i, &m) in a.members.iter().enumerate() {
        reconnect_sender(t, &hub, &mut conns, None).await?;
        let room = match setup_room(t, &hub, &conns, m).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("fanout[{}]: room of {m}: {e:#}", t.label);
                let mut r = t.result("fanout");
                r.insert("members".into(), m.into());
                r.insert("error".into(), format!("{e:#}").into());
                emit(r);
                continue;
            }
        };
        // A probe proves every member is in: one that reaches every recipient (joins
        // travel on other connections than the probe, so the first may be early).
        let mut complete = false;
        for _ in 0..10 {
            let before = hub.total.get();
            conns[0].send((room.frame)(&hub, seq));
            seq += 1;
            if hub
                .wait_total(before + room.recipients, Duration::from_secs(3))
                .await
            {
                complete = true;
                break;
            }
        }
        if !complete {
            eprintln!(
                "fanout[{}]: no probe reached all {} recipients",
                t.label, room.recipients
            );
        }
        // Let stragglers of incomplete probes arrive before measuring.
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Saturation first: it shows the capacity before a fixed rate may exceed it
        // (a server may drop a sender that floods it; it is then reconnected).
        if !a.no_saturation {
            let r = drive(
                t,
                &hub,
                &conns[0],
                &room,
                &mut seq,
                Mode::Window((a.window_deliveries / room.recipients.max(1)).clamp(2, 256)),
                a.secs,
            )
            .await;
            emit(r);
        }
        let rate = a.rates.get(i).copied().unwrap_or(0);
        if rate > 0 {
            reconnect_sender(t, &hub, &mut conns, Some(&room)).await?;
            let r = drive(
                t,
                &hub,
                &conns[0],
                &room,
                &mut seq,
                Mode::Rate(rate),
                a.secs,
            )
            .await;
            emit(r);
        }
    }
    drop(conns);
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

/// Replaces the sender's connection when the server closed it (same user, so it
/// is still the group's admin; relay: it joins the room again).
async fn reconnect_sender(
    t: &Target,
    hub: &std::rc::Rc<Hub>,
    conns: &mut [Conn],
    room: Option<&Room>,
) -> Result<()> {
    if !conns[0].is_closed() {
        return Ok(());
    }
    eprintln!(
        "fanout[{}]: the sender was disconnected; reconnecting",
        t.label
    );
    let mut b = connect_range(t, hub, 0, 1).await?;
    let c = b
        .conns
        .pop()
        .ok_or_else(|| anyhow!("reconnecting the sender failed: {:?}", b.errors))?;
    if let (Some(r), Proto::Relay) = (room, t.proto) {
        c.emit("joinRoom", &json!({"roomId": r.name, "userId": 0}));
    }
    conns[0] = c;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

async fn setup_room(t: &Target, hub: &Hub, conns: &[Conn], m: usize) -> Result<Room> {
    match t.proto {
        Proto::Express => {
            let mut rx = hub.listen();
            let participants: Vec<Value> = conns[1..m].iter().map(|c| json!(c.user)).collect();
            let name = format!("bench-{m}");
            conns[0].emit(
                "create-group-chat",
                &json!({"Name": name, "Description": "benchmark group", "Participants": participants}),
            );
            // The creator's answer and every participant's notice, in whatever order
            // they arrive (bounded: 120 s for the answer, then 3 s without a notice).
            let mut creator = None;
            let mut told = std::collections::HashSet::new();
            let mut quiet = 0;
            let deadline = Instant::now() + Duration::from_secs(120);
            while creator.is_none() || (told.len() < m - 1 && quiet < 3) {
                if creator.is_none() && Instant::now() > deadline {
                    bail!("no create-group-chat-creator within 120 s");
                }
                match wait_ctl(&mut rx, Duration::from_secs(1), |i, f| {
                    f.starts_with("42[\"create-group-chat-receiver\"")
                        || (i == 0 && f.starts_with("42[\"create-group-chat-creator\""))
                })
                .await
                {
                    Ok((i, f)) if f.starts_with("42[\"create-group-chat-creator\"") && i == 0 => {
                        creator = Some(f);
                    }
                    Ok((i, _)) => {
                        told.insert(i);
                        quiet = 0;
                    }
                    Err(_) => quiet += 1,
                }
            }
            let f = creator.unwrap_or_default();
            let missing: Vec<usize> = (1..m).filter(|i| !told.contains(i)).take(10).collect();
            if !missing.is_empty() {
                eprintln!(
                    "fanout[{}]: {} of {} participants got no create-group-chat-receiver (first: {missing:?})",
                    t.label,
                    m - 1 - told.len(),
                    m - 1
                );
            }
            hub.unlisten();
            let data = chatwire_bench::sio::event_data(&f).unwrap_or(Value::Null);
            let gid = data["GroupId"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("no GroupId in {f}"))?;
            eprintln!("fanout[{}]: group {gid} of {m}", t.label);
            Ok(Room {
                name,
                members: m,
                recipients: (m - 1) as u64,
                frame: Box::new(move |hub, seq| {
                    chatwire_bench::sio::event(
                        "send-group-message",
                        &json!({"GroupId": gid, "Content": hub.tag(seq)}),
                    )
                }),
            })
        }
        Proto::Relay => {
            let room = format!("room-{m}");
            for (i, c) in conns[..m].iter().enumerate() {
                c.emit("joinRoom", &json!({"roomId": room, "userId": i}));
            }
            let name = room.clone();
            Ok(Room {
                name,
                members: m,
                recipients: m as u64,
                frame: Box::new(move |hub, seq| {
                    chatwire_bench::sio::event(
                        "sendMessage",
                        &json!({"roomId": room, "userId": 0, "content": hub.tag(seq)}),
                    )
                }),
            })
        }
    }
}

#[derive(Clone, Copy)]
enum Mode {
    /// Messages per second, open loop.
    Rate(u64),
    /// Messages not yet fully delivered, closed loop.
    Window(u64),
}

async fn drive(
    t: &Target,
    hub: &Hub,
    sender: &Conn,
    room: &Room,
    seq: &mut u64,
    mode: Mode,
    secs: u64,
) -> Map {
    let r = room.recipients;
    let warmup = Duration::from_secs(1);
    let measure = Duration::from_secs(secs);
    let started = Instant::now();
    let base_total = hub.total.get();
    let first_seq = *seq;
    let mut sent = 0u64;
    let mut measuring = false;
    let mut cpu = None;
    let mut total_at_start = 0;
    let mut t_measure = started;
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
        if elapsed >= warmup + measure {
            break;
        }
        let allowed = match mode {
            Mode::Rate(rate) => {
                let due = (elapsed.as_secs_f64() * rate as f64) as u64;
                due.saturating_sub(sent)
            }
            Mode::Window(w) => {
                let delivered = hub.total.get() - base_total;
                let outstanding = (sent * r).saturating_sub(delivered).div_ceil(r.max(1));
                w.saturating_sub(outstanding)
            }
        };
        for _ in 0..allowed {
            sender.send((room.frame)(hub, *seq));
            *seq += 1;
            sent += 1;
        }
    }
    let window_secs = t_measure.elapsed().as_secs_f64();
    let delivered_in_window = hub.total.get() - total_at_start;
    let share = cpu.map(|c| c.stop()).unwrap_or_default();
    hub.measure_until(*seq);
    let measured_msgs = *seq - hub.lo.get();
    // Drain: wait for what is still on its way (bounded).
    let expected_all = (*seq - first_seq) * r;
    let drained = hub
        .wait_total(base_total + expected_all, Duration::from_secs(30))
        .await;
    let expected = measured_msgs * r;
    let got = hub.in_range.get();

    let mut m = t.result("fanout");
    m.insert("members".into(), room.members.into());
    m.insert("recipients".into(), r.into());
    match mode {
        Mode::Rate(rate) => {
            m.insert("mode".into(), "rate".into());
            m.insert("target_msgs_per_s".into(), rate.into());
        }
        Mode::Window(w) => {
            m.insert("mode".into(), "saturation".into());
            m.insert("window".into(), w.into());
        }
    }
    m.insert("secs".into(), round2(window_secs).into());
    m.insert("msgs_measured".into(), measured_msgs.into());
    m.insert(
        "msgs_per_s".into(),
        round2(measured_msgs as f64 / window_secs).into(),
    );
    m.insert(
        "deliveries_per_s".into(),
        round2(delivered_in_window as f64 / window_secs).into(),
    );
    m.insert("latency".into(), hub.latency());
    let nodes = t.addr.len() as u64;
    if nodes > 1 {
        // Recipients are the last `r` of connections 0..members (express: 1..,
        // relay: all); those with index n mod nodes == 0 share the sender's server.
        let m_total = room.members as u64;
        let local = (m_total - r.min(m_total)..m_total)
            .filter(|n| n.is_multiple_of(nodes))
            .count() as u64;
        m.insert("recipients_local".into(), local.into());
        m.insert("recipients_remote".into(), (r - local.min(r)).into());
        m.insert("latency_local".into(), hub.latency_split(false).into());
        m.insert("latency_remote".into(), hub.latency_split(true).into());
    }
    m.insert("expected".into(), expected.into());
    m.insert("delivered".into(), got.into());
    m.insert("lost".into(), expected.saturating_sub(got).into());
    m.insert("drained".into(), drained.into());
    m.insert("closed".into(), hub.closed.get().into());
    m.insert("sender_dropped".into(), sender.is_closed().into());
    m.insert("server_cpu_pct".into(), share.server_pct.map(round2).into());
    m.insert("gen_cpu_pct".into(), share.generator_pct.map(round2).into());
    m.insert("others_cpu_pct".into(), share.others_pct.map(round2).into());
    eprintln!(
        "fanout[{}]: {}",
        t.label,
        serde_json::Value::Object(m.clone())
    );
    m
}

type Map = serde_json::Map<String, Value>;
