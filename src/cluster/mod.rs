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
/// The role, its settings, and the writer's control messages (a leaf the hub and config import).
pub mod settings;
/// Edge: the Redis stream into the local bus the hub reads.
pub mod stream;

pub use settings::{ClusterConfig, Control, Role};

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

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

impl Control {
    /// Does on this node's hub what the writer's hub did on its own.
    pub fn apply(self, hub: &crate::hub::Hub) {
        match self {
            Self::Broadcast { channel, id, data } => hub.broadcast(channel, id, data),
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
