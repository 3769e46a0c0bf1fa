//! Direct messages addressed by user id (the calls profile's model): send to a
//! user (opening the pair's one direct conversation on first use, whichever
//! profile opened it), a user's direct history across partners, read receipts for
//! one message, and typing to a user.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{conversations, memberships, messages, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

use crate::core::bus::{Audience, ConnId, EventKind, MessageOut};
use crate::core::conversations::require_member;
use crate::core::messages::{self as msgs, Delivery, NewMessage};
use crate::core::model::{ConvRef, Kind};
use crate::core::{Core, Error, Result, identity::accounts};

/// A direct message with its receiver, as the calls profile shows it.
#[derive(Clone, Debug)]
pub struct DirectMessage {
    pub message: MessageOut,
    pub receiver_id: i64,
    /// Whether the receiver's read pointer has passed it.
    pub read_by_receiver: bool,
}

/// Where a history page ends (exclusive).
#[derive(Clone, Copy, Debug)]
pub enum Before {
    Message(i64),
    Time(DateTime<Utc>),
}

/// The other user as `me` may address them: the same space (no organization for
/// expresschat and calls users), verified, not `me`.
pub async fn peer(core: &Core, me: &users::Model, other: i64) -> Result<users::Model> {
    if other == me.id {
        return Err(Error::invalid("you cannot message yourself"));
    }
    let u = accounts::get(core, other).await?;
    if u.organization_id != me.organization_id || !u.email_verified {
        return Err(Error::NotFound("user"));
    }
    Ok(u)
}

/// Sends a message to a user: persisted in the pair's direct conversation, then
/// published to both (`origin` is the sending connection).
pub async fn send(
    core: &Core,
    sender: &users::Model,
    to: i64,
    content: &str,
    kind: &str,
    origin: Option<ConnId>,
) -> Result<DirectMessage> {
    let receiver = peer(core, sender, to).await?;
    let (conv, _) =
        crate::core::conversations::open_direct(core, sender, receiver.id, origin.clone()).await?;
    let msg = NewMessage {
        conversation_id: conv.id,
        content,
        kind,
        client_ref: None,
    };
    let message = msgs::send(
        core,
        sender,
        msg,
        &[Kind::Direct],
        Delivery::Members,
        origin,
    )
    .await?;
    Ok(DirectMessage {
        message,
        receiver_id: receiver.id,
        read_by_receiver: false,
    })
}

/// `me`'s direct messages, newest first: with one partner (`with`) or with all,
/// before a message id or a time, at most `limit`. With `after` (a message id
/// of one of those chats, else refused) the page is the oldest `limit` messages
/// newer than it: the same cursor rule as a conversation's history
/// ([`crate::core::messages::history`]), by id here because the page may span
/// several chats and ids follow commit order.
pub async fn history(
    core: &Core,
    me: i64,
    with: Option<i64>,
    before: Option<Before>,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<DirectMessage>> {
    let mine: HashMap<i64, i64> = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(me))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|m| (m.conversation_id, m.read_seq))
        .collect();
    if mine.is_empty() {
        return match after {
            Some(_) => Err(not_yours()),
            None => Ok(Vec::new()),
        };
    }
    let direct: Vec<i64> = conversations::Entity::find()
        .select_only()
        .column(conversations::Column::Id)
        .filter(conversations::Column::Id.is_in(mine.keys().copied()))
        .filter(conversations::Column::Kind.eq(Kind::Direct.as_str()))
        .into_tuple()
        .all(&core.db)
        .await?;
    // conversation -> (partner, partner's read pointer)
    let partners: HashMap<i64, (i64, i64)> = memberships::Entity::find()
        .filter(memberships::Column::ConversationId.is_in(direct))
        .filter(memberships::Column::UserId.ne(me))
        .all(&core.db)
        .await?
        .into_iter()
        .filter(|m| with.is_none_or(|w| w == m.user_id))
        .map(|m| (m.conversation_id, (m.user_id, m.read_seq)))
        .collect();
    if let Some(a) = after {
        let of = messages::Entity::find_by_id(a)
            .select_only()
            .column(messages::Column::ConversationId)
            .into_tuple::<i64>()
            .one(&core.db)
            .await?;
        if !of.is_some_and(|c| partners.contains_key(&c)) {
            return Err(not_yours());
        }
    }
    if partners.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = messages::Entity::find()
        .filter(messages::Column::ConversationId.is_in(partners.keys().copied()))
        .filter(messages::Column::DeletedAt.is_null());
    q = match before {
        Some(Before::Message(id)) => q.filter(messages::Column::Id.lt(id)),
        Some(Before::Time(t)) => q.filter(messages::Column::CreatedAt.lt(t)),
        None => q,
    };
    let rows = match after {
        Some(a) => {
            let mut rows = q
                .filter(messages::Column::Id.gt(a))
                .order_by_asc(messages::Column::Id)
                .limit(limit)
                .all(&core.db)
                .await?;
            rows.reverse();
            rows
        }
        None => {
            q.order_by_desc(messages::Column::Id)
                .limit(limit)
                .all(&core.db)
                .await?
        }
    };
    let senders: Vec<i64> = rows.iter().map(|m| m.sender_id).collect();
    let names = accounts::names(&core.db, &senders).await?;
    let convs: HashMap<i64, conversations::Model> = conversations::Entity::find()
        .filter(conversations::Column::Id.is_in(partners.keys().copied()))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        let content = msgs::plaintext(core, &m);
        let (Some(&(partner, partner_read)), Some(conv)) = (
            partners.get(&m.conversation_id),
            convs.get(&m.conversation_id),
        ) else {
            continue;
        };
        let (receiver_id, receiver_read) = if m.sender_id == me {
            (partner, partner_read)
        } else {
            (me, mine.get(&m.conversation_id).copied().unwrap_or(0))
        };
        out.push(DirectMessage {
            read_by_receiver: receiver_read >= m.seq,
            receiver_id,
            message: MessageOut {
                id: m.id,
                conversation: ConvRef::of(conv)?,
                seq: m.seq,
                sender_id: m.sender_id,
                sender_name: names.get(&m.sender_id).cloned().unwrap_or_default(),
                content,
                kind: m.kind,
                is_encrypted: m.is_encrypted,
                client_ref: m.client_ref,
                created_at: m.created_at,
                updated_at: m.updated_at,
            },
        });
    }
    Ok(out)
}

