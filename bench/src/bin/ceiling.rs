//! `ceiling`: the raw Rust WebSocket broadcast server, the reference for what this
//! machine can do at all. It speaks just enough Engine.IO/Socket.IO to be driven by
//! `loadgen` like the room relay of `targets.md`: the open packet, namespace
//! connect, `joinRoom {roomId}` and `sendMessage {roomId, content}` ⇒ `newMessage`
//! to every member of the room, the sender included. It has no auth, no database,
//! no pings and no acks. Each connection's writer takes every frame queued for it
//! and writes them with one flush (one system call), which is where its lead under
//! load comes from.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Result;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_tungstenite::{
    accept_async_with_config,
    tungstenite::{Message, protocol::WebSocketConfig},
};

#[derive(Parser)]
#[command(about = "Raw WebSocket broadcast server (the benchmarks' ceiling)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4100")]
    addr: String,
}

type Tx = mpsc::UnboundedSender<Message>;

#[derive(Default)]
struct State {
    /// Room name ⇒ (connection id, its writer queue). A std mutex: it is never
    /// held across an await, and fan-out under it is a loop of queue pushes.
    rooms: Mutex<HashMap<String, Vec<(u64, Tx)>>>,
    next_conn: AtomicU64,
    next_msg: AtomicU64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    chatwire_bench::sys::raise_fd_limit();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(args))
}

async fn serve(args: Args) -> Result<()> {
    let listener = TcpListener::bind(&args.addr).await?;
    println!("ceiling: listening on {}", listener.local_addr()?);
    let state = Arc::new(State::default());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of fds: wait a moment instead of spinning.
                eprintln!("ceiling: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _ = connection(stream, state).await;
        });
    }
}

async fn connection(stream: TcpStream, state: Arc<State>) -> Result<()> {
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(64 * 1024);
    let ws = accept_async_with_config(stream, Some(config)).await?;
    let id = state.next_conn.fetch_add(1, Ordering::Relaxed) + 1;
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();

    // The writer: everything queued so far goes out with one flush.
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.feed(m).await.is_err() {
                return;
            }
            while let Ok(m) = rx.try_recv() {
                if sink.feed(m).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });

    let open = format!(
        r#"0{{"sid":"c{id}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#
    );
    let _ = tx.send(Message::text(open));
    let mut joined: Vec<String> = Vec::new();
    while let Some(Ok(msg)) = source.next().await {
        let Message::Text(t) = msg else {
            if matches!(msg, Message::Close(_)) {
                break;
            }
            continue;
        };
        let t = t.as_str();
        if t.starts_with("40") {
            let _ = tx.send(Message::text(format!(r#"40{{"sid":"s{id}"}}"#)));
        } else if let Some(body) = t.strip_prefix("42") {
            let Ok(Value::Array(args)) = serde_json::from_str::<Value>(body) else {
                continue;
            };
            let data = args.get(1).cloned().unwrap_or(Value::Null);
            let room = match data.get("roomId") {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => continue,
            };
            match args.first().and_then(Value::as_str) {
                Some("joinRoom") => {
                    let mut rooms = state.rooms.lock().expect("rooms lock");
                    rooms
                        .entry(room.clone())
                        .or_default()
                        .push((id, tx.clone()));
                    joined.push(room);
                }
                Some("sendMessage") => {
                    let msg_id = state.next_msg.fetch_add(1, Ordering::Relaxed) + 1;
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis() as u64)
                        .unwrap_or(0);
                    let payload = json!({
                        "id": msg_id,
                        "user_id": data.get("userId").cloned().unwrap_or(json!(id)),
                        "chat_room_id": room,
                        "content": data.get("content").cloned().unwrap_or(Value::Null),
                        "created_at": now,
                    });
                    // One frame, shared by every member's queue (reference counted).
                    let frame = Message::text(format!(r#"42["newMessage",{payload}]"#));
                    let rooms = state.rooms.lock().expect("rooms lock");
                    if let Some(members) = rooms.get(&room) {
                        for (_, member) in members {
                            let _ = member.send(frame.clone());
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if !joined.is_empty() {
        let mut rooms = state.rooms.lock().expect("rooms lock");
        for room in joined {
            if let Some(members) = rooms.get_mut(&room) {
                members.retain(|(c, _)| *c != id);
            }
        }
    }
    Ok(())
}
