//! Cluster mode: the live call state in Redis (`core::cluster`), so that any node
//! can act on any call. The same state machine as the one-process path in
//! `mod.rs`; where that one uses the maps of `live.rs`, this one uses Redis:
//! - who can ring: calls endpoints per user per node (a dead node's are forgotten
//!   by the heartbeat sweep);
//! - who is busy: `chatwire:busy:{user}` (reserved all-or-nothing, so busy
//!   detection holds across nodes);
//! - the live calls, and their ring deadlines in one sorted set: every node looks
//!   for due rings four times a second and exactly one fires each, so a ringing
//!   call still times out when the caller's node died;
//! - a party whose last calls endpoint was on a dead node ends their accepted call
//!   with `network_error` (a ringing one times out as usual).
//!
//! Redis unreachable: starting, answering and ending calls fail with `INTERNAL`
//! until it is back (reachability falls back to this node's own connections).

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use entity::users;

use super::{
    CallInfo, CallType, EndReason, Live, Status, finish, insert_row, parse_handle, publish,
};
use crate::core::cluster::Cluster;
use crate::core::model::CallChange;
use crate::core::{Core, CoreRef, Error, Result};

fn failed(op: &'static str) -> impl FnOnce(redis::RedisError) -> Error {
    move |e| {
        metrics::counter!("chatwire_redis_errors_total", "op" => op).increment(1);
        tracing::error!(op, error = %e, "Redis unavailable: call not handled");
        Error::Internal
    }
}

/// Whether `user` has a connection able to ring on any node.
pub(super) async fn reachable(core: &Core, c: &Cluster, user: i64) -> bool {
    match c.endpoints_count(user).await {
        Ok(n) => n > 0,
        Err(_) => core.calls.is_reachable(user),
    }
}

pub(super) async fn initiate(
    core: &CoreRef,
    c: &Cluster,
    caller: &users::Model,
    callee: users::Model,
    kind: CallType,
    ring_timeout: Duration,
) -> Result<CallInfo> {
    if c.call_of(caller.id)
        .await
        .map_err(failed("call_of"))?
        .is_some()
    {
        return Err(Error::CallInProgress);
    }
    if !reachable(core, c, callee.id).await {
        insert_row(
            core,
            caller.id,
            callee.id,
            kind,
            Some(EndReason::UserUnavailable),
        )
        .await?;
        return Err(Error::UserNotConnected);
    }
    if !c
        .call_reserve(caller.id, callee.id)
        .await
        .map_err(failed("call_reserve"))?
    {
        return Err(Error::CallInProgress);
    }
    let row = match insert_row(core, caller.id, callee.id, kind, None).await {
        Ok(r) => r,
        Err(e) => {
            let _ = c.call_release([caller.id, callee.id], 0).await;
            return Err(e);
        }
    };
    let info = CallInfo::from_row(row, caller.name.clone(), callee.name.clone());
    if let Err(e) = c.call_start(&info, ring_timeout).await {
        let _ = c.call_release([caller.id, callee.id], 0).await;
        let live = Live {
            info: info.clone(),
            timer: None,
        };
        finish(core, live, None, EndReason::NetworkError).await;
        return Err(failed("call_start")(e));
    }
    publish(core, &info, CallChange::Ringing);
    // A party whose last connection closed while the call was being set up.
    for u in [caller.id, callee.id] {
        if !reachable(core, c, u).await
            && let Ok(Some(info)) = c.call_take(info.id, None, None).await
        {
            let live = Live { info, timer: None };
            finish(core, live, Some(u), EndReason::NetworkError).await;
        }
    }
    Ok(info)
}

/// Checks that `user` may act on the live call named by `handle`.
async fn check(c: &Cluster, user: i64, handle: &str) -> Result<CallInfo> {
    let id = parse_handle(handle)?;
    let info = c
        .call_get(id)
        .await
        .map_err(failed("call_get"))?
        .ok_or(Error::NotFound("call"))?;
    if info.handle() != handle {
        return Err(Error::NotFound("call"));
    }
    if !info.is_party(user) {
        return Err(Error::PermissionDenied("you are not a party to this call"));
    }
    Ok(info)
}

