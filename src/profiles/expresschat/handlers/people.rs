//! `fetch-user-details` and `search-user`.

use super::Caller;
use crate::core::{Error, Result, identity::accounts};
use crate::profiles::expresschat::wire::*;

pub async fn fetch_user_details(c: &Caller<'_>) -> Result<()> {
    let u = accounts::get(&c.ctx.core, c.me()).await?;
    let details = UserDetails {
        name: u.name,
        email: u.email,
        id: user_id(c.me()),
    };
    c.answer("user-details", &details);
    Ok(())
}

/// Verified users of the shared space whose name contains the text, the caller
/// excepted: 8 for the search box, 3 for "add a member".
pub async fn search_user(c: &Caller<'_>, p: SearchUser) -> Result<()> {
    if p.name.chars().count() > c.ctx.core.limits.max_name_len {
        return Err(Error::invalid("search text is too long"));
    }
    let (limit, event) = match p.kind {
        SearchKind::Add => (3, "added-user-match"),
        SearchKind::Search => (8, "searched-user"),
    };
    let users = accounts::search_by_name(&c.ctx.core, &p.name, c.me(), limit)
        .await?
        .into_iter()
        .map(|u| FoundUser {
            id: user_id(u.id),
            name: u.name,
            email: u.email.unwrap_or_default(),
        })
        .collect();
    c.answer(event, &FoundUsers { users });
    Ok(())
}