/// The refusal of an `after` that names no message of the caller's chats.
fn not_yours() -> Error {
    Error::invalid("after is not one of your messages")
}

/// `reader` has read the direct message `message_id`: their read pointer moves up
/// to it (never back) and its sender is told, naming the message.
pub async fn mark_read(
    core: &Core,
    reader: i64,
    message_id: i64,
    origin: Option<ConnId>,
) -> Result<()> {
    let msg = messages::Entity::find_by_id(message_id)
        .one(&core.db)
        .await?
        .filter(|m| m.deleted_at.is_none())
        .ok_or(Error::NotFound("message"))?;
    let (conv, m) = require_member(core, msg.conversation_id, reader, &[Kind::Direct])
        .await
        .map_err(|_| Error::NotFound("message"))?;
    if msg.sender_id == reader {
        return Ok(());
    }
    if msg.seq > m.read_seq {
        memberships::Entity::update_many()
            .col_expr(memberships::Column::ReadSeq, Expr::value(msg.seq))
            .filter(memberships::Column::ConversationId.eq(conv.id))
            .filter(memberships::Column::UserId.eq(reader))
            .filter(memberships::Column::ReadSeq.lt(msg.seq))
            .exec(&core.db)
            .await?;
    }
    core.bus.publish(
        Audience::Users(vec![msg.sender_id].into()),
        origin,
        EventKind::ReadUpTo {
            conversation: ConvRef::of(&conv)?,
            reader_id: reader,
            seq: msg.seq.max(m.read_seq),
            message_id: Some(msg.id),
            sender_id: Some(msg.sender_id),
        },
    );
    Ok(())
}

/// The newest message at or below `seq` in a conversation that `reader` did not
/// send, as (message id, sender): what a "read up to" names for a client that
/// acknowledges single messages.
pub async fn last_received(
    core: &Core,
    conversation: i64,
    reader: i64,
    seq: i64,
) -> Result<Option<(i64, i64)>> {
    Ok(messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(conversation))
        .filter(messages::Column::Seq.lte(seq))
        .filter(messages::Column::SenderId.ne(reader))
        .filter(messages::Column::DeletedAt.is_null())
        .order_by_desc(messages::Column::Seq)
        .one(&core.db)
        .await?
        .map(|m| (m.id, m.sender_id)))
}

/// `from` started or stopped typing to `to`, who must be connected.
pub async fn typing(core: &Core, from: &users::Model, to: i64, typing: bool) -> Result<()> {
    let other = peer(core, from, to).await?;
    if !core.presence.is_online(other.id).await {
        return Err(Error::UserNotConnected);
    }
    core.bus.publish(
        Audience::Users(vec![other.id].into()),
        None,
        EventKind::Typing {
            conversation: None,
            user_id: from.id,
            user_name: from.name.clone(),
            typing,
        },
    );
    Ok(())
}
