//! expresschat's handshake: tokens from cookies (web) or query (Android), never a
//! rejected handshake (`auth-failure` after connect instead), the optional
//! `access-token`, then the three greeting events in order before any event of the
//! client is handled.

use std::sync::Arc;

use serde_json::json;
use socketioxide::extract::SocketRef;

use super::{Ctx, realtime, wire::*};
use crate::core::{
    Result, conversations, identity::accounts, identity::auth, model::Kind, presence,
};
use crate::transport::socketio::{self, emit};

/// The authenticated user of a socket, set by the handshake.
#[derive(Clone, Debug)]
struct Session {
    /// The user as the handshake read it (names never change), so that the
    /// greeting and each message need not read it again.
    user: Arc<entity::users::Model>,
    /// A fresh access token, when the handshake's one had expired.
    new_access: Option<String>,
}

pub fn register(ctx: Arc<Ctx>) {
    let io = ctx.io.clone();
    let for_mw = ctx.clone();
    let handler = move |socket: SocketRef| {
        let ctx = ctx.clone();
        async move { connected(ctx, socket).await }
    };
    let middleware = move |socket: SocketRef| {
        let ctx = for_mw.clone();
        async move {
            handshake(&ctx, &socket).await;
            Ok::<(), std::convert::Infallible>(())
        }
    };
    io.ns(
        "/",
        socketioxide::handler::ConnectHandler::with(handler, middleware),
    );
}

/// Reads the tokens from cookies or query, never rejects: a failed handshake is
/// answered after connect with `auth-failure` (what the original client expects).
async fn handshake(ctx: &Ctx, socket: &SocketRef) {
    let parts = socket.req_parts();
    let mut access = None;
    let mut refresh = None;
    for header in parts.headers.get_all(axum::http::header::COOKIE) {
        for c in cookie::Cookie::split_parse(header.to_str().unwrap_or_default()).flatten() {
            match c.name() {
                "access_token" => access = Some(c.value().to_owned()),
                "refresh_token" => refresh = Some(c.value().to_owned()),
                _ => {}
            }
        }
    }
    if let Some(q) = parts.uri.query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "accessToken" if access.is_none() => access = Some(v.into_owned()),
                "refreshToken" if refresh.is_none() => refresh = Some(v.into_owned()),
                _ => {}
            }
        }
    }
    // (user id, fresh access token if one was minted)
    let verified = match access.as_deref().map(|t| auth::verify_access(&ctx.core, t)) {
        Some(Ok(user_id)) => Some((user_id, None)),
        // An expired (or absent) access token with a good refresh token: mint a
        // new access token and tell the client (`access-token`).
        Some(Err(auth::AccessError::Expired)) | None => match refresh {
            Some(r) => auth::access_from_refresh(&ctx.core, &r)
                .await
                .ok()
                .map(|(user_id, token)| (user_id, Some(token))),
            None => None,
        },
        Some(Err(auth::AccessError::Invalid)) => None,
    };
    // The user must still exist and be verified.
    let session = match verified {
        Some((user_id, new_access)) => match accounts::get(&ctx.core, user_id).await {
            Ok(u) if u.email_verified => Some(Session {
                user: Arc::new(u),
                new_access,
            }),
            _ => None,
        },
        None => None,
    };
    if let Some(s) = session {
        socket.join(socketio::user_room(s.user.id));
        socket.extensions.insert(s);
        socketio::prepare_inbox(socket, ctx.inbox_capacity);
    }
}

