//! Transport plumbing shared by the profiles: Socket.IO (socketioxide) with an
//! ordered per-connection inbox, and the HTTP pieces every listener carries.

pub mod http;
pub mod socketio;
