//! orgchat's event table, shared by both transports: each event's payload is
//! parsed into its typed shape, checked against the connection's user, and handed
//! to one core service. What the room or the invitees see is rendered from the
//! bus (`render.rs`); the asking connection gets only errors (and, on Socket.IO,
//! an acknowledgement when it asked for one).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::extract::SocketRef;

use super::{Ctx, wire::*};
use crate::core::{
    Error, Result,
    bus::ConnId,
    conversations::rooms::org as rooms,
    identity::organizations::{self, Member},
    messages::reactions,
};
use crate::transport::ws;

/// Every event a client may send.
pub const EVENTS: [&str; 9] = [
    "joinRoom",
    "leaveRoom",
    "sendMessage",
    "newChatRoom",
    "typing",
    "stopTyping",
    "reactMessage",
    "readMessage",
    "deleteMessage",
];

/// The connection an event came from, whichever transport carries it.
pub enum Link<'a> {
    Raw(&'a Arc<ws::Conn>),
    Sio(&'a SocketRef),
}

/// The Socket.IO room of an orgchat room's live feed.
pub fn sio_room(room: i64) -> String {
    format!("room:{room}")
}

impl Link<'_> {
    fn origin(&self) -> ConnId {
        match self {
            Link::Raw(c) => c.conn_id(),
            Link::Sio(s) => ConnId(s.id.to_string()),
        }
    }

    fn attach(&self, ctx: &Ctx, room: i64) {
        match self {
            Link::Raw(c) => ctx.hub.join(c, room),
            Link::Sio(s) => s.join(sio_room(room)),
        }
    }

    /// Leaves the room's live feed; false when the connection had not joined it.
    fn detach(&self, ctx: &Ctx, room: i64) -> bool {
        match self {
            Link::Raw(c) => {
                let joined = c.in_room(room);
                ctx.hub.leave(c, room);
                joined
            }
            Link::Sio(s) => {
                let name = sio_room(room);
                let joined = s.rooms().iter().any(|r| *r == name);
                s.leave(name);
                joined
            }
        }
    }
}

/// Handles one event of user `me`; the value is the Socket.IO acknowledgement.
pub async fn handle(
    ctx: &Ctx,
    link: &Link<'_>,
    me: i64,
    event: &str,
    data: std::result::Result<Value, String>,
) -> Result<Value> {
    if !EVENTS.contains(&event) {
        return Err(Error::invalid(format!("Unknown event: {event}")));
    }
    // Loaded per event: a role change or a removed account applies at once.
    let actor = organizations::member(&ctx.core, me).await?;
    let origin = Some(link.origin());
    let core = &ctx.core;
    match event {
        "joinRoom" | "leaveRoom" => {
            let p: RoomData = payload(event, data)?;
            same_user(&actor, p.user_id)?;
            let room = p.room_id.get("room")?;
            let conv = if event == "joinRoom" {
                rooms::join(core, &actor, room, origin, |id| link.attach(ctx, id)).await?
            } else {
                rooms::leave(core, &actor, room, origin, |id| link.detach(ctx, id)).await?
            };
            Ok(json!({"roomId": conv.id}))
        }
        "typing" | "stopTyping" => {
            let p: RoomData = payload(event, data)?;
            same_user(&actor, p.user_id)?;
            let room = p.room_id.get("room")?;
            rooms::typing(core, &actor, room, event == "typing", origin).await?;
            Ok(json!({"roomId": room}))
        }
        "sendMessage" => {
            let p: SendMessageData = payload(event, data)?;
            same_user(&actor, p.user_id)?;
            let encrypt = ctx.encrypt_all || p.is_encrypted.unwrap_or(false);
            let room = p.room_id.get("room")?;
            let m = rooms::send(core, &actor, room, &p.content, encrypt, origin).await?;
            Ok(json!(MessageRow::from(&m)))
        }
        "newChatRoom" => new_chat_room(ctx, &actor, payload(event, data)?, origin).await,
        "reactMessage" => {
            let p: ReactData = payload(event, data)?;
            same_user(&actor, p.user_id)?;
            let id = p.message_id.get("message")?;
            reactions::react(core, &actor, id, &p.reaction, origin).await?;
            Ok(json!({"messageId": id}))
        }
        "readMessage" => {
            let p: ReadData = payload(event, data)?;
            same_user(&actor, p.user_id)?;
            let id = p.message_id.get("message")?;
            rooms::read_message(core, &actor, id, origin).await?;
            Ok(json!({"messageId": id}))
        }
        "deleteMessage" => {
            let p: DeleteData = payload(event, data)?;
            same_user(&actor, p.user_id)?;
            let room = p.room_id.map(|r| r.get("room")).transpose()?;
            let id = p.message_id.get("message")?;
            rooms::delete_message(core, &actor, room, id, origin).await?;
            Ok(json!({"messageId": id}))
        }
        _ => Err(Error::invalid(format!("Unknown event: {event}"))),
    }
}

async fn new_chat_room(
    ctx: &Ctx,
    actor: &Member,
    p: NewChatRoomData,
    origin: Option<ConnId>,
) -> Result<Value> {
    same_user(actor, p.user_id)?;
    let invitees = p
        .invited_users
        .iter()
        .map(|u| u.get("user"))
        .collect::<Result<Vec<_>>>()?;
    let claimed_org = p
        .organization_id
        .map(|o| o.get("organization"))
        .transpose()?;
    let room = p.room_id.map(|r| r.get("room")).transpose()?;
    let name = p.room_name.unwrap_or_default();
    if room.is_none() && name.trim().is_empty() {
        return Err(Error::invalid(
            "Invalid data for newChatRoom: roomName is required",
        ));
    }
    let conv = rooms::invite(
        &ctx.core,
        actor,
        room,
        &name,
        &invitees,
        claimed_org,
        origin,
    )
    .await?;
    Ok(json!({
        "roomId": conv.id,
        "roomName": conv.name,
        "organizationId": conv.organization_id,
    }))
}

/// A `userId` in a payload must be the connection's own user: the sender is the
/// token's user, never the payload's.
fn same_user(actor: &Member, claimed: Option<Id>) -> Result<()> {
    match claimed {
        Some(Id(Some(id))) if id == actor.id() => Ok(()),
        None => Ok(()),
        Some(_) => Err(Error::PermissionDenied(
            "userId does not match the authenticated user",
        )),
    }
}

/// Parses an event's `data` into its typed shape; a missing, null or mistyped
/// payload is `InvalidData` naming the event and the field.
fn payload<T: DeserializeOwned>(
    event: &str,
    data: std::result::Result<Value, String>,
) -> Result<T> {
    let v = data.map_err(|e| Error::invalid(format!("Invalid data for {event}: {e}")))?;
    if v.is_null() {
        return Err(Error::invalid(format!(
            "Invalid data for {event}: data is required"
        )));
    }
    serde_json::from_value(v).map_err(|e| Error::invalid(format!("Invalid data for {event}: {e}")))
}
