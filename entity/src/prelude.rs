//! The entities under short names.

pub use super::api_tokens::Entity as ApiToken;
pub use super::calls::Entity as Call;
pub use super::conversations::Entity as Conversation;
pub use super::email_verifications::Entity as EmailVerification;
pub use super::memberships::Entity as Membership;
pub use super::messages::Entity as Message;
pub use super::organizations::Entity as Organization;
pub use super::reactions::Entity as Reaction;
pub use super::refresh_tokens::Entity as RefreshToken;
pub use super::secrets::Entity as Secret;
pub use super::users::Entity as User;
