//! Messages: send (sequence assigned in the transaction, persisted, then published),
//! history pages by sequence (`history.rs`), and read pointers. Content may be
//! stored encrypted at rest ([`send_encrypted`]); history and the bus always
//! carry plaintext.

pub mod direct;
mod history;
pub mod reactions;
pub(super) mod writer;

pub use history::{Cursor, history, page_limit};
pub use writer::{Committed, Store as WriterStore};

use chrono::Utc;
use entity::{conversations, memberships, messages, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::core::bus::{Audience, ConnId, EventKind, MessageOut};
use crate::core::conversations::{member_ids, require_member};
use crate::core::crypto::message_aad;
use crate::core::messages::writer::Draft;
use crate::core::model::{ConvRef, Kind};
use crate::core::{Core, Error, Result};

/// How a new message is addressed on the bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Every connection of every member (personal and group chats).
    Members,
    /// The connections that joined the conversation's live room.
    Room,
}

/// What to send.
pub struct NewMessage<'a> {
    pub conversation_id: i64,
    pub content: &'a str,
    /// text, image, file...
    pub kind: &'a str,
    /// A client-chosen reference (testcore `MessageId`), kept for edits and deletes.
    pub client_ref: Option<String>,
}

/// Persists a message from `sender` and publishes it. The sender must be a member
/// of a conversation of one of `kinds`, and have budget left
/// (`MESSAGES_PER_MINUTE`; else `RateLimited` with the seconds to wait).
pub async fn send(
    core: &Core,
    sender: &users::Model,
    msg: NewMessage<'_>,
    kinds: &[Kind],
    delivery: Delivery,
    origin: Option<ConnId>,
) -> Result<MessageOut> {
    submit(core, sender, msg, kinds, delivery, origin)
        .await?
        .await
}

/// As [`send`], with the content stored encrypted at rest (`is_encrypted`) under
/// the configured message key; what is published and returned is the plaintext.
pub async fn send_encrypted(
    core: &Core,
    sender: &users::Model,
    msg: NewMessage<'_>,
    kinds: &[Kind],
    delivery: Delivery,
    origin: Option<ConnId>,
) -> Result<MessageOut> {
    let draft = draft(core, sender, msg, kinds, delivery, origin, true).await?;
    // Sequence, commit and publication happen in the writer, in batches.
    core.writer.write(draft).await
}

/// As [`send`], but returns once the message is checked and queued for the
/// writer, with what resolves when it is committed: a socket's inbox queues its
/// consecutive messages this way before awaiting them in order, so they share the
/// writer's batches (`transport/socketio.rs`, pipelined events). Refusals
/// (content, membership, budget) come back at once, as from [`send`].
pub async fn submit(
    core: &Core,
    sender: &users::Model,
    msg: NewMessage<'_>,
    kinds: &[Kind],
    delivery: Delivery,
    origin: Option<ConnId>,
) -> Result<Committed> {
    let draft = draft(core, sender, msg, kinds, delivery, origin, false).await?;
    core.writer.submit(draft).await
}

/// Checks a new message and its sender's rights and budget, and addresses it.
async fn draft(
    core: &Core,
    sender: &users::Model,
    msg: NewMessage<'_>,
    kinds: &[Kind],
    delivery: Delivery,
    origin: Option<ConnId>,
    encrypt: bool,
) -> Result<Draft> {
    check_content(core, msg.content)?;
    // Membership and audience from the member cache; a conversation the sender is
    // not in is reported as not found (see `require_member`).
    let members = core
        .members
        .get(&core.db, msg.conversation_id)
        .await?
        .ok_or(Error::NotFound("conversation"))?;
    if !kinds.contains(&members.kind) || !members.contains(sender.id) {
        return Err(Error::NotFound("conversation"));
    }
    // The sender's budget, across profiles: checked here, the one path every new
    // message takes, so no profile can forget it. Only a message that would be
    // stored spends it.
    core.message_budget.take(&sender.id).await?;
    let audience = match delivery {
        Delivery::Members => Audience::Users(members.ids.clone()),
        Delivery::Room => Audience::Room(msg.conversation_id),
    };
    Ok(Draft {
        conversation_id: msg.conversation_id,
        sender_id: sender.id,
        sender_name: sender.name.clone(),
        content: msg.content.to_owned(),
        kind: msg.kind.to_owned(),
        client_ref: msg.client_ref,
        seal: encrypt.then(|| core.cipher.clone()),
        audience,
        origin,
    })
}

