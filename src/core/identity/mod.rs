//! Identity: who a caller is. Accounts (users of the shared space and of
//! organizations, sign-up, verification), auth (passwords, access and refresh
//! tokens), API tokens (chatsphere clients), organizations (orgchat) and the
//! account spaces that keep the organization accounts and the shared ones
//! apart (`space`). It uses no other domain: conversations and messages build
//! on it.

pub mod accounts;
pub mod api_tokens;
pub mod auth;
pub mod organizations;
pub mod space;
