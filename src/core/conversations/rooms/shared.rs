//! Rooms of the shared space (chatsphere): conversations of kind `room` with no
//! organization, public or private, with their members. Organization rooms
//! (orgchat, `rooms.rs`) are invisible here and these are invisible there: every
//! lookup checks kind and `organization_id IS NULL`. Users are those of the
//! shared space too (no organization). Live deliveries go to the connections
//! that joined the room (`Audience::Room`).

use std::collections::HashMap;

use chrono::Utc;
use entity::{conversations, memberships, messages, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Query},
};

use crate::core::bus::{ConnId, MessageOut};
use crate::core::conversations::membership;
use crate::core::messages::{self as msgs, Cursor, Delivery, NewMessage};
use crate::core::model::ConvRef;
use crate::core::model::Kind;
use crate::core::{Core, Error, Result};

/// A room with its counts, as listings show it.
#[derive(Clone, Debug)]
pub struct RoomInfo {
    pub room: conversations::Model,
    pub messages: i64,
    pub members: i64,
}

fn shared() -> sea_orm::Select<conversations::Entity> {
    conversations::Entity::find()
        .filter(conversations::Column::Kind.eq(Kind::Room.as_str()))
        .filter(conversations::Column::OrganizationId.is_null())
}

/// A user of the shared space (no organization); others are `NotFound`.
pub async fn user(core: &Core, id: i64) -> Result<users::Model> {
    users::Entity::find_by_id(id)
        .filter(users::Column::OrganizationId.is_null())
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Every user of the shared space, oldest first.
pub async fn users(core: &Core) -> Result<Vec<users::Model>> {
    Ok(users::Entity::find()
        .filter(users::Column::OrganizationId.is_null())
        .order_by_asc(users::Column::Id)
        .all(&core.db)
        .await?)
}

/// A user's name in this space: the username, or the display name of accounts
/// made elsewhere (expresschat and calls accounts have no username).
pub fn username(u: &users::Model) -> String {
    u.username.clone().unwrap_or_else(|| u.name.clone())
}

/// Creates a user with only a username (name and username alike). A taken
/// username is `Conflict`.
pub async fn create_user(core: &Core, username: &str) -> Result<users::Model> {
    let username = username.trim();
    check_name(core, "username", username)?;
    crate::core::identity::accounts::create_user(
        core,
        crate::core::identity::accounts::NewUser {
            name: username.to_owned(),
            email: None,
            username: Some(username.to_owned()),
            password: None,
            organization_id: None,
            role: "user".into(),
            verified: false,
        },
    )
    .await
}

/// Renames a user (username and name). A taken username is `Conflict`.
pub async fn rename_user(core: &Core, user: &users::Model, username: &str) -> Result<users::Model> {
    let username = username.trim();
    check_name(core, "username", username)?;
    let mut m: users::ActiveModel = user.clone().into();
    m.username = Set(Some(username.to_owned()));
    m.name = Set(username.to_owned());
    m.updated_at = Set(Utc::now());
    match m.update(&core.db).await {
        Ok(u) => Ok(u),
        Err(e) if crate::core::error::is_unique_violation(&e) => {
            Err(Error::Conflict("Username already exists"))
        }
        Err(e) => Err(e.into()),
    }
}

fn check_name(core: &Core, field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{field} is required")));
    }
    if value.chars().count() > core.limits.max_name_len {
        return Err(Error::invalid(format!("{field} is too long")));
    }
    Ok(())
}

/// Creates a room with `creator` as its admin and first member.
pub async fn create(
    core: &Core,
    creator: &users::Model,
    name: &str,
    description: Option<&str>,
    is_private: bool,
) -> Result<conversations::Model> {
    let name = name.trim();
    check_name(core, "name", name)?;
    if description.is_some_and(|d| d.chars().count() > core.limits.max_content_len) {
        return Err(Error::invalid("description is too long"));
    }
    let now = Utc::now();
    let mut txn = membership::Txn::begin(core).await?;
    let room = conversations::ActiveModel {
        kind: Set(Kind::Room.as_str().to_owned()),
        name: Set(Some(name.to_owned())),
        description: Set(description.map(str::to_owned)),
        organization_id: Set(None),
        admin_id: Set(Some(creator.id)),
        is_private: Set(is_private),
        direct_key: Set(None),
        last_seq: Set(0),
        last_message_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn.db())
    .await?;
    txn.add(room.id, &[creator.id]).await?;
    txn.commit().await?;
    Ok(room)
}

/// A room of the shared space; anything else is `NotFound`.
pub async fn find(core: &Core, id: i64) -> Result<conversations::Model> {
    shared()
        .filter(conversations::Column::Id.eq(id))
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("room"))
}

pub async fn is_member(core: &Core, room: i64, user: i64) -> Result<bool> {
    Ok(
        crate::core::conversations::find_membership(&core.db, room, user)
            .await?
            .is_some(),
    )
}

/// Makes `user` (of the shared space) a member; already being one is fine.
pub async fn add_member(core: &Core, room: i64, user: i64) -> Result<()> {
    membership::ensure(core, room, user).await
}

/// Deletes a room with its messages and memberships (foreign keys cascade).
/// Anything but a room of the shared space is left alone.
pub async fn delete(core: &Core, room: i64) -> Result<()> {
    if find(core, room).await.is_ok() {
        membership::delete_conversation(core, room).await?;
    }
    Ok(())
}

