//! expresschat's wire shapes: the REST bodies (`rest_bodies.rs`), the payloads of the
//! events the client sends (`inbound.rs`) and of the events it receives
//! (`outbound.rs`). PascalCase fields, ids as prefixed strings.
//!
//! Ids are opaque strings to this client, and it keeps users and chats in one
//! namespace (the self chat's id *is* the user id), so the kinds get prefixes that
//! cannot collide: users `u7`, conversations `c12`, messages `m40`.

mod inbound;
mod outbound;
mod rest_bodies;

pub use inbound::*;
pub use outbound::*;
pub use rest_bodies::*;

use serde::{Deserialize, Deserializer};

use crate::core::{Error, Result};

pub fn user_id(id: i64) -> String {
    format!("u{id}")
}

pub fn chat_id(id: i64) -> String {
    format!("c{id}")
}

pub fn message_id(id: i64) -> String {
    format!("m{id}")
}

fn parse(prefix: char, s: &str) -> Option<i64> {
    s.strip_prefix(prefix)?
        .parse()
        .ok()
        .filter(|n: &i64| *n > 0)
}

pub fn parse_user(s: &str) -> Option<i64> {
    parse('u', s)
}

pub fn parse_chat(s: &str) -> Option<i64> {
    parse('c', s)
}

pub fn parse_message(s: &str) -> Option<i64> {
    parse('m', s)
}

/// The fields of a history page in a fetch's payload (issue 14: an extension;
/// a fetch without them gets the original answer).
pub const PAGE_FIELDS: [&str; 3] = ["After", "Before", "Limit"];

/// A user id as the client sends it (`"u7"`). Anything but a string is malformed;
/// a string that names no user reads as `None`, answered as "not found" like an
/// id of a user that does not exist (so ids cannot be probed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserKey(Option<i64>);

impl UserKey {
    pub fn get(self) -> Result<i64> {
        self.0.ok_or(Error::NotFound("user"))
    }
}

impl<'de> Deserialize<'de> for UserKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(|s| UserKey(parse_user(&s)))
    }
}

/// A chat or group id as the client sends it (`"c12"`); as [`UserKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatKey(Option<i64>);

impl ChatKey {
    pub fn get(self) -> Result<i64> {
        self.0.ok_or(Error::NotFound("conversation"))
    }
}

impl<'de> Deserialize<'de> for ChatKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(|s| ChatKey(parse_chat(&s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_round_trip_and_do_not_cross_kinds() {
        assert_eq!(parse_user(&user_id(7)), Some(7));
        assert_eq!(parse_chat(&chat_id(12)), Some(12));
        assert_eq!(parse_chat(&user_id(7)), None);
        assert_eq!(parse_chat("c-1"), None);
        assert_eq!(parse_chat("c0"), None);
        assert_eq!(parse_chat("12"), None);
        assert_eq!(parse_message(&message_id(40)), Some(40));
        assert_eq!(parse_message("c40"), None);
    }

    #[test]
    fn ids_in_payloads_are_strings_that_may_name_nothing() {
        let m: GroupMember = serde_json::from_value(json!({"GroupId":"c1","Member":"u2"})).unwrap();
        assert_eq!((m.group_id.get().unwrap(), m.member.get().unwrap()), (1, 2));
        let m: GroupMember = serde_json::from_value(json!({"GroupId":"u1","Member":"x"})).unwrap();
        assert!(matches!(
            m.group_id.get(),
            Err(Error::NotFound("conversation"))
        ));
        assert!(matches!(m.member.get(), Err(Error::NotFound("user"))));
        let e = serde_json::from_value::<GroupRef>(json!({"GroupId": 42})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid type: integer `42`, expected a string"
        );
    }

    #[test]
    fn search_type_add_or_anything_else() {
        let s: SearchUser = serde_json::from_value(json!({"Name":"a","Type":"Add"})).unwrap();
        assert_eq!(s.kind, SearchKind::Add);
        let s: SearchUser = serde_json::from_value(json!({"Name":"a","Type":"x"})).unwrap();
        assert_eq!(s.kind, SearchKind::Search);
        assert!(serde_json::from_value::<SearchUser>(json!({"Name":"a","Type":1})).is_err());
    }

    #[test]
    fn outgoing_shapes_use_the_original_field_names() {
        let e = serde_json::to_value(PersonalChatEntry {
            id: "c1".into(),
            last_chat: "t".into(),
            partner: "Bob".into(),
            unread: 2,
        })
        .unwrap();
        assert_eq!(
            e,
            json!({"_id":"c1","LastChat":"t","Partner":"Bob","Unread":2})
        );
        let none = ChatCheck {
            exists: 0,
            chat_id: None,
            partner: "Bob".into(),
        };
        assert_eq!(
            serde_json::to_value(none).unwrap(),
            json!({"Exists":0,"Partner":"Bob"})
        );
        let hello = UserIdOut {
            user_id: user_id(3),
            user_name: "Amy",
        };
        assert_eq!(
            serde_json::to_value(hello).unwrap(),
            json!({"userId":"u3","userName":"Amy"})
        );
    }
}
