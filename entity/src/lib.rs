//! sea-orm entities for the core model, one module per table, in the shape
//! `sea-orm-cli generate entity` writes. Behaviour lives in the server's `core/`.

pub mod prelude;

pub mod api_tokens;
pub mod calls;
pub mod conversations;
pub mod email_verifications;
pub mod memberships;
pub mod messages;
pub mod organizations;
pub mod reactions;
pub mod refresh_tokens;
pub mod secrets;
pub mod users;
