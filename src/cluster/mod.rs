//! Running as a cluster: one *writer* (owns the SQLite file and the order of events) and any number
//! of *edges* (hold the WebSockets), joined by Redis. Single mode (the default) uses none of this.
//!
//! writer: repository → bus → **relay** → Redis stream → **edge stream** → edge bus → hub → sockets.
//! edge: every other request → **proxy** → writer; reads the realtime path needs → **reads** → writer's **internal** endpoint.
//! presence: each node's hub → **presence** (Redis entries with an expiry) → every node's hub.
//!
//! See docs/SCALING.md for the topology, the guarantees and the failure table.

/// The writer's internal endpoints (reads and caller checks for edges), guarded by `CLUSTER_SECRET`.
pub mod internal;
/// Presence shared through Redis: every node's entries, merged.
pub mod presence;
/// Edge → writer: forwarding plain HTTP unchanged.
pub mod proxy;
/// What the realtime path reads: the local database (single, writer) or the writer (edge).
pub mod reads;
/// Writer: committed events (and control messages) from the event log into the Redis stream.
pub mod relay;
/// Edge: the Redis stream into the local bus the hub reads.
pub mod stream;

use std::{
    str::FromStr,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::domain::UserId;

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

/// This node as `/health` and the relay see it: its role, its name, and whether Redis answers.
pub struct Node {
    pub role: Role,
    pub id: String,
    redis_up: AtomicBool,
}

impl Node {
    pub fn new(config: &ClusterConfig) -> Self {
        Self { role: config.role, id: config.node_id.clone(), redis_up: AtomicBool::new(false) }
    }

    /// Whether the last Redis call of this node's stream task succeeded.
    pub fn redis_up(&self) -> bool {
        self.redis_up.load(Ordering::Acquire)
    }

    pub(crate) fn set_redis_up(&self, up: bool, metrics: &crate::metrics::Metrics) {
        if self.redis_up.swap(up, Ordering::AcqRel) != up {
            if up {
                tracing::info!(node = %self.id, "redis reachable");
            } else {
                tracing::warn!(node = %self.id, "redis unreachable");
            }
        }
        metrics.redis_up.set(up as i64);
    }
}

/// A message from the writer to every edge that is not an event: custom events, announcements, and
/// sockets to close. Carried in the same stream as the events (ids `<seq>-<n>`, n ≥ 1), so it keeps
/// its place among them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    Broadcast { collection: String, data: serde_json::Value },
    BroadcastAll { data: serde_json::Value },
    SendTo { connection: String, data: serde_json::Value },
    Announce { message: String },
    CloseSession { session: String },
    CloseToken { token: i64 },
    CloseUser { user: UserId },
}

impl Control {
    /// Does on this node's hub what the writer's hub did on its own.
    pub fn apply(self, hub: &crate::hub::Hub) {
        match self {
            Self::Broadcast { collection, data } => hub.broadcast(&collection, data),
            Self::BroadcastAll { data } => hub.broadcast_all(data),
            Self::SendTo { connection, data } => hub.send_to(&connection, data),
            Self::Announce { message } => hub.announce(&message),
            Self::CloseSession { session } => hub.close_session(session),
            Self::CloseToken { token } => hub.close_token(token),
            Self::CloseUser { user } => hub.close_user(user),
        }
    }
}

/// The Redis key of the event stream of `epoch`.
pub fn stream_key(epoch: &str) -> String {
    format!("liveboard:events:{epoch}")
}

/// A stream entry id `<seq>-<n>` as its two numbers.
pub fn parse_id(id: &str) -> Option<(i64, i64)> {
    let (a, b) = id.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Opens a multiplexed connection whose commands may wait up to `timeout` (XREAD BLOCK needs more
/// than the client's default half second).
pub async fn connect(
    client: &redis::Client,
    timeout: Duration,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(timeout));
    client.get_multiplexed_async_connection_with_config(&config).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(role: Role, redis: bool, secret: bool, writer: bool) -> ClusterConfig {
        ClusterConfig {
            role,
            redis_url: redis.then(|| "redis://127.0.0.1:6379/0".into()),
            secret: secret.then(|| "s".into()),
            writer_url: writer.then(|| "http://127.0.0.1:3000".into()),
            ..ClusterConfig::default()
        }
    }

    #[test]
    fn a_writer_or_edge_without_redis_url_or_cluster_secret_is_refused_and_single_needs_neither() {
        assert!(config(Role::Single, false, false, false).checked().is_ok());
        for role in [Role::Writer, Role::Edge] {
            let no_redis = config(role, false, true, true).checked().unwrap_err().to_string();
            assert!(no_redis.contains("REDIS_URL"), "{no_redis}");
            let no_secret = config(role, true, false, true).checked().unwrap_err().to_string();
            assert!(no_secret.contains("CLUSTER_SECRET"), "{no_secret}");
        }
        assert!(config(Role::Writer, true, true, false).checked().is_ok());
        let no_writer = config(Role::Edge, true, true, false).checked().unwrap_err().to_string();
        assert!(no_writer.contains("WRITER_URL"), "{no_writer}");
    }

    #[test]
    fn roles_parse_case_insensitively_and_anything_else_is_an_error() {
        assert_eq!("Edge".parse::<Role>(), Ok(Role::Edge));
        assert_eq!("writer".parse::<Role>(), Ok(Role::Writer));
        assert!("primary".parse::<Role>().is_err());
    }

    #[test]
    fn a_stream_id_is_its_seq_and_its_control_number() {
        assert_eq!(parse_id("42-0"), Some((42, 0)));
        assert_eq!(parse_id("42-3"), Some((42, 3)));
        assert_eq!(parse_id("42"), None);
        assert_eq!(parse_id("x-1"), None);
    }
}
