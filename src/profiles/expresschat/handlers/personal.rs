//! Personal chats and the self chat: `check-chat`, `create-personal-chat`,
//! `fetch-personal-chat`, `fetch-self-chat`.

use super::{Caller, history_page, open_chat, partner, read_status};
use crate::core::{Result, conversations, identity::accounts, messages, model::Kind};
use crate::profiles::{
    expresschat::wire::*,
    kit::{self, PageAsk},
};

pub async fn check_chat(c: &Caller<'_>, p: Receiver) -> Result<()> {
    let other = partner(c, p.receiver).await?;
    let found = conversations::find_direct(&c.ctx.core, c.me(), other.id).await?;
    let check = ChatCheck {
        exists: u8::from(found.is_some()),
        chat_id: found.map(|conv| chat_id(conv.id)),
        partner: other.name,
    };
    c.answer("create-chat-result", &check);
    Ok(())
}

/// Opens the chat; both partners hear of a new one from the bus (`render.rs`).
pub async fn create_personal_chat(c: &Caller<'_>, p: Receiver) -> Result<()> {
    let other = partner(c, p.receiver).await?;
    let mine = accounts::get(&c.ctx.core, c.me()).await?;
    let (conv, created) =
        conversations::open_direct(&c.ctx.core, &mine, other.id, c.origin.clone()).await?;
    if !created {
        // Already there: answer the asker only; the partner knows the chat.
        let opened = PersonalChatOpened {
            chat_id: chat_id(conv.id),
            partner: &other.name,
        };
        c.answer("create-personal-chat-creator", &opened);
    }
    Ok(())
}

/// A page of the chat (the newest without `After` / `Before`), newest first (the
/// client's `Partner` is a name it knows already; the answer carries the
/// server's).
pub async fn fetch_personal_chat(c: &Caller<'_>, p: ChatRef, page: PageAsk) -> Result<()> {
    let chat = open_chat(c, p.chat_id, Kind::Direct, &page).await?;
    let name_of = |mine: bool| {
        chat.members
            .iter()
            .find(|m| (m.user_id == c.me()) == mine)
            .map(|m| m.name.clone())
            .unwrap_or_default()
    };
    let (user, partner) = (name_of(true), name_of(false));
    let messages = chat
        .history
        .into_iter()
        .map(|m| PersonalMessage {
            id: message_id(m.id),
            sender: user_id(m.sender_id),
            read_status: read_status(&chat.members, m.sender_id, m.seq),
            content: m.content,
            timestamp: kit::timestamp(m.created_at),
        })
        .collect();
    let answer = PersonalChat {
        messages,
        user_id: user_id(c.me()),
        user,
        partner,
    };
    c.answer("personal-chat", &answer);
    Ok(())
}

pub async fn fetch_self_chat(c: &Caller<'_>, page: PageAsk) -> Result<()> {
    let core = &c.ctx.core;
    let (cursor, limit) = history_page(c, &page)?;
    let conv = conversations::self_chat(core, c.me()).await?;
    let user = accounts::get(core, c.me()).await?;
    let messages = messages::history(core, &conv, cursor, limit)
        .await?
        .into_iter()
        .map(|m| SelfMessage {
            id: message_id(m.id),
            content: m.content,
            timestamp: kit::timestamp(m.created_at),
        })
        .collect();
    let answer = SelfChat {
        messages,
        name: user.name,
    };
    c.answer("self-chat", &answer);
    Ok(())
}
