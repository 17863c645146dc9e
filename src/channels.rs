//! App channels: named streams of application messages (not records) declared in code beside the
//! record collections, each with the rule for who may receive it. A leaf: it imports domain types only.
//!
//! application code / repository (after commit) → **channel message** → hub (access per message) → socket.
//!
//! To add a channel, add one line to the `channels!` list below: its variant, its name on the wire
//! and in patterns, and its [`Access`] rule. Then call `hub.broadcast(Channel::Yours, id, data)`
//! (or `w.broadcast(..)` inside a write, to send only after it commits).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{BoardId, UserId};

/// Who may receive a channel's messages, checked by the hub for every message it delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Any signed-in user. The message id, if any, is free (a topic, a record id).
    SignedIn,
    /// Members of one board: the message id is the board id.
    BoardMembers,
    /// One user: the message id is the user id. `*` in a pattern means "mine".
    OneUser,
}

macro_rules! channels {
    ($($variant:ident = $name:literal, $access:ident;)*) => {
        /// A declared app channel. Serialized by its declared name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Channel { $(#[serde(rename = $name)] $variant),* }

        impl Channel {
            /// Every channel, in declaration order.
            pub const ALL: &[Channel] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)* _ => None }
            }

            pub fn access(self) -> Access {
                match self { $(Self::$variant => Access::$access),* }
            }
        }
    };
}

channels! {
    // Site news for everyone signed in (the admin's `POST /api/admin/broadcast` is one sender).
    News = "news", SignedIn;
    // A user's inbox: new notifications and read marks, so every tab's badge follows.
    Notifications = "notifications", OneUser;
    // Notices to the members of one board (id = board id).
    BoardNotices = "board_notices", BoardMembers;
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message cannot be sent to a channel as addressed.
#[derive(Debug, PartialEq, Eq)]
pub struct NeedsId(pub Channel);

impl std::fmt::Display for NeedsId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.0.access() == Access::OneUser { "a user id" } else { "a board id" };
        write!(f, "channel {:?} needs an id ({what})", self.0.as_str())
    }
}

/// One message for a channel: `{"type":"custom_event","collection":<channel>,"id":<id>,"data":<data>}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelMsg {
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub data: Value,
}

impl ChannelMsg {
    /// A message addressed as its channel's rule requires: a board or user channel needs an id.
    pub fn new(channel: Channel, id: Option<i64>, data: Value) -> Result<Self, NeedsId> {
        if id.is_none() && channel.access() != Access::SignedIn {
            return Err(NeedsId(channel));
        }
        Ok(Self { channel, id, data })
    }

    /// A message to one user's channel.
    pub fn to_user(channel: Channel, user: UserId, data: Value) -> Self {
        Self { channel, id: Some(user.0), data }
    }

    /// A message to one board's members.
    pub fn to_board(channel: Channel, board: BoardId, data: Value) -> Self {
        Self { channel, id: Some(board.0), data }
    }

    /// Whether `user` (signed in, member of boards per `is_member`) may receive this message.
    pub fn may_receive(&self, user: UserId, is_member: impl FnOnce(BoardId) -> bool) -> bool {
        match (self.channel.access(), self.id) {
            (Access::SignedIn, _) => true,
            (Access::BoardMembers, Some(b)) => is_member(BoardId(b)),
            (Access::OneUser, Some(u)) => u == user.0,
            (_, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Collection;

    #[test]
    fn every_channel_has_one_name_that_no_collection_takes() {
        for c in Channel::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str(), "{c:?}");
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
            assert!(Collection::parse(c.as_str()).is_none(), "{c} is also a collection");
        }
    }

    #[test]
    fn a_user_channel_goes_to_that_user_only_and_a_board_channel_to_members_only() {
        let mine = ChannelMsg::to_user(Channel::Notifications, UserId(7), Value::Null);
        assert!(mine.may_receive(UserId(7), |_| false));
        assert!(!mine.may_receive(UserId(8), |_| true));
        let notice = ChannelMsg::to_board(Channel::BoardNotices, BoardId(3), Value::Null);
        assert!(notice.may_receive(UserId(1), |b| b == BoardId(3)));
        assert!(!notice.may_receive(UserId(1), |_| false));
        assert!(ChannelMsg::new(Channel::News, None, Value::Null).unwrap().may_receive(UserId(1), |_| false));
        assert_eq!(ChannelMsg::new(Channel::Notifications, None, Value::Null), Err(NeedsId(Channel::Notifications)));
    }
}