/// Every room of the shared space (`member` None), or those `member` is in,
/// oldest first, with their counts.
pub async fn list(core: &Core, member: Option<i64>) -> Result<Vec<RoomInfo>> {
    let mut q = shared();
    if let Some(u) = member {
        q = q.filter(
            conversations::Column::Id.in_subquery(
                Query::select()
                    .column(memberships::Column::ConversationId)
                    .from(memberships::Entity)
                    .and_where(Expr::col(memberships::Column::UserId).eq(u))
                    .to_owned(),
            ),
        );
    }
    let rooms = q
        .order_by_asc(conversations::Column::CreatedAt)
        .order_by_asc(conversations::Column::Id)
        .all(&core.db)
        .await?;
    with_counts(core, rooms).await
}

/// The rooms with their live message and member counts (two grouped queries).
pub async fn with_counts(core: &Core, rooms: Vec<conversations::Model>) -> Result<Vec<RoomInfo>> {
    if rooms.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rooms.iter().map(|r| r.id).collect();
    let messages: HashMap<i64, i64> = messages::Entity::find()
        .select_only()
        .column(messages::Column::ConversationId)
        .column_as(messages::Column::Id.count(), "n")
        .filter(messages::Column::ConversationId.is_in(ids.clone()))
        .filter(messages::Column::DeletedAt.is_null())
        .group_by(messages::Column::ConversationId)
        .into_tuple::<(i64, i64)>()
        .all(&core.db)
        .await?
        .into_iter()
        .collect();
    let members: HashMap<i64, i64> = memberships::Entity::find()
        .select_only()
        .column(memberships::Column::ConversationId)
        .column_as(memberships::Column::UserId.count(), "n")
        .filter(memberships::Column::ConversationId.is_in(ids))
        .group_by(memberships::Column::ConversationId)
        .into_tuple::<(i64, i64)>()
        .all(&core.db)
        .await?
        .into_iter()
        .collect();
    Ok(rooms
        .into_iter()
        .map(|room| RoomInfo {
            messages: messages.get(&room.id).copied().unwrap_or(0),
            members: members.get(&room.id).copied().unwrap_or(0),
            room,
        })
        .collect())
}

/// The members of a room, in joining order.
pub async fn members(core: &Core, room: i64) -> Result<Vec<users::Model>> {
    let ids = crate::core::conversations::member_ids(&core.db, room).await?;
    let mut by_id: HashMap<i64, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids.clone()))
        .all(&core.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(ids.into_iter().filter_map(|i| by_id.remove(&i)).collect())
}

/// Sends a message to a room as `sender` (who must be a member: the caller
/// decides who may become one), persisted, then delivered to the room's live feed.
pub async fn send(
    core: &Core,
    sender: &users::Model,
    room: &conversations::Model,
    content: &str,
    origin: Option<ConnId>,
) -> Result<MessageOut> {
    let msg = NewMessage {
        conversation_id: room.id,
        content,
        kind: "text",
        client_ref: None,
    };
    msgs::send(core, sender, msg, &[Kind::Room], Delivery::Room, origin).await
}

/// A page of a room's messages within `cursor` (the newest `limit` when it has
/// no bound), oldest first.
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

/// Messages in rooms of the shared space, newest first, at most `limit`: all of
/// them, or those sent by `sender`.
pub async fn messages(core: &Core, sender: Option<i64>, limit: u64) -> Result<Vec<MessageOut>> {
    let mut q = messages::Entity::find()
        .filter(messages::Column::DeletedAt.is_null())
        .filter(
            messages::Column::ConversationId.in_subquery(
                Query::select()
                    .column(conversations::Column::Id)
                    .from(conversations::Entity)
                    .and_where(Expr::col(conversations::Column::Kind).eq(Kind::Room.as_str()))
                    .and_where(Expr::col(conversations::Column::OrganizationId).is_null())
                    .to_owned(),
            ),
        );
    if let Some(s) = sender {
        q = q.filter(messages::Column::SenderId.eq(s));
    }
    let rows = q
        .order_by_desc(messages::Column::CreatedAt)
        .order_by_desc(messages::Column::Id)
        .limit(limit)
        .all(&core.db)
        .await?;
    out_rows(core, &core.db, rows).await
}

async fn out_rows<C: ConnectionTrait>(
    core: &Core,
    db: &C,
    rows: Vec<messages::Model>,
) -> Result<Vec<MessageOut>> {
    let mut senders: Vec<i64> = rows.iter().map(|m| m.sender_id).collect();
    senders.sort_unstable();
    senders.dedup();
    let names = crate::core::identity::accounts::names(db, &senders).await?;
    let mut convs: Vec<i64> = rows.iter().map(|m| m.conversation_id).collect();
    convs.sort_unstable();
    convs.dedup();
    let refs: HashMap<i64, _> = conversations::Entity::find()
        .filter(conversations::Column::Id.is_in(convs))
        .all(db)
        .await?
        .iter()
        .map(|c| Ok((c.id, ConvRef::of(c)?)))
        .collect::<Result<_>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            Some(MessageOut {
                id: m.id,
                conversation: refs.get(&m.conversation_id)?.clone(),
                seq: m.seq,
                sender_id: m.sender_id,
                sender_name: names.get(&m.sender_id).cloned().unwrap_or_default(),
                content: msgs::plaintext(core, &m),
                kind: m.kind,
                is_encrypted: m.is_encrypted,
                client_ref: m.client_ref,
                created_at: m.created_at,
                updated_at: m.updated_at,
            })
        })
        .collect())
}
