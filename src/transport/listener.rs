//! The listener every profile is served on: axum's `serve` over a TCP listener
//! whose connections ([`GuardedIo`]) add the three things hyper cannot be told
//! to do. The accept loop, upgrades (Socket.IO, WebSocket) and graceful
//! shutdown stay axum's and hyper's.
//!
//! - **hyper's own refusals in the envelope.** A request head hyper cannot parse
//!   (a URI over 65,534 bytes: 414; a head over its buffer: 431; garbage: 400)
//!   is answered by hyper itself, before any service, with an empty body. The
//!   connection recognises that answer (a status line of 400, 414 or 431 with
//!   `content-length: 0` and no `content-type`, which no route ever answers:
//!   [`crate::transport::envelope`] gives every error a JSON body) and sends
//!   the profile's envelope in its place.
//! - **Closing without a reset.** hyper closes a connection whose request body
//!   it did not read (a 413, a GET with an ignored body) with that body still
//!   arriving; the kernel then answers with a reset, and the client loses the
//!   answer it had not read yet (or gets EPIPE while writing); so does a
//!   WebSocket refused in the middle of an oversized frame (its close frame
//!   lost). On drop, a connection whose peer has not closed sends FIN
//!   and reads and discards what is still coming, for at most [`LINGER`] and
//!   [`LINGER_BYTES`], before closing.
//! - **Draining the accept queue at shutdown.** Connections the kernel already
//!   accepted are served rather than reset when the listener closes: once
//!   shutdown begins, [`Guarded`] goes on accepting (for at least
//!   [`DRAIN_MIN`], until none came for [`DRAIN_GAP`], at most [`DRAIN_MAX`];
//!   every answer now says `Connection: close`), then fires its `drained`
//!   token, the graceful-shutdown signal given to axum. A client still
//!   connecting when the listener closes is reset by the kernel: that
//!   connection was never accepted, so its request was neither read nor stored.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::http::StatusCode;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::envelope::{Envelope, raw_response};

/// Longest a closing connection keeps reading what its peer still sends.
pub const LINGER: Duration = Duration::from_secs(3);
/// Most bytes a closing connection reads and discards.
pub const LINGER_BYTES: usize = 64 << 20;
/// At shutdown, how long the queue must stay empty to count as drained.
const DRAIN_GAP: Duration = Duration::from_millis(20);
/// At shutdown, the shortest drain: time for busy kept-alive connections to
/// take their next answer, which says `Connection: close`
/// ([`crate::transport::http::close_when`]), so that their clients close them
/// rather than the server closing them under a request on its way.
const DRAIN_MIN: Duration = Duration::from_millis(500);
/// At shutdown, the longest the queue is drained.
const DRAIN_MAX: Duration = Duration::from_secs(2);

/// A profile's TCP listener (see the module doc).
pub struct Guarded {
    tcp: TcpListener,
    envelope: Envelope,
    shutdown: CancellationToken,
    drained: CancellationToken,
    lingering: TaskTracker,
    /// When shutdown began.
    drain_started: Option<tokio::time::Instant>,
}

impl Guarded {
    /// Serves `tcp` until `shutdown`; closing connections linger on `lingering`.
    pub fn new(
        tcp: TcpListener,
        envelope: Envelope,
        shutdown: CancellationToken,
        lingering: TaskTracker,
    ) -> Guarded {
        Guarded {
            tcp,
            envelope,
            shutdown,
            drained: CancellationToken::new(),
            lingering,
            drain_started: None,
        }
    }

    /// Cancelled once shutdown began and the accept queue is empty: the moment
    /// to stop accepting and finish the open connections.
    pub fn drained(&self) -> CancellationToken {
        self.drained.clone()
    }

    fn wrap(&self, tcp: TcpStream) -> GuardedIo {
        GuardedIo {
            tcp: Some(tcp),
            envelope: self.envelope,
            replacement: Vec::new(),
            upgraded: false,
            peer_closed: false,
            lingering: self.lingering.clone(),
        }
    }
}

