//! Cluster settings: the role of this process and what it needs to run as one, and the control
//! messages the writer sends edges. A leaf: configuration and the hub import it; it imports neither
//! (only the leaf modules `domain` and `channels`).

use std::{str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{channels::Channel, domain::UserId};

/// What part this process plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Role {
    /// One process, no Redis: today's behaviour.
    #[default]
    Single,
    /// Owns the database; relays events to Redis; answers edges' internal calls.
    Writer,
    /// Holds sockets; forwards everything else to the writer.
    Edge,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Writer => "writer",
            Self::Edge => "edge",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "single" => Ok(Self::Single),
            "writer" => Ok(Self::Writer),
            "edge" => Ok(Self::Edge),
            _ => Err("expected single, writer or edge".into()),
        }
    }
}

/// The cluster's settings, read with the rest of [`crate::config::Config`].
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// `LIVEBOARD_ROLE`.
    pub role: Role,
    /// `REDIS_URL`: required for a writer and an edge.
    pub redis_url: Option<String>,
    /// `WRITER_URL`: the writer's base URL, for an edge.
    pub writer_url: Option<String>,
    /// `NODE_ID`: this process's name in presence, logs and `/health` (default: random).
    pub node_id: String,
    /// `CLUSTER_SECRET`: authenticates edge → writer internal calls.
    pub secret: Option<String>,
    /// `PRESENCE_NODE_TTL_MS`: a node that stops refreshing its presence is dropped after this long.
    pub presence_node_ttl: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            role: Role::Single,
            redis_url: None,
            writer_url: None,
            node_id: format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            secret: None,
            presence_node_ttl: Duration::from_millis(5000),
        }
    }
}

impl ClusterConfig {
    /// Refuses a writer or an edge without what it needs.
    pub fn checked(self) -> anyhow::Result<Self> {
        if self.role != Role::Single {
            let role = self.role.as_str();
            anyhow::ensure!(self.redis_url.is_some(), "LIVEBOARD_ROLE={role} needs REDIS_URL");
            anyhow::ensure!(self.secret.is_some(), "LIVEBOARD_ROLE={role} needs CLUSTER_SECRET");
        }
        if self.role == Role::Edge {
            anyhow::ensure!(self.writer_url.is_some(), "LIVEBOARD_ROLE=edge needs WRITER_URL");
        }
        Ok(self)
    }
}

/// A message from the writer to every edge that is not an event: custom events, announcements, and
/// sockets to close. Carried in the same stream as the events (ids `<seq>-<n>`, n ≥ 1), so it keeps
/// its place among them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    Broadcast { channel: Channel, id: Option<i64>, data: serde_json::Value },
    BroadcastAll { data: serde_json::Value },
    SendTo { connection: String, data: serde_json::Value },
    Announce { message: String },
    CloseSession { session: String },
    CloseToken { token: i64 },
    CloseUser { user: UserId },
}
