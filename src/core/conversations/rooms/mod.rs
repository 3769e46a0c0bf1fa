//! The three flavours of room, one per profile that has rooms. Each is a
//! conversation whose lookups admit only its own flavour, so no profile sees
//! another's rooms:
//! - [`org`]: orgchat's rooms, kind `room`, of one organization;
//! - [`named`]: testcore's rooms, kind `tc_room`, named case-insensitively;
//! - [`shared`]: chatsphere's rooms, kind `room`, of the shared space (no organization).

pub mod named;
pub mod org;
pub mod shared;