impl axum::serve::Listener for Guarded {
    type Io = GuardedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (GuardedIo, SocketAddr) {
        loop {
            let accepted = match self.drain_started {
                None => tokio::select! {
                    r = self.tcp.accept() => Some(r),
                    _ = self.shutdown.cancelled() => {
                        self.drain_started = Some(tokio::time::Instant::now());
                        None
                    }
                },
                Some(started) => {
                    let gap = (tokio::time::Instant::now() + DRAIN_GAP)
                        .max(started + DRAIN_MIN)
                        .min(started + DRAIN_MAX);
                    match tokio::time::timeout_at(gap, self.tcp.accept()).await {
                        Ok(r) => Some(r),
                        Err(_) => {
                            self.drained.cancel();
                            // axum stops calling once it sees `drained`.
                            std::future::pending::<()>().await;
                            None
                        }
                    }
                }
            };
            match accepted {
                Some(Ok((tcp, addr))) => return (self.wrap(tcp), addr),
                // As axum's own listener: a failed accept (EMFILE, a reset
                // before accept) is logged and retried after a pause.
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                None => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// One accepted connection (see the module doc).
pub struct GuardedIo {
    /// Taken on drop, to linger.
    tcp: Option<TcpStream>,
    envelope: Envelope,
    /// The envelope answer still to be written in place of hyper's own.
    replacement: Vec<u8>,
    /// A 101 went out: the bytes are WebSocket's now, not HTTP's.
    upgraded: bool,
    /// A read saw the peer's FIN: nothing to drain.
    peer_closed: bool,
    lingering: TaskTracker,
}

impl GuardedIo {
    pub fn tcp(&self) -> &TcpStream {
        self.tcp.as_ref().expect("present until drop")
    }

    fn tcp_pin(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(self.tcp.as_mut().expect("present until drop"))
    }

    /// Writes what is left of the replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.replacement.is_empty() {
            let mut tcp = Pin::new(self.tcp.as_mut().expect("present until drop"));
            let n = ready!(tcp.as_mut().poll_write(cx, &self.replacement))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.replacement.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// Looks at a write that may begin a response: notes an upgrade, and turns
    /// hyper's bodiless refusal into the envelope. Returns how many bytes of
    /// `buf` the replacement stands for.
    fn inspect(&mut self, buf: &[u8]) -> Option<usize> {
        if self.upgraded || !buf.starts_with(b"HTTP/1.") || buf.len() < 12 {
            return None;
        }
        let status = std::str::from_utf8(&buf[9..12]).ok()?.parse::<u16>().ok()?;
        if status == 101 {
            self.upgraded = true;
            return None;
        }
        if !matches!(status, 400 | 414 | 431) {
            return None;
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        if head.contains("content-type:") || !head.contains("content-length: 0\r\n") {
            return None;
        }
        let status = StatusCode::from_u16(status).ok()?;
        self.replacement = raw_response(self.envelope, status);
        Some(end)
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = ready!(self.tcp_pin().poll_read(cx, buf));
        if r.is_ok() && buf.filled().len() == before && buf.remaining() > 0 {
            self.peer_closed = true;
        }
        Poll::Ready(r)
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_replacement(cx))?;
        if let Some(replaced) = self.inspect(buf) {
            // Reported as written; the envelope goes out before anything else.
            return Poll::Ready(Ok(replaced));
        }
        self.tcp_pin().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        self.tcp_pin().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_replacement(cx))?;
        self.tcp_pin().poll_shutdown(cx)
    }
}

impl Drop for GuardedIo {
    fn drop(&mut self) {
        let Some(tcp) = self.tcp.take() else { return };
        // Upgraded connections linger too: a raw WebSocket refused mid-frame (a
        // frame over the size limit) still has the rest of it arriving, and a
        // reset would destroy the 1009 close frame just sent.
        if self.peer_closed || tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        self.lingering
            .spawn(linger(tcp, std::mem::take(&mut self.replacement)));
    }
}

/// Sends what is left of a replacement answer, half-closes `tcp` and discards
/// what the peer still sends until it closes too (bounded), so closing never
/// resets a connection with unread input.
async fn linger(mut tcp: TcpStream, unsent: Vec<u8>) {
    if !unsent.is_empty() && tcp.write_all(&unsent).await.is_err() {
        return;
    }
    let _ = tcp.shutdown().await;
    let drain = async {
        let mut buf = vec![0u8; 16 << 10];
        let mut total = 0usize;
        while total < LINGER_BYTES {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}