/// Why a party cannot answer a live call.
async fn not_answerable(c: &Cluster, id: i64, user: i64) -> Error {
    match c.call_get(id).await {
        Ok(None) => Error::NotFound("call"),
        Ok(Some(info)) if info.callee_id != user => {
            Error::PermissionDenied("only the called user can answer")
        }
        Ok(Some(_)) => Error::invalid("the call is not ringing"),
        Err(e) => failed("call_get")(e),
    }
}

pub(super) async fn respond(
    core: &Core,
    c: &Cluster,
    user: i64,
    handle: &str,
    accept: bool,
) -> Result<CallInfo> {
    let id = check(c, user, handle).await?.id;
    if !accept {
        return match c
            .call_take(id, Some(Status::Ringing.as_str()), Some(user))
            .await
            .map_err(failed("call_take"))?
        {
            Some(info) => {
                let live = Live { info, timer: None };
                Ok(finish(core, live, Some(user), EndReason::Rejected).await)
            }
            None => Err(not_answerable(c, id, user).await),
        };
    }
    let now = Utc::now();
    let Some(info) = c
        .call_accept(id, user, now)
        .await
        .map_err(failed("call_accept"))?
    else {
        return Err(not_answerable(c, id, user).await);
    };
    super::accepted(core, &info, user, now).await?;
    Ok(info)
}

pub(super) async fn end(core: &Core, c: &Cluster, user: i64, handle: &str) -> Result<CallInfo> {
    let id = check(c, user, handle).await?.id;
    let info = c
        .call_take(id, None, None)
        .await
        .map_err(failed("call_take"))?
        .ok_or(Error::NotFound("call"))?;
    let live = Live { info, timer: None };
    Ok(finish(core, live, Some(user), EndReason::UserEnded).await)
}

pub(super) async fn endpoint_opened(c: &Cluster, user: i64) {
    if let Err(e) = c.endpoints_up(user).await {
        metrics::counter!("chatwire_redis_errors_total", "op" => "endpoints_up").increment(1);
        tracing::warn!(error = %e, "Redis unavailable: calls endpoint counted on this node only");
    }
}

/// A calls endpoint closed (this node's count already moved; `last_here` says
/// whether it was the user's last one here). The user's last one anywhere ends
/// their call.
pub(super) async fn endpoint_closed(core: &Core, c: &Cluster, user: i64, last_here: bool) {
    let last = match c.endpoints_down(user).await {
        Ok(n) => n <= 0,
        Err(_) => last_here,
    };
    if last {
        end_call_of(core, c, user, None).await;
    }
}

/// Ends the call `user` is in (only when in `status`, if given) with
/// `network_error`, by `user`.
async fn end_call_of(core: &Core, c: &Cluster, user: i64, status: Option<&str>) {
    let Ok(Some(id)) = c.call_of(user).await else {
        return;
    };
    if id == 0 {
        return;
    }
    if let Ok(Some(info)) = c.call_take(id, status, None).await {
        let live = Live { info, timer: None };
        finish(core, live, Some(user), EndReason::NetworkError).await;
    }
}

/// Cluster mode: fires due rings (whichever node finds them first), ends the
/// accepted calls of users whose last calls endpoint died with its node, and
/// writes this node's endpoints to Redis again after a reconnect. Runs until
/// `stop` fires.
pub async fn keep_cluster(core: CoreRef, stop: tokio_util::sync::CancellationToken) {
    let Some(c) = core.cluster.clone() else {
        return;
    };
    let c: Arc<Cluster> = c;
    let mut synced_epoch = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if !c.redis_up() {
            continue;
        }
        let epoch = c.epoch();
        if epoch != synced_epoch {
            match c.resync_endpoints(&core.calls.endpoint_snapshot()).await {
                Ok(()) => synced_epoch = epoch,
                Err(e) => tracing::warn!(error = %e, "calls endpoints not written to Redis"),
            }
        }
        if let Ok(due) = c.calls_due().await {
            for id in due {
                let ringing = c.call_take(id, Some(Status::Ringing.as_str()), None).await;
                if let Ok(Some(info)) = ringing {
                    let live = Live { info, timer: None };
                    finish(&core, live, None, EndReason::Timeout).await;
                }
            }
        }
        if let Ok(orphans) = c.call_orphans().await {
            for user in orphans {
                if reachable(&core, &c, user).await {
                    continue;
                }
                end_call_of(&core, &c, user, Some(Status::Accepted.as_str())).await;
            }
        }
    }
}
