//! Conversations: self, direct, group and room; membership, admin rights and
//! organization scoping. A direct conversation is one row per pair of users
//! (`direct_key`), whichever profile opened it, so every profile sees the same one.

pub mod groups;
pub mod member_cache;
pub mod membership;
pub mod rooms;

use chrono::Utc;
use entity::{conversations, memberships, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, Set,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, JoinType, Order, Query, SelectStatement},
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
///
/// One query (a connect's greeting runs it, and each query is a round trip, on
/// SQLite a hop to a worker thread): the user's memberships joined to their
/// conversations and, for a direct conversation, to the other member's name.
pub async fn list_for_user(core: &Core, user: i64, kinds: &[Kind]) -> Result<Vec<Summary>> {
    let db = &core.db;
    let rows = db
        .query_all(&list_query(user, kinds))
        .await
        .map_err(Error::from)?;
    let mut out: Vec<Summary> = Vec::with_capacity(rows.len());
    for row in &rows {
        let c = conversations::Model::from_query_result(row, "")?;
        // A direct conversation has one other member; should it ever have two,
        // the first is kept (one entry per conversation).
        if out.last().is_some_and(|s| s.conversation.id == c.id) {
            continue;
        }
        let read: i64 = row.try_get("", "my_read_seq")?;
        let partner = match row.try_get::<Option<i64>>("", "partner_id")? {
            Some(p) => Some((
                p,
                row.try_get::<Option<String>>("", "partner_name")?
                    .unwrap_or_default(),
            )),
            None => None,
        };
        out.push(Summary {
            unread: std::cmp::max(c.last_seq - read, 0),
            partner,
            conversation: c,
        });
    }
    out.sort_by_key(|s| std::cmp::Reverse(last_activity(&s.conversation)));
    Ok(out)
}

/// `SELECT c.*, m.read_seq, pm.user_id, pu.name FROM memberships m JOIN
/// conversations c LEFT JOIN memberships pm (direct only: the other member) LEFT
/// JOIN users pu WHERE m.user_id = user AND c.kind IN kinds ORDER BY c.id`.
fn list_query(user: i64, kinds: &[Kind]) -> SelectStatement {
    let (m, c, pm, pu) = (
        Alias::new("m"),
        Alias::new("c"),
        Alias::new("pm"),
        Alias::new("pu"),
    );
    let direct = Kind::Direct.as_str();
    Query::select()
        .column((c.clone(), Asterisk))
        .expr_as(
            Expr::col((m.clone(), memberships::Column::ReadSeq)),
            Alias::new("my_read_seq"),
        )
        .expr_as(
            Expr::col((pm.clone(), memberships::Column::UserId)),
            Alias::new("partner_id"),
        )
        .expr_as(
            Expr::col((pu.clone(), users::Column::Name)),
            Alias::new("partner_name"),
        )
        .from_as(memberships::Entity, m.clone())
        .join_as(
            JoinType::InnerJoin,
            conversations::Entity,
            c.clone(),
            Expr::col((c.clone(), conversations::Column::Id))
                .equals((m.clone(), memberships::Column::ConversationId)),
        )
        .join_as(
            JoinType::LeftJoin,
            memberships::Entity,
            pm.clone(),
            Expr::col((pm.clone(), memberships::Column::ConversationId))
                .equals((c.clone(), conversations::Column::Id))
                .and(Expr::col((pm.clone(), memberships::Column::UserId)).ne(user))
                .and(Expr::col((c.clone(), conversations::Column::Kind)).eq(direct)),
        )
        .join_as(
            JoinType::LeftJoin,
            users::Entity,
            pu.clone(),
            Expr::col((pu.clone(), users::Column::Id))
                .equals((pm.clone(), memberships::Column::UserId)),
        )
        .and_where(Expr::col((m, memberships::Column::UserId)).eq(user))
        .and_where(
            Expr::col((c.clone(), conversations::Column::Kind))
                .is_in(kinds.iter().map(|k| k.as_str())),
        )
        .order_by((c, conversations::Column::Id), Order::Asc)
        .order_by((pm, memberships::Column::JoinedAt), Order::Asc)
        .to_owned()
}

/// When a conversation last saw a message, or its creation time.
pub fn last_activity(c: &conversations::Model) -> chrono::DateTime<Utc> {
    c.last_message_at.unwrap_or(c.created_at)
}