fn check_content(core: &Core, content: &str) -> Result<()> {
    if content.trim().is_empty() {
        return Err(Error::invalid("content is required"));
    }
    if content.chars().count() > core.limits.max_content_len {
        return Err(Error::invalid(format!(
            "content is longer than {} characters",
            core.limits.max_content_len
        )));
    }
    Ok(())
}

/// Replaces a live message's content (the caller checked who may) and publishes
/// `MessageEdited`. An encrypted row is sealed again under its conversation and
/// sequence, so it stays readable.
pub async fn edit(
    core: &Core,
    msg: &messages::Model,
    conv: &conversations::Model,
    content: &str,
    delivery: Delivery,
    origin: Option<ConnId>,
) -> Result<MessageOut> {
    check_content(core, content)?;
    let stored = if msg.is_encrypted {
        core.cipher
            .seal(content, &message_aad(msg.conversation_id, msg.seq))?
    } else {
        content.to_owned()
    };
    let now = Utc::now();
    let done = messages::Entity::update_many()
        .col_expr(messages::Column::Content, Expr::value(stored))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now))
        .filter(messages::Column::Id.eq(msg.id))
        .filter(messages::Column::DeletedAt.is_null())
        .exec(&core.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(Error::NotFound("message"));
    }
    let audience = match delivery {
        Delivery::Members => Audience::Users(member_ids(&core.db, conv.id).await?.into()),
        Delivery::Room => Audience::Room(conv.id),
    };
    let names = crate::core::identity::accounts::names(&core.db, &[msg.sender_id]).await?;
    let out = MessageOut {
        id: msg.id,
        conversation: ConvRef::of(conv)?,
        seq: msg.seq,
        sender_id: msg.sender_id,
        sender_name: names.get(&msg.sender_id).cloned().unwrap_or_default(),
        content: content.to_owned(),
        kind: msg.kind.clone(),
        is_encrypted: msg.is_encrypted,
        client_ref: msg.client_ref.clone(),
        created_at: msg.created_at,
        updated_at: now,
    };
    core.bus
        .publish(audience, origin, EventKind::MessageEdited(out.clone()));
    Ok(out)
}

/// The readable content of a stored message: decrypted when it was stored
/// encrypted. A row that does not decrypt (another key, tampering) reads as empty
/// and is logged, so one bad row does not hide a whole history.
pub fn plaintext(core: &Core, m: &messages::Model) -> String {
    if !m.is_encrypted {
        return m.content.clone();
    }
    match core
        .cipher
        .open(&m.content, &message_aad(m.conversation_id, m.seq))
    {
        Ok(p) => p,
        Err(why) => {
            tracing::error!(message_id = m.id, why, "stored message does not decrypt");
            String::new()
        }
    }
}

/// Moves `user`'s read pointer in a conversation forward to `up_to` (the latest
/// message when None) and tells the other members. Never moves it back.
pub async fn mark_read(
    core: &Core,
    user: i64,
    conv_id: i64,
    up_to: Option<i64>,
    kinds: &[Kind],
    origin: Option<ConnId>,
) -> Result<i64> {
    let (conv, m) = require_member(core, conv_id, user, kinds).await?;
    let seq = std::cmp::min(up_to.unwrap_or(conv.last_seq), conv.last_seq);
    if seq > m.read_seq {
        memberships::Entity::update_many()
            .col_expr(memberships::Column::ReadSeq, Expr::value(seq))
            .filter(memberships::Column::ConversationId.eq(conv.id))
            .filter(memberships::Column::UserId.eq(user))
            .filter(memberships::Column::ReadSeq.lt(seq))
            .exec(&core.db)
            .await?;
    }
    let others: Vec<i64> = match core.members.get(&core.db, conv.id).await? {
        Some(m) => m.ids.iter().copied().filter(|&u| u != user).collect(),
        None => Vec::new(),
    };
    core.bus.publish(
        Audience::Users(others.into()),
        origin,
        EventKind::ReadUpTo {
            conversation: ConvRef::of(&conv)?,
            reader_id: user,
            seq,
            message_id: None,
            sender_id: None,
        },
    );
    Ok(seq)
}
