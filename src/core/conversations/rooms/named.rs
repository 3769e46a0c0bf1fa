//! Named rooms (testcore): organization-less rooms identified by a unique,
//! case-insensitive name. Stored as conversations of kind [`Kind::NamedRoom`] (`tc_room`) (so no other
//! profile's room list or lookup ever sees them) whose `direct_key` is
//! `tc:<lowercased name>`: the unique key makes lookups case-insensitive and
//! concurrent creations of one name meet in one row. Membership is explicit
//! (create, join, leave); messages are addressed to the connections that joined the
//! room's live feed, and carry the client's `MessageId` as `client_ref`.

use chrono::Utc;
use entity::{conversations, memberships, messages, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};

use crate::core::bus::{Audience, ConnId, EventKind, MessageOut};
use crate::core::conversations::membership;
use crate::core::messages::{self as msgs, Cursor, Delivery, NewMessage};
use crate::core::model::{ConvRef, Kind};
use crate::core::{Core, Error, Result};

/// Longest client message id (`MessageId`), in characters.
pub const MAX_CLIENT_REF: usize = 128;

fn key(name: &str) -> String {
    format!("tc:{}", name.trim().to_lowercase())
}

fn check_name(core: &Core, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("roomName is required"));
    }
    if name.trim().chars().count() > core.limits.max_name_len {
        return Err(Error::invalid(format!(
            "roomName is longer than {} characters",
            core.limits.max_name_len
        )));
    }
    Ok(())
}

/// The room of that name, whatever its case.
pub async fn find(core: &Core, name: &str) -> Result<conversations::Model> {
    conversations::Entity::find()
        .filter(conversations::Column::DirectKey.eq(key(name)))
        .filter(conversations::Column::Kind.eq(Kind::NamedRoom.as_str()))
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("room"))
}

/// Creates the room with `user` as its admin, or, when the name exists already
/// (in any case), opens that one (as the original's "create or update"); either
/// way the user is a member after it.
pub async fn create(core: &Core, user: &users::Model, name: &str) -> Result<conversations::Model> {
    check_name(core, name)?;
    let now = Utc::now();
    let inserted = conversations::ActiveModel {
        kind: Set(Kind::NamedRoom.as_str().to_owned()),
        name: Set(Some(name.trim().to_owned())),
        description: Set(None),
        organization_id: Set(None),
        admin_id: Set(Some(user.id)),
        is_private: Set(false),
        direct_key: Set(Some(key(name))),
        last_seq: Set(0),
        last_message_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&core.db)
    .await;
    let room = match inserted {
        Ok(c) => c,
        Err(e) if crate::core::error::is_unique_violation(&e) => find(core, name).await?,
        Err(e) => return Err(e.into()),
    };
    membership::ensure(core, room.id, user.id).await?;
    Ok(room)
}

/// `user` joins the room of that name (joining twice is not an error).
pub async fn join(core: &Core, user: i64, name: &str) -> Result<conversations::Model> {
    let room = find(core, name).await?;
    membership::ensure(core, room.id, user).await?;
    Ok(room)
}

/// `user` leaves the room of that name (leaving a room one is not in is not an
/// error). The room and its messages stay.
pub async fn leave(core: &Core, user: i64, name: &str) -> Result<conversations::Model> {
    let room = find(core, name).await?;
    membership::remove(core, room.id, user).await?;
    Ok(room)
}

pub async fn is_member(core: &Core, room: i64, user: i64) -> Result<bool> {
    Ok(
        crate::core::conversations::find_membership(&core.db, room, user)
            .await?
            .is_some(),
    )
}

/// The room's members, in joining order.
pub async fn members(core: &Core, room: i64) -> Result<Vec<users::Model>> {
    let ids = crate::core::conversations::member_ids(&core.db, room).await?;
    let mut found = users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().copied()))
        .all(&core.db)
        .await?;
    found.sort_by_key(|u| ids.iter().position(|i| *i == u.id));
    Ok(found)
}

/// The named rooms `user` is a member of, oldest first.
pub async fn of_user(core: &Core, user: i64) -> Result<Vec<conversations::Model>> {
    let mine: Vec<i64> = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|m| m.conversation_id)
        .collect();
    if mine.is_empty() {
        return Ok(Vec::new());
    }
    Ok(conversations::Entity::find()
        .filter(conversations::Column::Id.is_in(mine))
        .filter(conversations::Column::Kind.eq(Kind::NamedRoom.as_str()))
        .order_by_asc(conversations::Column::CreatedAt)
        .order_by_asc(conversations::Column::Id)
        .all(&core.db)
        .await?)
}

fn check_ref(client_ref: &str) -> Result<()> {
    if client_ref.trim().is_empty() {
        return Err(Error::invalid("MessageId is required"));
    }
    if client_ref.chars().count() > MAX_CLIENT_REF {
        return Err(Error::invalid("MessageId is too long"));
    }
    Ok(())
}

