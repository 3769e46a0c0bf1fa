//! expresschat's group events: create, fetch, and the admin's operations. What
//! the other members see is rendered from the bus in `render.rs`.

use std::collections::BTreeMap;

use serde_json::json;
use socketioxide::extract::SocketRef;

use super::Ctx;
use super::realtime::{chat, open_chat, partner, payload, read_status, user};
use super::wire::*;
use crate::core::{Result, bus::ConnId, conversations::groups, identity::accounts, model::Kind};
use crate::transport::socketio::{Inbound, emit};

pub(super) async fn create_group_chat(
    ctx: &Ctx,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: CreateGroup = payload(job)?;
    let participants = p
        .participants
        .iter()
        .map(|id| user(id))
        .collect::<Result<Vec<_>>>()?;
    let creator = accounts::get(&ctx.core, me).await?;
    groups::create_group(
        &ctx.core,
        &creator,
        &p.name,
        p.description.as_deref(),
        &participants,
        Kind::Group,
        origin,
    )
    .await?;
    Ok(())
}

pub(super) async fn fetch_group_chat(
    ctx: &Ctx,
    s: &SocketRef,
    me: i64,
    job: &Inbound,
) -> Result<()> {
    let p: GroupRef = payload(job)?;
    let (conv, members, history) = open_chat(ctx, &p.group_id, me, Kind::Group).await?;
    let msgs: Vec<GroupMessage> = history
        .into_iter()
        .map(|m| GroupMessage {
            read_status: read_status(&members, m.sender_id, m.seq),
            content: m.content,
            sender: m.sender_name,
            timestamp: timestamp(m.created_at),
            id: message_id(m.id),
        })
        .collect();
    let participants: BTreeMap<String, String> = members
        .iter()
        .map(|m| (user_id(m.user_id), m.name.clone()))
        .collect();
    emit(
        s,
        "group-chat",
        &json!({
            "Admin": conv.admin_id.map(user_id),
            "Name": conv.name,
            "Description": conv.description.unwrap_or_default(),
            "Participants": participants,
            "Messages": msgs,
        }),
    );
    Ok(())
}

pub(super) async fn add_member(
    ctx: &Ctx,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: GroupMember = payload(job)?;
    let member = partner(ctx, me, &p.member).await?;
    groups::add_member(&ctx.core, me, chat(&p.group_id)?, member.id, origin).await?;
    Ok(())
}

pub(super) async fn kickout(
    ctx: &Ctx,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: GroupMember = payload(job)?;
    groups::kick(&ctx.core, me, chat(&p.group_id)?, user(&p.member)?, origin).await?;
    Ok(())
}

pub(super) async fn change_admin(
    ctx: &Ctx,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: GroupMember = payload(job)?;
    groups::change_admin(&ctx.core, me, chat(&p.group_id)?, user(&p.member)?, origin).await?;
    Ok(())
}

pub(super) async fn leave_group(
    ctx: &Ctx,
    s: &SocketRef,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let result = async {
        let p: GroupRef = payload(job)?;
        groups::leave(&ctx.core, me, chat(&p.group_id)?, origin).await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        // The original answers the admin's attempt with a bare `group-left-fail`.
        emit(s, "group-left-fail", &());
    }
    result
}

pub(super) async fn delete_group(
    ctx: &Ctx,
    me: i64,
    job: &Inbound,
    origin: Option<ConnId>,
) -> Result<()> {
    let p: GroupRef = payload(job)?;
    groups::delete_group(&ctx.core, me, chat(&p.group_id)?, origin).await?;
    Ok(())
}
