//! Accepting an expresschat connection: tokens from cookies (web) or query
//! (Android), never a rejected handshake (`auth-failure` after connect instead),
//! the optional `access-token`, then the three greeting events in order before
//! any event of the client is handled (they wait in the socket's inbox).

use std::sync::Arc;

use socketioxide::{extract::SocketRef, socket::DisconnectReason};

use super::{Ctx, SPACE, events, wire::*};
use crate::core::{Result, conversations, identity::auth, model::Kind, presence};
use crate::profiles::kit;
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

/// Registers namespace `/`: the handshake as its connect middleware, then
/// [`connected`].
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

/// Reads the tokens and, when they name a user, stores the session and opens the
/// socket's inbox. Never rejects: a socket without a session is answered after
/// connect with `auth-failure` (what the original client listens for).
async fn handshake(ctx: &Ctx, socket: &SocketRef) {
    let (access, refresh) = credentials(socket);
    if let Some(s) = authenticate(ctx, access, refresh).await {
        let me = s.user.id;
        socketio::join(socket, [socketio::user_room(me)]);
        socket.extensions.insert(s);
        socketio::prepare_inbox(socket, ctx.inbox_capacity);
        // Read here, before the CONNECT packet goes out, so that the connect
        // handler writes the whole greeting right behind it without waiting:
        // one WebSocket write for the four frames instead of one per await.
        let generation = ctx.core.members.generation();
        match conversations::list_for_user(&ctx.core, me, &[Kind::Direct, Kind::Group]).await {
            Ok(chats) => {
                socket.extensions.insert(Chats { generation, chats });
            }
            Err(e) => tracing::debug!(error = %e, "expresschat greeting: chat list failed"),
        }
    }
}

/// The user's chats as the handshake listed them, for the greeting (taken out
/// of the socket's extensions by [`connected`]). `generation` is the member
/// cache's before the listing (see [`join_chat_rooms`]).
#[derive(Clone)]
struct Chats {
    generation: u64,
    chats: Vec<conversations::Summary>,
}

/// The access and refresh tokens: cookies (the web client), else the query
/// (`accessToken` / `refreshToken`, the Android client).
fn credentials(socket: &SocketRef) -> (Option<String>, Option<String>) {
    let parts = socket.req_parts();
    let access = kit::cookie(&parts.headers, "access_token")
        .or_else(|| kit::query_param(&parts.uri, "accessToken"));
    let refresh = kit::cookie(&parts.headers, "refresh_token")
        .or_else(|| kit::query_param(&parts.uri, "refreshToken"));
    (access, refresh)
}

/// The session of a good access token, or of a good refresh token when the
/// access token has expired or is absent (with a new access token for the
/// client). Both must be of this profile's space, and the user must still
/// exist, be of that space and be verified.
async fn authenticate(
    ctx: &Ctx,
    access: Option<String>,
    refresh: Option<String>,
) -> Option<Session> {
    let checked = match access.as_deref() {
        Some(t) => Some(auth::access_user(&ctx.core, SPACE, t).await),
        None => None,
    };
    let (user, new_access) = match checked {
        Some(Ok(user)) => (user, None),
        Some(Err(auth::AccessError::Expired)) | None => {
            let (user, token) = auth::access_from_refresh(&ctx.core, SPACE, &refresh?)
                .await
                .ok()?;
            (user, Some(token))
        }
        Some(Err(auth::AccessError::Invalid | auth::AccessError::Failed(_))) => return None,
    };
    if !user.email_verified {
        return None;
    }
    Some(Session {
        user: Arc::new(user),
        new_access,
    })
}

async fn connected(ctx: Arc<Ctx>, socket: SocketRef) {
    let Some(Session { user, new_access }) = socket.extensions.get::<Session>() else {
        let failure = AuthFailure {
            reason: "Authentication failed",
        };
        emit(&socket, "auth-failure", &failure);
        let _ = socket.disconnect();
        return;
    };
    metrics::gauge!("chatwire_connections", "profile" => "expresschat").increment(1.0);
    let dctx = ctx.clone();
    socket.on_disconnect(async move |s: SocketRef, reason: DisconnectReason| {
        socketio::close_inbox(&s, reason);
        metrics::gauge!("chatwire_connections", "profile" => "expresschat").decrement(1.0);
        if let Some(sess) = s.extensions.get::<Session>() {
            let _ = presence::disconnected(&dctx.core, sess.user.id).await;
        }
    });
    if let Some(token) = &new_access {
        emit(
            &socket,
            "access-token",
            &AccessToken {
                access_token: token,
            },
        );
    }
    let chats = socket.extensions.remove::<Chats>();
    if let Err(e) = greet(&ctx, &socket, &user, chats).await {
        tracing::debug!(error = %e, "expresschat greeting failed");
    }
    let _ = presence::connected(&ctx.core, user.id).await;
    let wctx = ctx.clone();
    socketio::start_pipelined_inbox(&socket, "expresschat", events::pipelined, move |job| {
        let ctx = wctx.clone();
        let user = user.clone();
        async move { events::handle(&ctx, &user, job).await }
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
    socketio::join(socket, listed.iter().map(|&c| socketio::conv_room(c)));
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
    socketio::leave(socket, gone);
    socketio::join(socket, now.iter().map(|&c| socketio::conv_room(c)));
    Ok(())
}

/// The three events after connect, in order; the chat lists only when the
/// handshake could list the chats (`chats`).
async fn greet(
    ctx: &Ctx,
    socket: &SocketRef,
    user: &entity::users::Model,
    chats: Option<Chats>,
) -> Result<()> {
    let me = user.id;
    let hello = UserIdOut {
        user_id: user_id(me),
        user_name: &user.name,
    };
    emit(socket, "user-id", &hello);
    let Some(Chats { generation, chats }) = chats else {
        return Ok(());
    };
    // One listing for both kinds (the database once), split here.
    let (direct, groups): (Vec<_>, Vec<_>) = chats
        .into_iter()
        .partition(|s| s.conversation.kind == Kind::Direct.as_str());
    let listed: Vec<i64> = direct
        .iter()
        .chain(&groups)
        .map(|s| s.conversation.id)
        .collect();
    join_chat_rooms(ctx, socket, me, &listed, generation).await?;
    let personal_chat_list = direct
        .into_iter()
        .map(|s| PersonalChatEntry {
            id: chat_id(s.conversation.id),
            last_chat: kit::timestamp(conversations::last_activity(&s.conversation)),
            partner: s.partner.map(|p| p.1).unwrap_or_default(),
            unread: s.unread,
        })
        .collect();
    emit(
        socket,
        "personal-chat-list",
        &PersonalChatList { personal_chat_list },
    );
    let group_chat_list = groups
        .into_iter()
        .map(|s| GroupChatEntry {
            id: chat_id(s.conversation.id),
            name: s.conversation.name.clone().unwrap_or_default(),
            last_chat: kit::timestamp(conversations::last_activity(&s.conversation)),
            unread: s.unread,
        })
        .collect();
    emit(
        socket,
        "group-chat-list",
        &GroupChatList { group_chat_list },
    );
    Ok(())
}
