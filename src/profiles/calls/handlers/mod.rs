//! calls' event handlers, by family: `chat` (direct messages, read receipts,
//! typing) and `signalling` (the call state machine). Each takes an already typed
//! payload (`events.rs` parsed it) and returns what the asking socket gets as its
//! ack; what other users see comes from the bus (`render.rs`).

pub mod chat;
pub mod signalling;
