//! Calls: the voice/video signalling state machine (ringing -> accepted or
//! rejected -> ended, with timeouts, busy checks and network failures), the live
//! state in memory (`live.rs`), and every call persisted with its duration and end
//! reason. What a call looks like to the profiles is in `core/model.rs`.
//!
//! A call is named by its *handle* `{id}_{secret}`; the Jitsi room is
//! `call_{handle}`. The secret keeps rooms on a public Jitsi server unguessable
//! (plain sequential ids would let anyone join `call_7`).

mod live;
mod shared;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use entity::{calls, users};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait, sea_query::Expr,
};

pub use crate::core::model::{CallChange, CallEvent, CallInfo, CallType, EndReason, Status};
pub use live::Calls;
use live::{Live, parse_handle};
pub use shared::keep_cluster;

use super::bus::{Audience, EventKind};
use super::identity::accounts;
use super::{Core, CoreRef, Error, Result};

/// The callee as the caller may reach them: same (organization-less) space,
/// verified, not the caller.
async fn peer(core: &Core, caller: &users::Model, callee: i64) -> Result<users::Model> {
    if callee == caller.id {
        return Err(Error::invalid("you cannot call yourself"));
    }
    let u = accounts::get(core, callee).await?;
    if u.organization_id != caller.organization_id || !u.email_verified {
        return Err(Error::NotFound("user"));
    }
    Ok(u)
}

