//! Transport plumbing shared by the profiles: Socket.IO (socketioxide) with an
//! ordered per-connection inbox, raw WebSocket connections with their registry,
//! the HTTP pieces every listener carries, and the Socket.IO admin UI's server
//! side and page.

pub mod admin;
pub mod admin_page;
pub mod http;
pub mod socketio;
pub mod ws;
