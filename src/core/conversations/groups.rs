//! Groups: creation with an admin, and the admin's rights (add, remove, hand
//! over, delete); members may leave. Every change is published on the bus with
//! the audience as it was before the change.

use chrono::Utc;
use entity::{conversations, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use crate::core::bus::{Audience, ConnId, EventKind};
use crate::core::conversations::{
    find_membership, insert_conversation, member_ids, membership, require_admin, require_member,
};
use crate::core::model::ConvRef;
use crate::core::model::Kind;
use crate::core::{Core, Error, Result};

/// Creates a group with `creator` as admin and the given participants (unknown
/// ids, ids outside the creator's organization and duplicates are refused).
pub async fn create_group(
    core: &Core,
    creator: &users::Model,
    name: &str,
    description: Option<&str>,
    participants: &[i64],
    kind: Kind,
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name is required"));
    }
    if name.chars().count() > core.limits.max_name_len {
        return Err(Error::invalid("name is too long"));
    }
    if description.is_some_and(|d| d.chars().count() > core.limits.max_content_len) {
        return Err(Error::invalid("description is too long"));
    }
    let mut members = vec![creator.id];
    for &p in participants {
        if !members.contains(&p) {
            members.push(p);
        }
    }
    if members.len() > core.limits.max_group_size {
        return Err(Error::invalid("too many participants"));
    }
    let found = users::Entity::find()
        .filter(users::Column::Id.is_in(members.clone()))
        .all(&core.db)
        .await?;
    if found.len() != members.len()
        || found
            .iter()
            .any(|u| u.organization_id != creator.organization_id)
    {
        return Err(Error::NotFound("user"));
    }
    let mut txn = membership::Txn::begin(core).await?;
    let conv = insert_conversation(
        txn.db(),
        kind,
        Some(name.to_owned()),
        description.map(str::to_owned),
        creator.organization_id,
        Some(creator.id),
        None,
    )
    .await?;
    txn.add(conv.id, &members).await?;
    txn.commit().await?;
    core.bus.publish(
        Audience::Users(members.as_slice().into()),
        origin,
        EventKind::ConversationCreated {
            conversation: ConvRef::of(&conv)?,
            creator_id: creator.id,
            creator_name: creator.name.clone(),
            members,
        },
    );
    Ok(conv)
}

/// Adds `member` to a group; only the admin may.
pub async fn add_member(
    core: &Core,
    actor: i64,
    conv: i64,
    member: i64,
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    let c = require_admin(core, conv, actor, &[Kind::Group]).await?;
    let user = crate::core::identity::accounts::get(core, member).await?;
    if user.organization_id != c.organization_id {
        return Err(Error::NotFound("user"));
    }
    if find_membership(&core.db, conv, member).await?.is_some() {
        return Err(Error::Conflict("user is already a member"));
    }
    let before = member_ids(&core.db, conv).await?;
    membership::add(core, conv, &[member]).await?;
    let mut audience = before;
    audience.push(member);
    core.bus.publish(
        Audience::Users(audience.into()),
        origin,
        EventKind::MemberAdded {
            conversation: ConvRef::of(&c)?,
            user_id: member,
            by: actor,
        },
    );
    Ok(c)
}

/// Removes `member` from a group; the admin may remove anyone but themself.
pub async fn kick(
    core: &Core,
    actor: i64,
    conv: i64,
    member: i64,
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    let c = require_admin(core, conv, actor, &[Kind::Group]).await?;
    if member == actor {
        return Err(Error::invalid("the admin cannot remove themself"));
    }
    remove(core, &c, member, Some(actor), origin).await?;
    Ok(c)
}

/// `user` leaves a group; the admin must hand the admin right over first.
pub async fn leave(
    core: &Core,
    user: i64,
    conv: i64,
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    let (c, _) = require_member(core, conv, user, &[Kind::Group]).await?;
    if c.admin_id == Some(user) {
        return Err(Error::PermissionDenied("the admin cannot leave the group"));
    }
    remove(core, &c, user, None, origin).await?;
    Ok(c)
}

async fn remove(
    core: &Core,
    c: &conversations::Model,
    member: i64,
    by: Option<i64>,
    origin: Option<ConnId>,
) -> Result<()> {
    let audience = member_ids(&core.db, c.id).await?;
    if !audience.contains(&member) {
        return Err(Error::NotFound("member"));
    }
    let user = crate::core::identity::accounts::get(core, member).await?;
    membership::remove(core, c.id, member).await?;
    core.bus.publish(
        Audience::Users(audience.into()),
        origin,
        EventKind::MemberRemoved {
            conversation: ConvRef::of(c)?,
            user_id: member,
            user_name: user.name,
            by,
        },
    );
    Ok(())
}

/// Moves the admin right of a group to another member.
pub async fn change_admin(
    core: &Core,
    actor: i64,
    conv: i64,
    member: i64,
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    let c = require_admin(core, conv, actor, &[Kind::Group]).await?;
    if member == actor {
        return Err(Error::invalid("already the admin"));
    }
    if find_membership(&core.db, conv, member).await?.is_none() {
        return Err(Error::NotFound("member"));
    }
    conversations::Entity::update_many()
        .col_expr(conversations::Column::AdminId, Expr::value(member))
        .col_expr(conversations::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(conversations::Column::Id.eq(conv))
        .filter(conversations::Column::AdminId.eq(actor))
        .exec(&core.db)
        .await?;
    let audience = member_ids(&core.db, conv).await?;
    core.bus.publish(
        Audience::Users(audience.into()),
        origin,
        EventKind::AdminChanged {
            conversation: ConvRef::of(&c)?,
            from: actor,
            to: member,
        },
    );
    Ok(c)
}

/// Deletes a group with its messages; only the admin may.
pub async fn delete_group(
    core: &Core,
    actor: i64,
    conv: i64,
    origin: Option<ConnId>,
) -> Result<conversations::Model> {
    let c = require_admin(core, conv, actor, &[Kind::Group]).await?;
    let audience = member_ids(&core.db, conv).await?;
    membership::delete_conversation(core, conv).await?;
    core.bus.publish(
        Audience::Users(audience.into()),
        origin,
        EventKind::ConversationDeleted {
            conversation: ConvRef::of(&c)?,
            by: actor,
        },
    );
    Ok(c)
}