/// Starts a call from `caller` to `callee`: it rings on every connection of the
/// callee until answered or `ring_timeout` passes. An unreachable callee is
/// `UserNotConnected` (the attempt is kept as a failed call); a busy party is
/// `CallInProgress`.
pub async fn initiate(
    core: &CoreRef,
    caller: &users::Model,
    callee: i64,
    kind: CallType,
    ring_timeout: Duration,
) -> Result<CallInfo> {
    let callee = peer(core, caller, callee).await?;
    if let Some(c) = &core.cluster {
        return shared::initiate(core, c, caller, callee, kind, ring_timeout).await;
    }
    if core.calls.current(caller.id).is_some() {
        return Err(Error::CallInProgress);
    }
    if !core.calls.is_reachable(callee.id) {
        // Kept for history as a failed call.
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
    if !core.calls.reserve(caller.id, callee.id) {
        return Err(Error::CallInProgress);
    }
    let row = match insert_row(core, caller.id, callee.id, kind, None).await {
        Ok(r) => r,
        Err(e) => {
            core.calls.release([caller.id, callee.id], 0);
            return Err(e);
        }
    };
    let info = CallInfo::from_row(row, caller.name.clone(), callee.name.clone());
    let id = info.id;
    core.calls.busy.insert(caller.id, id);
    core.calls.busy.insert(callee.id, id);
    let weak = Arc::downgrade(core);
    let timer = tokio::spawn(async move {
        tokio::time::sleep(ring_timeout).await;
        if let Some(core) = weak.upgrade() {
            expire(&core, id).await;
        }
    })
    .abort_handle();
    core.calls.live.insert(
        id,
        Live {
            info: info.clone(),
            timer: Some(timer),
        },
    );
    publish(core, &info, CallChange::Ringing);
    // A party whose last connection closed while the call was being set up.
    for u in [caller.id, callee.id] {
        if !core.calls.is_reachable(u)
            && let Some((_, live)) = core.calls.live.remove(&id)
        {
            finish(core, live, Some(u), EndReason::NetworkError).await;
        }
    }
    Ok(info)
}

/// Inserts the row (ringing, or failed at once with `failed`) and names its room
/// after the id and a secret, in one transaction.
async fn insert_row(
    core: &Core,
    caller: i64,
    callee: i64,
    kind: CallType,
    failed: Option<EndReason>,
) -> Result<calls::Model> {
    let now = Utc::now();
    let txn = core.db.begin().await?;
    let row = calls::ActiveModel {
        caller_id: Set(caller),
        callee_id: Set(callee),
        call_type: Set(kind.as_str().into()),
        status: Set(match failed {
            Some(_) => Status::Failed.as_str().into(),
            None => Status::Ringing.as_str().into(),
        }),
        room_name: Set(String::new()),
        end_reason: Set(failed.map(|r| r.as_str().into())),
        ended_at: Set(failed.map(|_| now)),
        duration_secs: Set(failed.map(|_| 0)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let room = format!("call_{}_{}", row.id, super::identity::auth::random_hex(8));
    let mut named = row.into_active_model();
    named.room_name = Set(room);
    let row = named.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// Checks that `user` may act on the live call named by `handle`.
fn check(core: &Core, user: i64, handle: &str) -> Result<i64> {
    let id = parse_handle(handle)?;
    let live = core.calls.live.get(&id).ok_or(Error::NotFound("call"))?;
    if live.info.handle() != handle {
        return Err(Error::NotFound("call"));
    }
    if !live.info.is_party(user) {
        return Err(Error::PermissionDenied("you are not a party to this call"));
    }
    Ok(id)
}

/// The callee accepts or rejects a ringing call.
pub async fn respond(core: &Core, user: i64, handle: &str, accept: bool) -> Result<CallInfo> {
    if let Some(c) = &core.cluster {
        return shared::respond(core, c, user, handle, accept).await;
    }
    let id = check(core, user, handle)?;
    let now = Utc::now();
    let ringing_for_me =
        |c: &Live| c.info.callee_id == user && c.info.status == Status::Ringing.as_str();
    if !accept {
        let (_, live) = core
            .calls
            .live
            .remove_if(&id, |_, c| ringing_for_me(c))
            .ok_or_else(|| not_answerable(core, id, user))?;
        return Ok(finish(core, live, Some(user), EndReason::Rejected).await);
    }
    let (info, timer) = {
        let mut live = core
            .calls
            .live
            .get_mut(&id)
            .ok_or(Error::NotFound("call"))?;
        if !ringing_for_me(&live) {
            drop(live);
            return Err(not_answerable(core, id, user));
        }
        live.info.status = Status::Accepted.as_str().into();
        live.info.answered_at = Some(now);
        (live.info.clone(), live.timer.take())
    };
    if let Some(t) = timer {
        t.abort();
    }
    accepted(core, &info, user, now).await?;
    Ok(info)
}

/// Stores that `user` accepted the call at `now` and announces it: the same for a
/// call held in this process and one held in Redis (cluster mode).
async fn accepted(core: &Core, info: &CallInfo, user: i64, now: DateTime<Utc>) -> Result<()> {
    calls::Entity::update_many()
        .col_expr(
            calls::Column::Status,
            Expr::value(Status::Accepted.as_str()),
        )
        .col_expr(calls::Column::AnsweredAt, Expr::value(now))
        .filter(calls::Column::Id.eq(info.id))
        .exec(&core.db)
        .await?;
    publish(core, info, CallChange::Accepted { by: user });
    Ok(())
}

/// Why a party cannot answer a live call.
fn not_answerable(core: &Core, id: i64, user: i64) -> Error {
    match core.calls.live.get(&id) {
        None => Error::NotFound("call"),
        Some(c) if c.info.callee_id != user => {
            Error::PermissionDenied("only the called user can answer")
        }
        Some(_) => Error::invalid("the call is not ringing"),
    }
}

/// Either party ends (or, while ringing, cancels) a call.
pub async fn end(core: &Core, user: i64, handle: &str) -> Result<CallInfo> {
    if let Some(c) = &core.cluster {
        return shared::end(core, c, user, handle).await;
    }
    let id = check(core, user, handle)?;
    let (_, live) = core.calls.live.remove(&id).ok_or(Error::NotFound("call"))?;
    Ok(finish(core, live, Some(user), EndReason::UserEnded).await)
}

/// The ring timer fired: ends the call if nobody answered.
async fn expire(core: &Core, id: i64) {
    let ringing = core
        .calls
        .live
        .remove_if(&id, |_, c| c.info.status == Status::Ringing.as_str());
    if let Some((_, mut live)) = ringing {
        // This task is the timer: aborting it would cancel the clean-up below.
        live.timer = None;
        finish(core, live, None, EndReason::Timeout).await;
    }
}

/// A connection of `user` able to ring opened (calls sockets that joined).
pub async fn endpoint_opened(core: &Core, user: i64) {
    core.calls.endpoint_up(user);
    if let Some(c) = &core.cluster {
        shared::endpoint_opened(c, user).await;
    }
}

/// A ringing-capable connection of `user` closed; the last one (in cluster mode:
/// on any node) ends their call.
pub async fn endpoint_closed(core: &Core, user: i64) {
    let last_here = core.calls.endpoint_down(user);
    if let Some(c) = &core.cluster {
        shared::endpoint_closed(core, c, user, last_here).await;
        return;
    }
    if !last_here {
        return;
    }
    let Some(id) = core.calls.current(user).filter(|id| *id != 0) else {
        return;
    };
    if let Some((_, live)) = core.calls.live.remove(&id) {
        finish(core, live, Some(user), EndReason::NetworkError).await;
    }
}

/// Frees the parties, persists the end and tells both. The live entry is already
/// removed, so exactly one path finishes a call.
async fn finish(core: &Core, live: Live, by: Option<i64>, reason: EndReason) -> CallInfo {
    if let Some(t) = live.timer {
        t.abort();
    }
    let mut info = live.info;
    match &core.cluster {
        None => core
            .calls
            .release([info.caller_id, info.callee_id], info.id),
        Some(c) => {
            if let Err(e) = c
                .call_release([info.caller_id, info.callee_id], info.id)
                .await
            {
                // The busy marks expire with their day-long lifetime at worst.
                tracing::error!(call = info.id, error = %e, "call parties not freed in Redis");
            }
        }
    }
    let now = Utc::now();
    let status = if reason == EndReason::Rejected {
        Status::Rejected
    } else {
        Status::Ended
    };
    let duration = info
        .answered_at
        .map(|a| (now - a).num_seconds().max(0))
        .unwrap_or(0);
    info.status = status.as_str().into();
    info.end_reason = Some(reason.as_str().into());
    info.ended_by = by;
    info.ended_at = Some(now);
    info.duration_secs = Some(duration);
    let saved = calls::Entity::update_many()
        .col_expr(calls::Column::Status, Expr::value(status.as_str()))
        .col_expr(calls::Column::EndReason, Expr::value(reason.as_str()))
        .col_expr(calls::Column::EndedBy, Expr::value(by))
        .col_expr(calls::Column::EndedAt, Expr::value(now))
        .col_expr(calls::Column::DurationSecs, Expr::value(duration))
        .filter(calls::Column::Id.eq(info.id))
        .exec(&core.db)
        .await;
    if let Err(e) = saved {
        // The live state is authoritative for signalling: tell the parties anyway.
        tracing::error!(call = info.id, error = %e, "could not persist the end of a call");
    }
    let change = match reason {
        EndReason::Rejected => CallChange::Rejected {
            by: by.unwrap_or(info.callee_id),
        },
        _ => CallChange::Ended { by, reason },
    };
    publish(core, &info, change);
    info
}

fn publish(core: &Core, info: &CallInfo, change: CallChange) {
    core.bus.publish(
        Audience::Users(vec![info.caller_id, info.callee_id].into()),
        None,
        EventKind::Call(CallEvent {
            call: info.clone(),
            change,
        }),
    );
}

/// The user's calls, newest first: those with an id below `before`, at most `limit`.
pub async fn history(
    core: &Core,
    user: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<CallInfo>> {
    let mut q = calls::Entity::find().filter(
        Condition::any()
            .add(calls::Column::CallerId.eq(user))
            .add(calls::Column::CalleeId.eq(user)),
    );
    if let Some(b) = before {
        q = q.filter(calls::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(calls::Column::Id)
        .limit(limit)
        .all(&core.db)
        .await?;
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.caller_id, r.callee_id])
        .collect();
    let names = accounts::names(&core.db, &ids).await?;
    let name = |id: &i64| names.get(id).cloned().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (a, b) = (name(&r.caller_id), name(&r.callee_id));
            CallInfo::from_row(r, a, b)
        })
        .collect())
}
