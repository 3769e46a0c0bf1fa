//! Account spaces: the one rule of who may sign in where. Every account belongs
//! to exactly one space, fixed when it is made: the **shared** space (no
//! organization: expresschat, calls, chatsphere and testcore accounts, one
//! account signing in on any of those four) or the **organization** space
//! (orgchat accounts, each of one organization). Each profile serves one space
//! (its `SPACE` constant) and admits only that space's accounts and tokens: at
//! login, at refresh and at every token check. A token carries the space it was
//! minted for as its JWT `aud`; one minted before audiences existed carries
//! none and is admitted only where its user's own space is served, so no token
//! ever crosses between the spaces.
//!
//! A refusal never says that the account exists in the other space: to a
//! profile, an account of the other space is an unknown account and its token
//! an invalid one.

use entity::users;
use sea_orm::EntityTrait;

use crate::core::{Core, Error, Result};

/// The space an account belongs to, and that a profile serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    /// Accounts without an organization: expresschat, calls, chatsphere, testcore.
    Shared,
    /// Accounts of an organization: orgchat.
    Organization,
}

impl Space {
    /// The space of an account: organization members are the organization
    /// space's, every other account the shared space's.
    pub fn of(user: &users::Model) -> Space {
        if user.organization_id.is_some() {
            Space::Organization
        } else {
            Space::Shared
        }
    }

    /// Whether this space's profiles may admit the account.
    pub fn admits(self, user: &users::Model) -> bool {
        Space::of(user) == self
    }

    /// The audience (`aud` claim) of the tokens minted for this space.
    pub fn audience(self) -> &'static str {
        match self {
            Space::Shared => "chatwire:shared",
            Space::Organization => "chatwire:organization",
        }
    }

    /// Whether a token's audience lets it in here: its own space's audience, or
    /// none at all (a token minted before audiences, admitted only together with
    /// [`Space::admits`] on its user, which every check does).
    pub fn accepts_audience(self, aud: Option<&str>) -> bool {
        aud.is_none_or(|a| a == self.audience())
    }
}

/// The account `user_id` names, when it still exists and belongs to `space`;
/// else `AuthRequired` (to the caller, an account of the other space is as
/// unknown as a deleted one). What every token check ends with.
pub async fn admit(core: &Core, space: Space, user_id: i64) -> Result<users::Model> {
    users::Entity::find_by_id(user_id)
        .one(&core.db)
        .await?
        .filter(|u| space.admits(u))
        .ok_or(Error::AuthRequired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(organization_id: Option<i64>) -> users::Model {
        let now = chrono::Utc::now();
        users::Model {
            id: 1,
            organization_id,
            name: "n".into(),
            username: None,
            email: None,
            password_hash: None,
            role: "user".into(),
            email_verified: true,
            avatar: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn an_account_is_of_exactly_one_space() {
        let shared = user(None);
        let member = user(Some(3));
        assert_eq!(Space::of(&shared), Space::Shared);
        assert_eq!(Space::of(&member), Space::Organization);
        assert!(Space::Shared.admits(&shared));
        assert!(!Space::Shared.admits(&member));
        assert!(Space::Organization.admits(&member));
        assert!(!Space::Organization.admits(&shared));
    }

    #[test]
    fn audiences_differ_and_admit_only_their_space() {
        let (s, o) = (Space::Shared, Space::Organization);
        assert_ne!(s.audience(), o.audience());
        assert!(s.accepts_audience(Some(s.audience())));
        assert!(!s.accepts_audience(Some(o.audience())));
        assert!(o.accepts_audience(Some(o.audience())));
        assert!(!o.accepts_audience(Some(s.audience())));
        assert!(!o.accepts_audience(Some("")));
        // No audience (an older token): decided by its user's space.
        assert!(s.accepts_audience(None) && o.accepts_audience(None));
    }
}
