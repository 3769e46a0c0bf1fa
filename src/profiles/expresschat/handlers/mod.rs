//! expresschat's event handlers, by family: `people` (the user's details,
//! search), `personal` (personal and self chats), `messages` (sending and
//! reading, in every kind of chat), `group` (groups and their admin's
//! operations). Each takes its typed payload, calls the core, and answers the
//! asking socket; what other users see is rendered from the bus in `render.rs`.
//! The lookups several families share live here.

pub mod group;
pub mod messages;
pub mod people;
pub mod personal;

use serde::Serialize;
use socketioxide::extract::SocketRef;

use super::{Ctx, SPACE, wire::*};
use crate::core::{
    Error, Result,
    bus::{ConnId, MessageOut},
    conversations,
    identity::accounts,
    messages::{self as core_messages, Cursor},
    model::Kind,
};
use crate::profiles::kit::PageAsk;
use crate::transport::socketio::emit;

/// Who sent an event, and where to answer it.
pub struct Caller<'a> {
    pub ctx: &'a Ctx,
    pub socket: &'a SocketRef,
    /// The user the handshake authenticated.
    pub user: &'a entity::users::Model,
    /// The sending connection, so the bus can tell it from the user's other
    /// sockets.
    pub origin: Option<ConnId>,
}

impl Caller<'_> {
    fn me(&self) -> i64 {
        self.user.id
    }

    /// Answers the asking socket only.
    fn answer<T: Serialize + ?Sized>(&self, event: &'static str, data: &T) {
        emit(self.socket, event, data);
    }
}

/// The other user of the shared space, or NotFound: the caller themself, a user
/// of an organization and an unverified account are nobody to chat with.
async fn partner(c: &Caller<'_>, id: UserKey) -> Result<entity::users::Model> {
    let other = accounts::get(&c.ctx.core, id.get()?).await?;
    if other.id == c.me() || !SPACE.admits(&other) || !other.email_verified {
        return Err(Error::NotFound("user"));
    }
    Ok(other)
}

/// Per member but the sender: has that member read up to `seq`?
fn read_status(members: &[conversations::Member], sender: i64, seq: i64) -> ReadStatus {
    members
        .iter()
        .filter(|m| m.user_id != sender)
        .map(|m| {
            (
                user_id(m.user_id),
                if m.read_seq >= seq { "Read" } else { "Unread" },
            )
        })
        .collect()
}

/// A chat the caller is a member of, with its members and the history page it
/// asked for (the newest without one): what both `fetch-personal-chat` and
/// `fetch-group-chat` answer from.
struct OpenChat {
    conv: entity::conversations::Model,
    members: Vec<conversations::Member>,
    history: Vec<MessageOut>,
}

async fn open_chat(c: &Caller<'_>, id: ChatKey, kind: Kind, page: &PageAsk) -> Result<OpenChat> {
    let core = &c.ctx.core;
    let (cursor, limit) = history_page(c, page)?;
    let (conv, _) = conversations::require_member(core, id.get()?, c.me(), &[kind]).await?;
    let members = conversations::members(core, conv.id).await?;
    let history = core_messages::history(core, &conv, cursor, limit).await?;
    Ok(OpenChat {
        conv,
        members,
        history,
    })
}

/// The page a fetch asks for: messages named `m40` as this profile shows them,
/// and at most `HISTORY_PAGE` of them, which is also the original's answer.
fn history_page(c: &Caller<'_>, page: &PageAsk) -> Result<(Cursor, u64)> {
    let cursor = page.cursor(parse_message)?;
    let core = &c.ctx.core;
    let limit = core_messages::page_limit(core, page.limit()?, core.limits.history_page)?;
    Ok((cursor, limit))
}
