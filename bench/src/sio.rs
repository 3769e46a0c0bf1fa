//! The client side of Engine.IO v4 / Socket.IO v5 over a plain WebSocket, spoken
//! by hand: `GET /socket.io/?EIO=4&transport=websocket`, the open packet `0{..}`,
//! namespace connect `40` ⇒ `40{"sid":..}`, pings `2` answered with `3`, events
//! `42["name",{..}]`. Connections bind to a chosen 127.0.0.x source address so that
//! tens of thousands of them do not run out of ephemeral ports on one pair.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    WebSocketStream, client_async_with_config,
    tungstenite::{Message, protocol::WebSocketConfig},
};

pub type Ws = WebSocketStream<TcpStream>;

/// The `n`th source address of the spread: 127.0.0.2, 127.0.0.3, ... (`count` of them).
pub fn source(n: usize, count: usize) -> Ipv4Addr {
    let k = (n % count.max(1)) as u32;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + k)
}

fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
}

/// Opens a TCP connection from `src` and upgrades it to the Engine.IO WebSocket
/// transport; `query` is appended to the URL (e.g. `&accessToken=..`). Returns once
/// the Engine.IO open packet has arrived.
pub async fn open_engine(addr: SocketAddr, src: Option<Ipv4Addr>, query: &str) -> Result<Ws> {
    let sock = TcpSocket::new_v4()?;
    if let Some(ip) = src {
        sock.bind(SocketAddr::new(ip.into(), 0))
            .with_context(|| format!("bind {ip}"))?;
    }
    let stream = sock.connect(addr).await.context("tcp connect")?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket{query}");
    let (mut ws, _) = client_async_with_config(url, stream, Some(client_config()))
        .await
        .context("websocket upgrade")?;
    match next_text(&mut ws).await? {
        Some(t) if t.starts_with('0') => Ok(ws),
        other => bail!("expected the Engine.IO open packet, got {other:?}"),
    }
}

/// As [`open_engine`], then connects to namespace `/` (with `auth` as the CONNECT
/// payload when given) and waits for the server's CONNECT answer.
pub async fn open(
    addr: SocketAddr,
    src: Option<Ipv4Addr>,
    query: &str,
    auth: Option<&Value>,
) -> Result<Ws> {
    let mut ws = open_engine(addr, src, query).await?;
    let connect = match auth {
        Some(a) => format!("40{a}"),
        None => "40".to_owned(),
    };
    ws.send(Message::text(connect)).await?;
    loop {
        match next_text(&mut ws).await? {
            Some(t) if t.starts_with("40") => return Ok(ws),
            Some(t) if t.starts_with("44") => bail!("namespace connect refused: {t}"),
            // Events may not precede the CONNECT answer; anything else is noise.
            Some(_) => continue,
            None => bail!("closed before the namespace CONNECT answer"),
        }
    }
}

/// The next text frame; answers Engine.IO pings on the way. `None` when closed.
pub async fn next_text(ws: &mut Ws) -> Result<Option<String>> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                if t.as_str() == "2" {
                    ws.send(Message::text("3")).await?;
                    continue;
                }
                return Ok(Some(t.as_str().to_owned()));
            }
            Some(Ok(Message::Close(_))) | None => return Ok(None),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// Waits (at most `within`) for the event `name` and returns its first argument;
/// other events are skipped. `auth-failure` ends the wait with an error.
pub async fn wait_event(ws: &mut Ws, name: &str, within: Duration) -> Result<Value> {
    tokio::time::timeout(within, async {
        loop {
            let Some(t) = next_text(ws).await? else {
                bail!("closed while waiting for {name}");
            };
            match event_name(&t) {
                Some(n) if n == name => return Ok(event_data(&t).unwrap_or(Value::Null)),
                Some("auth-failure") => bail!("auth-failure while waiting for {name}"),
                _ => continue,
            }
        }
    })
    .await
    .map_err(|_| anyhow!("timed out waiting for {name}"))?
}

/// A Socket.IO EVENT frame for namespace `/`.
pub fn event(name: &str, data: &Value) -> String {
    format!("42[{},{data}]", Value::String(name.to_owned()))
}

/// The event name of an EVENT frame (`42["name",..]`), without parsing the rest.
pub fn event_name(frame: &str) -> Option<&str> {
    let rest = frame.strip_prefix("42[\"")?;
    rest.find('"').map(|end| &rest[..end])
}

/// The first argument of an EVENT frame.
pub fn event_data(frame: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(frame.get(2..)?).ok()?;
    v.as_array()?.get(1).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_round_trip() {
        let f = event(
            "send-group-message",
            &json!({"GroupId": "c1", "Content": "hi"}),
        );
        assert_eq!(
            f,
            r#"42["send-group-message",{"Content":"hi","GroupId":"c1"}]"#
        );
        assert_eq!(event_name(&f), Some("send-group-message"));
        assert_eq!(
            event_data(&f),
            Some(json!({"GroupId": "c1", "Content": "hi"}))
        );
    }

    #[test]
    fn non_events_have_no_name() {
        assert_eq!(event_name("2"), None);
        assert_eq!(event_name(r#"40{"sid":"x"}"#), None);
        assert_eq!(event_data("3"), None);
    }

    #[test]
    fn sources_spread_over_loopback() {
        assert_eq!(source(0, 8), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(source(9, 8), Ipv4Addr::new(127, 0, 0, 3));
    }
}
