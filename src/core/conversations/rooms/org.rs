//! Rooms (orgchat): conversations of kind `room` that belong to one organization.
//! Any member of the organization may enter a room of it; nobody outside it may
//! see, enter, or be told anything about it. Live deliveries go to the connections
//! that joined the room (`Audience::Room`), which each transport keeps per
//! connection; a user who enters a room or writes in it becomes a member, which
//! gives them a read pointer.

use chrono::Utc;
use entity::{conversations, memberships, messages};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::Expr,
};

use crate::core::bus::{Audience, ConnId, EventKind, MessageOut};
use crate::core::conversations::membership;
use crate::core::model::{ConvRef, Kind};

use crate::core::identity::organizations::{self as orgs, Member};
use crate::core::messages::{self as msgs, Cursor, Delivery, NewMessage};
use crate::core::{Core, Error, Result};

/// Creates a room in the actor's organization with the actor as its admin; the
/// invitees (colleagues only) become members and are told (`RoomInvitation`).
pub async fn create(
    core: &Core,
    actor: &Member,
    name: &str,
    invitees: &[i64],
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    // create_group refuses members outside the creator's organization.
    let conv = crate::core::conversations::groups::create_group(
        core,
        &actor.user,
        name,
        None,
        invitees,
        Kind::Room,
        origin,
    )
    .await?;
    announce(core, actor, &conv, invitees)?;
    Ok(conv)
}

/// Invites colleagues to a room (orgchat `newChatRoom`): to the existing room
/// `room_id`, or to a new room named `name`. `claimed_org`, when the client sends
/// one, must be the actor's own organization.
pub async fn invite(
    core: &Core,
    actor: &Member,
    room_id: Option<i64>,
    name: &str,
    invitees: &[i64],
    claimed_org: Option<i64>,
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    if claimed_org.is_some_and(|o| o != actor.organization_id) {
        return Err(Error::NotFound("organization"));
    }
    let Some(room_id) = room_id else {
        return create(core, actor, name, invitees, origin).await;
    };
    let conv = find(core, actor, room_id).await?;
    if invitees.len() > core.limits.max_group_size {
        return Err(Error::invalid("too many invited users"));
    }
    orgs::require_colleagues(core, actor.organization_id, invitees).await?;
    for &u in invitees {
        membership::ensure(core, conv.id, u).await?;
    }
    announce(core, actor, &conv, invitees)?;
    Ok(conv)
}

fn announce(
    core: &Core,
    actor: &Member,
    conv: &conversations::Model,
    invitees: &[i64],
) -> Result<()> {
    let mut to: Vec<i64> = invitees
        .iter()
        .copied()
        .filter(|&u| u != actor.id())
        .collect();
    to.sort_unstable();
    to.dedup();
    if to.is_empty() {
        return Ok(());
    }
    core.bus.publish(
        Audience::Users(to.as_slice().into()),
        None,
        EventKind::RoomInvitation {
            conversation: ConvRef::of(conv)?,
            by: actor.id(),
            invitees: to,
        },
    );
    Ok(())
}

/// One page of an organization's rooms, newest first, and the total count. The
/// (organization_id, kind, created_at, id) index serves both queries.
pub async fn page(
    core: &Core,
    organization_id: i64,
    page: u64,
    page_size: u64,
) -> Result<(u64, Vec<conversations::Model>)> {
    let total = of_organization(organization_id).count(&core.db).await?;
    let rows = page_query(organization_id, page, page_size)
        .all(&core.db)
        .await?;
    Ok((total, rows))
}

fn of_organization(organization_id: i64) -> Select<conversations::Entity> {
    conversations::Entity::find()
        .filter(conversations::Column::OrganizationId.eq(organization_id))
        .filter(conversations::Column::Kind.eq(Kind::Room.as_str()))
}

/// The query of one page (1-based) of rooms, public so a test can ask the
/// database for its plan.
pub fn page_query(
    organization_id: i64,
    page: u64,
    page_size: u64,
) -> Select<conversations::Entity> {
    of_organization(organization_id)
        .order_by_desc(conversations::Column::CreatedAt)
        .order_by_desc(conversations::Column::Id)
        .offset(page.saturating_sub(1).saturating_mul(page_size))
        .limit(page_size)
}

/// A room of the actor's organization; any other id (another organization's
/// room, a direct chat, nothing) is `NotFound`.
pub async fn find(core: &Core, actor: &Member, room_id: i64) -> Result<conversations::Model> {
    match conversations::Entity::find_by_id(room_id)
        .one(&core.db)
        .await?
    {
        Some(c)
            if c.kind == Kind::Room.as_str()
                && c.organization_id == Some(actor.organization_id) =>
        {
            Ok(c)
        }
        _ => Err(Error::NotFound("room")),
    }
}

/// The actor enters a room: checked, made a member, then `attach` registers the
/// connection in the room's live feed *before* the room is told, so the joiner
/// gets the notification too.
pub async fn join(
    core: &Core,
    actor: &Member,
    room_id: i64,
    origin: Option<ConnId>,
    attach: impl FnOnce(i64),
) -> Result<conversations::Model> {
    let conv = find(core, actor, room_id).await?;
    membership::ensure(core, conv.id, actor.id()).await?;
    attach(conv.id);
    publish_presence(core, actor, &conv, true, origin)?;
    Ok(conv)
}

