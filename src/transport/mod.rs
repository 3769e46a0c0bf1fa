//! Transport plumbing shared by the profiles: Socket.IO (socketioxide) with an
//! ordered per-connection inbox, raw WebSocket connections with their registry,
//! the HTTP pieces every listener carries, every refusal in the profile's
//! envelope (`envelope`), and the listener that closes connections without
//! resets and drains its queue at shutdown (`listener`).

pub mod envelope;
pub mod http;
pub mod listener;
pub mod socketio;
pub mod ws;
