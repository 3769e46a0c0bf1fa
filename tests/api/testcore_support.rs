//! testcore request helpers: register and call `/api/v1` with a Bearer token or
//! a cookie, and a minimal raw WebSocket client (enough to send frames and await
//! the server's close) for tests that need the realtime path without npm.

use std::time::Duration;

use chatwire::config::Profile;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub cookies: Vec<String>,
}

/// A client without a cookie store: every credential is explicit.
pub fn bare() -> reqwest::Client {
    reqwest::Client::new()
}

pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> Reply {
    let mut req = bare().request(method, app.url(Profile::Testcore, path));
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => req = req.bearer_auth(t),
        Auth::Cookie(c) => req = req.header("cookie", c),
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let cookies = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    Reply {
        status,
        body: r.json().await.unwrap_or(Value::Null),
        cookies,
    }
}

/// A registered user: id (as testcore renders it) and access token.
pub struct TcUser {
    pub id: String,
    pub token: String,
}

pub async fn register(app: &TestApp, name: &str) -> TcUser {
    let email = format!(
        "{}.{}@tc.test",
        name.to_lowercase(),
        uuid::Uuid::new_v4().simple()
    );
    let r = call(
        app,
        reqwest::Method::POST,
        "/api/v1/user/register",
        Auth::None,
        Some(json!({"name": name, "email": email, "password": "password123"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    TcUser {
        id: r.body["data"]["userData"]["_id"]
            .as_str()
            .expect("id")
            .to_owned(),
        token: r.body["data"]["accessToken"]
            .as_str()
            .expect("token")
            .to_owned(),
    }
}

pub async fn as_user(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    u: &TcUser,
    body: Option<Value>,
) -> Reply {
    call(app, method, path, Auth::Bearer(&u.token), body).await
}

/// Asserts the error envelope.
pub fn assert_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["statusCode"], status, "{}", r.body);
    assert_eq!(r.body["success"], false);
    assert!(r.body["data"].is_null());
    assert_eq!(r.body["errors"], json!([]));
    assert!(r.body["message"].is_string());
}

/// A raw WebSocket client over a TCP stream (RFC 6455, client frames masked).
pub struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawWs {
    pub async fn connect(app: &TestApp, path_and_query: &str) -> RawWs {
        let base = app.url(Profile::Testcore, "");
        let host = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let mut stream = TcpStream::connect(&host).await.expect("connect");
        let req = format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await.expect("handshake");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed during handshake");
            buf.extend_from_slice(&chunk[..n]);
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(
            buf.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&buf)
        );
        RawWs {
            stream,
            buf: buf[end..].to_vec(),
        }
    }

    pub async fn send_json(&mut self, v: &Value) {
        let payload = v.to_string().into_bytes();
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        let mut frame = vec![0x81u8];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.expect("send");
    }

    /// The next frame from the server: (opcode, payload).
    async fn next_frame(&mut self) -> (u8, Vec<u8>) {
        loop {
            if self.buf.len() >= 2 {
                let op = self.buf[0] & 0x0f;
                let (len, head) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    126 => (usize::MAX, 0),
                    127 => panic!("unexpected huge frame"),
                    n => (n as usize, 2),
                };
                if len != usize::MAX && self.buf.len() >= head + len {
                    let payload = self.buf[head..head + len].to_vec();
                    self.buf.drain(..head + len);
                    return (op, payload);
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection ended without a close frame");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Awaits the server's close frame (text frames before it are skipped):
    /// its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let (op, payload) = self.next_frame().await;
                if op == 0x8 {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
                }
            }
        })
        .await
        .expect("close frame within 5 s")
    }
}

pub fn frame(kind: &str, room: &str, id: &str, content: &str, user: &str) -> Value {
    json!({"MessageId": id, "roomName": room, "content": content, "typeOfMessage": kind, "userId": user})
}
