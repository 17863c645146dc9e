//! An edge's event source: the writer's Redis stream, read in order with a blocking read from the
//! last id seen, into the local bus the hub reads (through `hub::EventSource`, unchanged). A gap
//! (Redis restarted empty, the stream trimmed past us) is filled from the writer's event log; when
//! even that cannot be done, every connection is told to resync. While Redis is away the sockets
//! stay open and `/health` and the `redis_up` metric say so.
//!
//! writer's relay → Redis stream → **edge stream** → edge bus → hub → sockets.

use std::{sync::Arc, time::Duration};

use redis::streams::StreamReadReply;

use super::{Control, Node, connect, parse_id, reads::WriterClient, stream_key};
use crate::{events::EventBus, hub::Hub, metrics::Metrics, repo::events::EventRow};

/// Entries read per round.
const COUNT: usize = 500;
/// Longest gap filled from the writer's log; past it, clients resync (as a replay would make them).
const MAX_FILL: i64 = 10_000;
/// How long one blocking read waits for news.
const BLOCK_MS: u64 = 1000;

/// What the stream reader needs; started once by an edge.
pub struct EdgeStream {
    pub client: redis::Client,
    pub writer: Arc<WriterClient>,
    pub bus: EventBus,
    pub hub: Hub,
    pub epoch: String,
    /// The seq the edge's state (board access, the bus's latest) is current to.
    pub from: i64,
    pub node: Arc<Node>,
    pub metrics: Arc<Metrics>,
}

impl EdgeStream {
    pub fn spawn(self) {
        tokio::spawn(self.run());
    }

    async fn run(self) {
        let key = stream_key(&self.epoch);
        let mut last = (self.from, 0);
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut conn = match connect(&self.client, Duration::from_millis(BLOCK_MS + 2000)).await {
                Ok(c) => c,
                Err(e) => {
                    self.node.set_redis_up(false, &self.metrics);
                    tracing::debug!(error = %e, "edge stream: redis unreachable");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            loop {
                let read: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(COUNT)
                    .arg("BLOCK")
                    .arg(BLOCK_MS)
                    .arg("STREAMS")
                    .arg(&key)
                    .arg(format!("{}-{}", last.0, last.1))
                    .query_async(&mut conn)
                    .await;
                let reply = match read {
                    Ok(r) => r,
                    Err(e) => {
                        self.node.set_redis_up(false, &self.metrics);
                        tracing::warn!(error = %e, "edge stream: reading redis failed; reconnecting");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        break;
                    }
                };
                self.node.set_redis_up(true, &self.metrics);
                backoff = Duration::from_millis(100);
                for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                    let Some(id) = parse_id(&entry.id) else { continue };
                    if id <= last {
                        continue;
                    }
                    let text = |field: &str| -> Option<String> {
                        entry.map.get(field).and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
                    };
                    if id.1 == 0 {
                        let Some(row) = text("e").and_then(|t| serde_json::from_str::<EventRow>(&t).ok()) else {
                            tracing::warn!(id = %entry.id, "edge stream: undecodable entry; resyncing");
                            self.hub.resync_all();
                            last = id;
                            continue;
                        };
                        if row.seq > last.0 + 1 {
                            self.fill(last.0, row.seq - 1).await;
                        }
                        if let Some(e) = row.decode() {
                            self.bus.publish(e);
                        }
                    } else if let Some(c) = text("c").and_then(|t| serde_json::from_str::<Control>(&t).ok()) {
                        if let Control::CloseSession { session } = &c {
                            self.writer.forget(Some(session), None);
                        }
                        if let Control::CloseToken { token } = &c {
                            self.writer.forget(None, Some(*token));
                        }
                        c.apply(&self.hub);
                    }
                    last = id;
                }
            }
        }
    }

    /// Events `(after, upto]` are not in the stream: take them from the writer's log, or resync.
    async fn fill(&self, after: i64, upto: i64) {
        self.metrics.gap_fills.inc();
        if upto - after > MAX_FILL {
            tracing::warn!(after, upto, "edge stream: a gap too long to fill; resyncing every connection");
            self.bus.set_latest(upto);
            self.hub.resync_all();
            return;
        }
        tracing::info!(after, upto, "edge stream: filling a gap from the writer's event log");
        let rows: Vec<EventRow> = match self.writer.ask(&super::reads::ReadReq::Events { after, upto }).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "edge stream: gap not fillable; resyncing every connection");
                self.bus.set_latest(upto);
                self.hub.resync_all();
                return;
            }
        };
        let whole = rows.len() as i64 == upto - after && rows.iter().zip(after + 1..).all(|(r, s)| r.seq == s);
        for e in rows.into_iter().filter_map(EventRow::decode) {
            self.bus.publish(e);
        }
        if !whole {
            tracing::warn!(after, upto, "edge stream: the log no longer holds the gap; resyncing every connection");
            self.bus.set_latest(upto);
            self.hub.resync_all();
        }
    }
}
