//! sea-orm entities for the core model, one module per table, in the shape
//! `sea-orm-cli generate entity` writes. Behaviour lives in the server's `core/`.

pub mod prelude;

pub mod organizations;
pub mod users;
pub mod email_verifications;
pub mod refresh_tokens;
pub mod api_tokens;
pub mod conversations;
pub mod memberships;
pub mod messages;
pub mod reactions;
pub mod calls;
