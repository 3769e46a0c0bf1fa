//! chatwire's benchmark kit: the load generator (`loadgen`) and the raw WebSocket
//! broadcast server (`ceiling`) that `bench/run.sh` drives against chatwire, the
//! Node.js + socket.io peer in `bench/node-peer/` and each other.
//!
//! The library holds what both binaries share: the client side of Engine.IO v4 /
//! Socket.IO v5 over WebSocket (`sio`), process figures read from `/proc` (`sys`),
//! a tiny HTTP/1.1 client for the setup requests (`http`) and latency summaries
//! (`stats`).

pub mod http;
pub mod sio;
pub mod stats;
pub mod sys;
