//! Reactions to room messages (orgchat `reactMessage`): one row per (message,
//! user, reaction), told to the message's room only.

use chrono::Utc;
use entity::reactions;
use sea_orm::{EntityTrait, Set};

use crate::core::bus::{Audience, ConnId, EventKind};
use crate::core::conversations::rooms::org;
use crate::core::identity::organizations::Member;
use crate::core::model::ConvRef;
use crate::core::{Core, Error, Result};

/// Longest reaction, in characters (an emoji with modifiers fits easily).
pub const MAX_REACTION_LEN: usize = 32;

/// The actor reacts to a message of their organization. Reacting twice with the
/// same reaction keeps one row and tells the room again.
pub async fn react(
    core: &Core,
    actor: &Member,
    message_id: i64,
    reaction: &str,
    origin: Option<ConnId>,
) -> Result<()> {
    let reaction = reaction.trim();
    if reaction.is_empty() {
        return Err(Error::invalid("reaction is required"));
    }
    if reaction.chars().count() > MAX_REACTION_LEN {
        return Err(Error::invalid("reaction is too long"));
    }
    let (msg, conv) = org::find_message(core, actor, message_id).await?;
    reactions::Entity::insert(reactions::ActiveModel {
        message_id: Set(msg.id),
        user_id: Set(actor.id()),
        reaction: Set(reaction.to_owned()),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&core.db)
    .await?;
    core.bus.publish(
        Audience::Room(conv.id),
        origin,
        EventKind::Reaction {
            conversation: ConvRef::of(&conv)?,
            message_id: msg.id,
            user_id: actor.id(),
            reaction: reaction.to_owned(),
        },
    );
    Ok(())
}
