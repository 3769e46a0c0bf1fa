//! calls' signalling events: `call:initiate`, `call:respond`, `call:end`. The
//! state machine is `core::calls`; both parties hear of every change through the
//! bus (`render.rs`). An unreachable callee is answered with `call:failed`.

use entity::users;
use socketioxide::extract::SocketRef;

use crate::core::{Error, Result, calls};
use crate::profiles::calls::{
    Ctx,
    wire::{Ack, CallFailed, CallOffer, Done, EndCall, Initiate, Respond},
};
use crate::transport::socketio::emit;

/// `call:initiate {to, callType}` => `call:initiated` (also the ack), or
/// `call:failed {message, reason:"user_unavailable"}` to the asking socket when
/// the callee cannot ring (unknown, or with no joined calls socket).
pub async fn initiate(ctx: &Ctx, me: &users::Model, s: &SocketRef, p: Initiate) -> Result<Ack> {
    let kind = p.call_type()?;
    let callee = p.to.get("user");
    // Counted before the callee is looked at: probing who is online costs too.
    ctx.calls.take(&me.id).await?;
    let result = match callee {
        Ok(to) => calls::initiate(&ctx.core, me, to, kind, ctx.ring_timeout).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(call) => Ok(Ack::Offer(CallOffer::new(&call, &ctx.jitsi_domain, false))),
        Err(Error::UserNotConnected) | Err(Error::NotFound(_)) => {
            let failed = CallFailed::unavailable(p.to);
            emit(s, "call:failed", &failed);
            Ok(Ack::Failed(failed))
        }
        Err(e) => Err(e),
    }
}

/// `call:respond {callId, response:"accept"|"reject", to}`; only the callee may.
pub async fn respond(ctx: &Ctx, me: &users::Model, p: Respond) -> Result<Done> {
    calls::respond(&ctx.core, me.id, &p.call_id, p.accepts()?).await?;
    Ok(Done::OK)
}

/// `call:end {callId, to}`; either party may, ringing or accepted.
pub async fn end(ctx: &Ctx, me: &users::Model, p: EndCall) -> Result<Done> {
    calls::end(&ctx.core, me.id, &p.call_id).await?;
    Ok(Done::OK)
}
