//! Groups: `create-group-chat`, `fetch-group-chat`, and the admin's operations
//! `add-member`, `kickout`, `change-admin`, `delete-grp`, and `leave-grp` for
//! the others. Refusals are answered on each event's `*-fail` channel
//! (`error.rs`); what the members see on success is rendered from the bus.

use std::collections::BTreeMap;

use super::{Caller, open_chat, partner, read_status};
use crate::core::{Result, conversations::groups, identity::accounts, model::Kind};
use crate::profiles::{
    expresschat::wire::*,
    kit::{self, PageAsk},
};

pub async fn create_group_chat(c: &Caller<'_>, p: CreateGroup) -> Result<()> {
    let participants = p
        .participants
        .iter()
        .map(|id| id.get())
        .collect::<Result<Vec<_>>>()?;
    let creator = accounts::get(&c.ctx.core, c.me()).await?;
    groups::create_group(
        &c.ctx.core,
        &creator,
        &p.name,
        p.description.as_deref(),
        &participants,
        Kind::Group,
        c.origin.clone(),
    )
    .await?;
    Ok(())
}

/// The group with a page of its messages (the newest without `After` /
/// `Before`), newest first.
pub async fn fetch_group_chat(c: &Caller<'_>, p: GroupRef, page: PageAsk) -> Result<()> {
    let chat = open_chat(c, p.group_id, Kind::Group, &page).await?;
    let participants: BTreeMap<String, String> = chat
        .members
        .iter()
        .map(|m| (user_id(m.user_id), m.name.clone()))
        .collect();
    let messages = chat
        .history
        .into_iter()
        .map(|m| GroupMessage {
            read_status: read_status(&chat.members, m.sender_id, m.seq),
            content: m.content,
            sender: m.sender_name,
            timestamp: kit::timestamp(m.created_at),
            id: message_id(m.id),
        })
        .collect();
    let answer = GroupChat {
        admin: chat.conv.admin_id.map(user_id),
        name: chat.conv.name,
        description: chat.conv.description.unwrap_or_default(),
        participants,
        messages,
    };
    c.answer("group-chat", &answer);
    Ok(())
}

/// Only users of the shared space can be added (as for a personal chat).
pub async fn add_member(c: &Caller<'_>, p: GroupMember) -> Result<()> {
    let member = partner(c, p.member).await?;
    let group = p.group_id.get()?;
    groups::add_member(&c.ctx.core, c.me(), group, member.id, c.origin.clone()).await?;
    Ok(())
}

pub async fn kickout(c: &Caller<'_>, p: GroupMember) -> Result<()> {
    let (group, member) = (p.group_id.get()?, p.member.get()?);
    groups::kick(&c.ctx.core, c.me(), group, member, c.origin.clone()).await?;
    Ok(())
}

pub async fn change_admin(c: &Caller<'_>, p: GroupMember) -> Result<()> {
    let (group, member) = (p.group_id.get()?, p.member.get()?);
    groups::change_admin(&c.ctx.core, c.me(), group, member, c.origin.clone()).await?;
    Ok(())
}

/// Any member but the admin may leave (the admin hands the right over first).
pub async fn leave_group(c: &Caller<'_>, p: GroupRef) -> Result<()> {
    groups::leave(&c.ctx.core, c.me(), p.group_id.get()?, c.origin.clone()).await?;
    Ok(())
}

pub async fn delete_group(c: &Caller<'_>, p: GroupRef) -> Result<()> {
    groups::delete_group(&c.ctx.core, c.me(), p.group_id.get()?, c.origin.clone()).await?;
    Ok(())
}