/// The actor leaves a room's live feed: `detach` first (it says whether the
/// connection had joined), then the room is told, if there was anything to leave.
/// Membership (and so the read pointer) stays.
pub async fn leave(
    core: &Core,
    actor: &Member,
    room_id: i64,
    origin: Option<ConnId>,
    detach: impl FnOnce(i64) -> bool,
) -> Result<conversations::Model> {
    let conv = find(core, actor, room_id).await?;
    if detach(conv.id) {
        publish_presence(core, actor, &conv, false, origin)?;
    }
    Ok(conv)
}

fn publish_presence(
    core: &Core,
    actor: &Member,
    conv: &conversations::Model,
    joined: bool,
    origin: Option<ConnId>,
) -> Result<()> {
    core.bus.publish(
        Audience::Room(conv.id),
        origin,
        EventKind::RoomPresence {
            conversation: ConvRef::of(conv)?,
            user_id: actor.id(),
            user_name: actor.user.name.clone(),
            joined,
        },
    );
    Ok(())
}

/// The actor started or stopped typing in a room.
pub async fn typing(
    core: &Core,
    actor: &Member,
    room_id: i64,
    typing: bool,
    origin: Option<ConnId>,
) -> Result<()> {
    let conv = find(core, actor, room_id).await?;
    core.bus.publish(
        Audience::Room(conv.id),
        origin,
        EventKind::Typing {
            conversation: Some(ConvRef::of(&conv)?),
            user_id: actor.id(),
            user_name: actor.user.name.clone(),
            typing,
        },
    );
    Ok(())
}

/// Sends a message to a room (persisted, then delivered to the room's live feed),
/// stored encrypted at rest when `encrypt` is set.
pub async fn send(
    core: &Core,
    actor: &Member,
    room_id: i64,
    content: &str,
    encrypt: bool,
    origin: Option<ConnId>,
) -> Result<MessageOut> {
    let conv = find(core, actor, room_id).await?;
    membership::ensure(core, conv.id, actor.id()).await?;
    let msg = NewMessage {
        conversation_id: conv.id,
        content,
        kind: "text",
        client_ref: None,
    };
    let kinds = [Kind::Room];
    if encrypt {
        msgs::send_encrypted(core, &actor.user, msg, &kinds, Delivery::Room, origin).await
    } else {
        msgs::send(core, &actor.user, msg, &kinds, Delivery::Room, origin).await
    }
}

/// A page of a room of the actor's organization within `cursor`, newest first
/// (the rule of [`msgs::history`]); a room of another organization is
/// `NotFound`.
pub async fn history(
    core: &Core,
    actor: &Member,
    room_id: i64,
    cursor: Cursor,
    limit: u64,
) -> Result<Vec<MessageOut>> {
    let conv = find(core, actor, room_id).await?;
    msgs::history(core, &conv, cursor, limit).await
}

/// A live (not deleted) message in a room of the actor's organization, with its
/// room; anything else is `NotFound`.
pub async fn find_message(
    core: &Core,
    actor: &Member,
    message_id: i64,
) -> Result<(messages::Model, conversations::Model)> {
    let msg = messages::Entity::find_by_id(message_id)
        .filter(messages::Column::DeletedAt.is_null())
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("message"))?;
    let conv = find(core, actor, msg.conversation_id)
        .await
        .map_err(|_| Error::NotFound("message"))?;
    Ok((msg, conv))
}

/// The actor has read a message: their read pointer moves up to it (never back)
/// and the message's room is told.
pub async fn read_message(
    core: &Core,
    actor: &Member,
    message_id: i64,
    origin: Option<ConnId>,
) -> Result<()> {
    let (msg, conv) = find_message(core, actor, message_id).await?;
    membership::ensure(core, conv.id, actor.id()).await?;
    memberships::Entity::update_many()
        .col_expr(memberships::Column::ReadSeq, Expr::value(msg.seq))
        .filter(memberships::Column::ConversationId.eq(conv.id))
        .filter(memberships::Column::UserId.eq(actor.id()))
        .filter(memberships::Column::ReadSeq.lt(msg.seq))
        .exec(&core.db)
        .await?;
    core.bus.publish(
        Audience::Room(conv.id),
        origin,
        EventKind::ReadUpTo {
            conversation: ConvRef::of(&conv)?,
            reader_id: actor.id(),
            seq: msg.seq,
            message_id: Some(msg.id),
            sender_id: Some(msg.sender_id),
        },
    );
    Ok(())
}

/// Deletes a message: admins and moderators may delete any message of their
/// organization, a user only their own. The row stays (its sequence is part of
/// the room's order) with its content wiped; reactions go with it.
pub async fn delete_message(
    core: &Core,
    actor: &Member,
    room_id: Option<i64>,
    message_id: i64,
    origin: Option<ConnId>,
) -> Result<()> {
    let (msg, conv) = find_message(core, actor, message_id).await?;
    if room_id.is_some_and(|r| r != conv.id) {
        return Err(Error::NotFound("message"));
    }
    if !actor.role.moderates() && msg.sender_id != actor.id() {
        return Err(Error::PermissionDenied(
            "Forbidden: Insufficient permissions",
        ));
    }
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
    entity::reactions::Entity::delete_many()
        .filter(entity::reactions::Column::MessageId.eq(msg.id))
        .exec(&core.db)
        .await?;
    core.bus.publish(
        Audience::Room(conv.id),
        origin,
        EventKind::MessageDeleted {
            conversation: ConvRef::of(&conv)?,
            message_id: msg.id,
            by: actor.id(),
        },
    );
    Ok(())
}
