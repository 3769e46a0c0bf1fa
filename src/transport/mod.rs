//! Transport plumbing shared by the profiles: Socket.IO (socketioxide) with an
//! ordered per-connection inbox, raw WebSocket connections with their registry,
//! the HTTP pieces every listener carries, every refusal in the profile's
//! envelope (`envelope`), the listener that closes connections without resets
//! and drains its queue at shutdown (`listener`), and the Socket.IO admin UI's
//! server side and page.

pub mod admin;
pub mod admin_page;
pub mod envelope;
pub mod http;
pub mod listener;
pub mod socketio;
pub mod ws;