/// Persists a message of a member, then publishes it to the room's live feed.
pub async fn send(
    core: &Core,
    sender: &users::Model,
    room: &conversations::Model,
    content: &str,
    client_ref: &str,
    origin: Option<ConnId>,
) -> Result<MessageOut> {
    check_ref(client_ref)?;
    let msg = NewMessage {
        conversation_id: room.id,
        content,
        kind: "text",
        client_ref: Some(client_ref.to_owned()),
    };
    msgs::send(
        core,
        sender,
        msg,
        &[Kind::NamedRoom],
        Delivery::Room,
        origin,
    )
    .await
}

/// The live message `client_ref` of `author` in the room: the newest one when a
/// client reused an id. Someone else's message of that id is `PermissionDenied`.
async fn own_message(
    core: &Core,
    author: i64,
    room: i64,
    client_ref: &str,
) -> Result<messages::Model> {
    check_ref(client_ref)?;
    let rows = messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(room))
        .filter(messages::Column::ClientRef.eq(client_ref))
        .filter(messages::Column::DeletedAt.is_null())
        .order_by_desc(messages::Column::Seq)
        .all(&core.db)
        .await?;
    match rows.iter().position(|m| m.sender_id == author) {
        Some(i) => Ok(rows.into_iter().nth(i).ok_or(Error::Internal)?),
        None if rows.is_empty() => Err(Error::NotFound("message")),
        None => Err(Error::PermissionDenied(
            "only the author can change a message",
        )),
    }
}

/// The author changes their message; the room is told (`MessageEdited`).
pub async fn edit(
    core: &Core,
    author: i64,
    room: &conversations::Model,
    client_ref: &str,
    content: &str,
    origin: Option<ConnId>,
) -> Result<MessageOut> {
    let msg = own_message(core, author, room.id, client_ref).await?;
    msgs::edit(core, &msg, room, content, Delivery::Room, origin).await
}

/// The author deletes their message: the row keeps its sequence, its content is
/// wiped and it leaves the history; the room is told (`MessageDeleted`).
pub async fn delete(
    core: &Core,
    author: i64,
    room: &conversations::Model,
    client_ref: &str,
    origin: Option<ConnId>,
) -> Result<()> {
    let msg = own_message(core, author, room.id, client_ref).await?;
    let now = Utc::now();
    let done = messages::Entity::update_many()
        .col_expr(messages::Column::DeletedAt, Expr::value(now))
        .col_expr(messages::Column::UpdatedAt, Expr::value(now))
        .col_expr(messages::Column::Content, Expr::value(""))
        .col_expr(messages::Column::IsEncrypted, Expr::value(false))
        .filter(messages::Column::Id.eq(msg.id))
        .filter(messages::Column::DeletedAt.is_null())
        .exec(&core.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(Error::NotFound("message"));
    }
    core.bus.publish(
        Audience::Room(room.id),
        origin,
        EventKind::MessageDeleted {
            conversation: ConvRef::of(room)?,
            message_id: msg.id,
            by: author,
        },
    );
    Ok(())
}

/// A page of the room's messages within `cursor` (the newest when it has no
/// bound), oldest first.
pub async fn history(
    core: &Core,
    room: &conversations::Model,
    cursor: Cursor,
    limit: u64,
) -> Result<Vec<MessageOut>> {
    let mut page = msgs::history(core, room, cursor, limit).await?;
    page.reverse();
    Ok(page)
}

/// The message of the room a client names by its `MessageId` (what testcore
/// shows): the newest one with that client id, deleted or not, else the one of
/// that numeric id that has no client id. `bound` (after, before) names the
/// cursor in the refusal of anything else.
pub async fn message_by_ref(
    core: &Core,
    room: &conversations::Model,
    shown: &str,
    bound: &str,
) -> Result<i64> {
    let by_ref = messages::Entity::find()
        .filter(messages::Column::ConversationId.eq(room.id))
        .filter(messages::Column::ClientRef.eq(shown))
        .order_by_desc(messages::Column::Seq)
        .one(&core.db)
        .await?;
    let found = match (by_ref, shown.parse::<i64>()) {
        (Some(m), _) => Some(m),
        (None, Ok(id)) => {
            messages::Entity::find_by_id(id)
                .filter(messages::Column::ConversationId.eq(room.id))
                .filter(messages::Column::ClientRef.is_null())
                .one(&core.db)
                .await?
        }
        (None, Err(_)) => None,
    };
    found
        .map(|m| m.id)
        .ok_or_else(|| Error::invalid(format!("{bound} is not a message of this conversation")))
}

/// The client id and author of a message (for rendering a deletion).
pub async fn message_ref(core: &Core, id: i64) -> Result<(Option<String>, i64)> {
    let m = messages::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("message"))?;
    Ok((m.client_ref, m.sender_id))
}
