//! Conversations: self, direct, group and room; membership, admin rights and
//! organization scoping. A direct conversation is one row per pair of users
//! (`direct_key`), whichever profile opened it, so every profile sees the same one.

pub mod groups;
pub mod member_cache;
pub mod membership;
pub mod rooms;

use std::collections::HashMap;

use chrono::Utc;
use entity::{conversations, memberships, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::core::bus::EventKind;
use crate::core::model::{Audience, ConnId, ConvRef, Kind};
use crate::core::{Core, Error, Result};

fn direct_key(a: i64, b: i64) -> String {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    format!("dm:{lo}:{hi}")
}

fn self_key(user: i64) -> String {
    format!("self:{user}")
}

pub(crate) async fn insert_conversation<C: ConnectionTrait>(
    db: &C,
    kind: Kind,
    name: Option<String>,
    description: Option<String>,
    organization_id: Option<i64>,
    admin_id: Option<i64>,
    key: Option<String>,
) -> std::result::Result<conversations::Model, sea_orm::DbErr> {
    let now = Utc::now();
    conversations::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        name: Set(name),
        description: Set(description),
        organization_id: Set(organization_id),
        admin_id: Set(admin_id),
        is_private: Set(false),
        direct_key: Set(key),
        last_seq: Set(0),
        last_message_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// The user's self conversation, created on first use.
pub async fn self_chat(core: &Core, user: i64) -> Result<conversations::Model> {
    let key = self_key(user);
    let db = &core.db;
    if let Some(c) = find_by_key(db, &key).await? {
        return Ok(c);
    }
    match insert_conversation(
        db,
        Kind::SelfChat,
        None,
        None,
        None,
        Some(user),
        Some(key.clone()),
    )
    .await
    {
        Ok(c) => {
            membership::add(core, c.id, &[user]).await?;
            Ok(c)
        }
        // Two first uses at once: the other one created it.
        Err(e) if crate::core::error::is_unique_violation(&e) => {
            find_by_key(db, &key).await?.ok_or(Error::Internal)
        }
        Err(e) => Err(e.into()),
    }
}

async fn find_by_key<C: ConnectionTrait>(
    db: &C,
    key: &str,
) -> Result<Option<conversations::Model>> {
    Ok(conversations::Entity::find()
        .filter(conversations::Column::DirectKey.eq(key))
        .one(db)
        .await?)
}

pub async fn find_direct(core: &Core, a: i64, b: i64) -> Result<Option<conversations::Model>> {
    find_by_key(&core.db, &direct_key(a, b)).await
}

/// Opens the direct conversation between `me` and `other`, creating it (and
/// announcing it) if it did not exist. Returns the conversation and whether it was
/// created now.
pub async fn open_direct(
    core: &Core,
    me: &users::Model,
    other: i64,
    origin: Option<ConnId>,
) -> Result<(conversations::Model, bool)> {
    if other == me.id {
        return Err(Error::invalid("cannot open a direct chat with yourself"));
    }
    let partner = crate::core::identity::accounts::get(core, other).await?;
    if partner.organization_id != me.organization_id {
        return Err(Error::NotFound("user"));
    }
    let key = direct_key(me.id, other);
    if let Some(c) = find_by_key(&core.db, &key).await? {
        return Ok((c, false));
    }
    let mut txn = membership::Txn::begin(core).await?;
    let conv = match insert_conversation(
        txn.db(),
        Kind::Direct,
        None,
        None,
        me.organization_id,
        None,
        Some(key.clone()),
    )
    .await
    {
        Ok(c) => c,
        Err(e) if crate::core::error::is_unique_violation(&e) => {
            drop(txn);
            return Ok((
                find_by_key(&core.db, &key).await?.ok_or(Error::Internal)?,
                false,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    txn.add(conv.id, &[me.id, other]).await?;
    txn.commit().await?;
    core.bus.publish(
        Audience::Users(vec![me.id, other].into()),
        origin,
        EventKind::ConversationCreated {
            conversation: ConvRef::of(&conv)?,
            creator_id: me.id,
            creator_name: me.name.clone(),
            members: vec![me.id, other],
        },
    );
    Ok((conv, true))
}

pub async fn get(core: &Core, id: i64) -> Result<conversations::Model> {
    conversations::Entity::find_by_id(id)
        .one(&core.db)
        .await?
        .ok_or(Error::NotFound("conversation"))
}

pub async fn find_membership<C: ConnectionTrait>(
    db: &C,
    conv: i64,
    user: i64,
) -> Result<Option<memberships::Model>> {
    Ok(memberships::Entity::find_by_id((conv, user))
        .one(db)
        .await?)
}

/// The conversation, if `user` is a member and it is of one of `kinds`. A
/// conversation the user is not in is reported as not found: its existence is not
/// the caller's business.
pub async fn require_member(
    core: &Core,
    conv: i64,
    user: i64,
    kinds: &[Kind],
) -> Result<(conversations::Model, memberships::Model)> {
    let c = get(core, conv).await?;
    if !kinds.contains(&Kind::parse(&c.kind)?) {
        return Err(Error::NotFound("conversation"));
    }
    let m = find_membership(&core.db, conv, user)
        .await?
        .ok_or(Error::NotFound("conversation"))?;
    Ok((c, m))
}

/// As [`require_member`], and the user must be the conversation's admin.
pub async fn require_admin(
    core: &Core,
    conv: i64,
    user: i64,
    kinds: &[Kind],
) -> Result<conversations::Model> {
    let (c, _) = require_member(core, conv, user, kinds).await?;
    if c.admin_id != Some(user) {
        return Err(Error::PermissionDenied("only the admin can do that"));
    }
    Ok(c)
}

pub async fn member_ids<C: ConnectionTrait>(db: &C, conv: i64) -> Result<Vec<i64>> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::ConversationId.eq(conv))
        .order_by_asc(memberships::Column::JoinedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// A member with their name and read pointer.
#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub read_seq: i64,
}

pub async fn members(core: &Core, conv: i64) -> Result<Vec<Member>> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::ConversationId.eq(conv))
        .order_by_asc(memberships::Column::JoinedAt)
        .all(&core.db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|m| m.user_id).collect();
    let names = crate::core::identity::accounts::names(&core.db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| Member {
            name: names.get(&m.user_id).cloned().unwrap_or_default(),
            user_id: m.user_id,
            read_seq: m.read_seq,
        })
        .collect())
}

/// One entry of a user's conversation list.
#[derive(Clone, Debug)]
pub struct Summary {
    pub conversation: conversations::Model,
    pub unread: i64,
    /// For direct conversations: the other member.
    pub partner: Option<(i64, String)>,
}

/// The user's conversations of the given kinds, most recently active first, with
/// unread counts derived from the read pointer.
pub async fn list_for_user(core: &Core, user: i64, kinds: &[Kind]) -> Result<Vec<Summary>> {
    let mine = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user))
        .all(&core.db)
        .await?;
    if mine.is_empty() {
        return Ok(Vec::new());
    }
    let read: HashMap<i64, i64> = mine
        .iter()
        .map(|m| (m.conversation_id, m.read_seq))
        .collect();
    let kind_strs: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let convs = conversations::Entity::find()
        .filter(conversations::Column::Id.is_in(read.keys().copied()))
        .filter(conversations::Column::Kind.is_in(kind_strs))
        .all(&core.db)
        .await?;
    let direct_ids: Vec<i64> = convs
        .iter()
        .filter(|c| c.kind == Kind::Direct.as_str())
        .map(|c| c.id)
        .collect();
    let mut partners: HashMap<i64, i64> = HashMap::new();
    if !direct_ids.is_empty() {
        for m in memberships::Entity::find()
            .filter(memberships::Column::ConversationId.is_in(direct_ids))
            .filter(memberships::Column::UserId.ne(user))
            .all(&core.db)
            .await?
        {
            partners.insert(m.conversation_id, m.user_id);
        }
    }
    let names = crate::core::identity::accounts::names(
        &core.db,
        &partners.values().copied().collect::<Vec<_>>(),
    )
    .await?;
    let mut out: Vec<Summary> = convs
        .into_iter()
        .map(|c| Summary {
            unread: (c.last_seq - read.get(&c.id).copied().unwrap_or(0)).max(0),
            partner: partners
                .get(&c.id)
                .map(|p| (*p, names.get(p).cloned().unwrap_or_default())),
            conversation: c,
        })
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(last_activity(&s.conversation)));
    Ok(out)
}

/// When a conversation last saw a message, or its creation time.
pub fn last_activity(c: &conversations::Model) -> chrono::DateTime<Utc> {
    c.last_message_at.unwrap_or(c.created_at)
}
