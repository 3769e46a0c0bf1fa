//! calls' signalling events: `call:initiate`, `call:respond`, `call:end`. The
//! state machine is `core::calls`; both parties hear of every change through the
//! bus (`render.rs`). An unreachable callee is answered with `call:failed`.

use entity::users;
use serde_json::{Value, json};

use super::{Ctx, realtime::payload, wire::*};
use crate::core::{Error, Result, calls};
use crate::transport::socketio::{Inbound, emit};

/// `call:initiate {to, callType}` => `call:initiated` (also the ack), or
/// `call:failed {message, reason:"user_unavailable"}` when the callee cannot ring.
pub async fn initiate(ctx: &Ctx, me: &users::Model, job: &Inbound) -> Result<Value> {
    let p: Initiate = payload(job)?;
    let kind = call_type(&p.call_type)?;
    let callee = p.to.num("user");
    ctx.calls.check(&me.id)?;
    let result = match callee {
        Ok(to) => calls::initiate(&ctx.core, me, to, kind, ctx.ring_timeout).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(call) => serde_json::to_value(CallOffer::new(&call, &ctx.jitsi_domain, false))
            .map_err(Error::internal),
        Err(Error::UserNotConnected) | Err(Error::NotFound(_)) => {
            let failed = json!({
                "message": "User is not available",
                "reason": "user_unavailable",
                "to": p.to.0,
            });
            emit(&job.socket, "call:failed", &failed);
            Ok(failed)
        }
        Err(e) => Err(e),
    }
}

/// `call:respond {callId, response:"accept"|"reject", to}`; only the callee may.
pub async fn respond(ctx: &Ctx, me: &users::Model, job: &Inbound) -> Result<Value> {
    let p: Respond = payload(job)?;
    let accept = match p.response.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(Error::invalid("response must be accept or reject")),
    };
    calls::respond(&ctx.core, me.id, &p.call_id.0, accept).await?;
    Ok(json!({"success": true}))
}

/// `call:end {callId, to}`; either party may, ringing or accepted.
pub async fn end(ctx: &Ctx, me: &users::Model, job: &Inbound) -> Result<Value> {
    let p: EndCall = payload(job)?;
    calls::end(&ctx.core, me.id, &p.call_id.0).await?;
    Ok(json!({"success": true}))
}