async fn connected(ctx: Arc<Ctx>, socket: SocketRef) {
    let Some(Session { user, new_access }) = socket.extensions.get::<Session>() else {
        emit(
            &socket,
            "auth-failure",
            &json!({"reason": "Authentication failed"}),
        );
        let _ = socket.disconnect();
        return;
    };
    metrics::gauge!("chatwire_connections", "profile" => "expresschat").increment(1.0);
    let dctx = ctx.clone();
    socket.on_disconnect(async move |s: SocketRef| {
        socketio::close_inbox(&s);
        metrics::gauge!("chatwire_connections", "profile" => "expresschat").decrement(1.0);
        if let Some(sess) = s.extensions.get::<Session>() {
            let _ = presence::disconnected(&dctx.core, sess.user.id).await;
        }
    });
    if let Some(token) = &new_access {
        emit(&socket, "access-token", &json!({"accessToken": token}));
    }
    if let Err(e) = greet(&ctx, &socket, &user).await {
        tracing::debug!(error = %e, "expresschat greeting failed");
    }
    let _ = presence::connected(&ctx.core, user.id).await;
    let wctx = ctx.clone();
    socketio::start_inbox(&socket, "expresschat", move |job| {
        let ctx = wctx.clone();
        let user = user.clone();
        async move { realtime::handle(&ctx, &user, job).await }
    });
}

/// Puts the socket in the rooms of its user's chats (`conv:{id}`; render.rs
/// keeps them up to date from then on). A membership change whose room update was
/// rendered between the listing and this join would be missed, so when any
/// membership changed meanwhile (the member cache's generation moved) the chats
/// are listed again and the rooms corrected.
async fn join_chat_rooms(
    ctx: &Ctx,
    socket: &SocketRef,
    me: i64,
    listed: &[i64],
    generation: u64,
) -> Result<()> {
    socket.join(
        listed
            .iter()
            .map(|&c| socketio::conv_room(c))
            .collect::<Vec<_>>(),
    );
    if ctx.core.members.generation() == generation {
        return Ok(());
    }
    let now: Vec<i64> = conversations::list_for_user(&ctx.core, me, &[Kind::Direct, Kind::Group])
        .await?
        .into_iter()
        .map(|s| s.conversation.id)
        .collect();
    let gone: Vec<String> = listed
        .iter()
        .filter(|c| !now.contains(c))
        .map(|&c| socketio::conv_room(c))
        .collect();
    socket.leave(gone);
    socket.join(
        now.iter()
            .map(|&c| socketio::conv_room(c))
            .collect::<Vec<_>>(),
    );
    Ok(())
}

/// The three events after connect, in order.
async fn greet(ctx: &Ctx, socket: &SocketRef, user: &entity::users::Model) -> Result<()> {
    let me = user.id;
    emit(
        socket,
        "user-id",
        &json!({"userId": user_id(me), "userName": user.name}),
    );
    // One listing for both kinds (the database once), split here.
    let generation = ctx.core.members.generation();
    let (direct, groups): (Vec<_>, Vec<_>) =
        conversations::list_for_user(&ctx.core, me, &[Kind::Direct, Kind::Group])
            .await?
            .into_iter()
            .partition(|s| s.conversation.kind == Kind::Direct.as_str());
    let listed: Vec<i64> = direct
        .iter()
        .chain(&groups)
        .map(|s| s.conversation.id)
        .collect();
    join_chat_rooms(ctx, socket, me, &listed, generation).await?;
    let personal: Vec<PersonalChatEntry> = direct
        .into_iter()
        .map(|s| PersonalChatEntry {
            id: chat_id(s.conversation.id),
            last_chat: timestamp(conversations::last_activity(&s.conversation)),
            partner: s.partner.map(|p| p.1).unwrap_or_default(),
            unread: s.unread,
        })
        .collect();
    emit(
        socket,
        "personal-chat-list",
        &json!({"PersonalChatList": personal}),
    );
    let groups: Vec<GroupChatEntry> = groups
        .into_iter()
        .map(|s| GroupChatEntry {
            id: chat_id(s.conversation.id),
            name: s.conversation.name.clone().unwrap_or_default(),
            last_chat: timestamp(conversations::last_activity(&s.conversation)),
            unread: s.unread,
        })
        .collect();
    emit(socket, "group-chat-list", &json!({"GroupChatList": groups}));
    Ok(())
}
