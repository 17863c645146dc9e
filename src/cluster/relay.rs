//! The writer's outbox relay: every committed event, read back from the event log, goes into the
//! Redis stream of the epoch with the entry id `<seq>-0`, in order. Redis refuses an id that is not
//! greater than the stream's last, so a resend or a reorder cannot duplicate or skip; after a crash
//! the relay resumes from the stream's last id, so an event committed just before a `kill -9` still
//! reaches the stream. Control messages (custom events, announcements, sockets to close) take the
//! ids `<seq>-1`, `<seq>-2`… after the newest event, so they keep their place among events.
//!
//! repository → event log → bus ("there is news") → **relay** → Redis stream → edges.

use std::{sync::Arc, time::Duration};

use redis::aio::MultiplexedConnection;
use sqlx::SqlitePool;
use tokio::sync::{broadcast, mpsc};

use super::{Control, Node, connect, parse_id, stream_key};
use crate::{events::EventBus, metrics::Metrics, repo};

/// Rows read from the log per round.
const BATCH: i64 = 500;
/// When the stream is empty (a new cluster, or Redis restarted empty), events this far back are
/// relayed again, so an edge that was just behind fills its gap from the stream.
const REFILL: i64 = 1000;

/// What the relay needs; started once by the writer.
pub struct Relay {
    pub client: redis::Client,
    pub pool: SqlitePool,
    pub epoch: String,
    /// `EVENTS_KEEP`: the stream is capped like the log.
    pub keep: i64,
    pub node: Arc<Node>,
    pub metrics: Arc<Metrics>,
}

impl Relay {
    /// Runs for ever: reconnects to Redis with a backoff, and relays whatever the log holds past
    /// the stream's last id each time the bus says there is news (and every second regardless).
    pub fn spawn(self, bus: &EventBus, controls: mpsc::UnboundedReceiver<Control>) {
        let news = bus.subscribe();
        tokio::spawn(self.run(news, controls));
    }

    async fn run(
        self,
        mut news: broadcast::Receiver<Arc<crate::events::Event>>,
        mut controls: mpsc::UnboundedReceiver<Control>,
    ) {
        let key = stream_key(&self.epoch);
        let mut backoff = Duration::from_millis(100);
        // Where the relay got to: the last event seq and control number relayed.
        let mut pos: Option<(i64, i64)> = None;
        let mut pending: Vec<Control> = Vec::new();
        loop {
            let mut conn = match connect(&self.client, Duration::from_secs(3)).await {
                Ok(c) => {
                    backoff = Duration::from_millis(100);
                    c
                }
                Err(e) => {
                    self.node.set_redis_up(false, &self.metrics);
                    tracing::debug!(error = %e, "relay: redis unreachable");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            match self.relay(&mut conn, &key, &mut pos, &mut news, &mut controls, &mut pending).await {
                Ok(()) => return,
                Err(e) if e.downcast_ref::<redis::RedisError>().is_none() => {
                    // The database, not Redis: try again from the stream's last id.
                    tracing::warn!(error = %e, "relay: reading the event log failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(e) => {
                    self.node.set_redis_up(false, &self.metrics);
                    tracing::warn!(error = %e, "relay: redis failed; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// The stream's last id, or where to start when it is empty.
    async fn start(
        &self,
        conn: &mut MultiplexedConnection,
        key: &str,
        pos: Option<(i64, i64)>,
    ) -> anyhow::Result<(i64, i64)> {
        let top: redis::streams::StreamRangeReply =
            redis::cmd("XREVRANGE").arg(key).arg("+").arg("-").arg("COUNT").arg(1).query_async(conn).await?;
        if let Some(id) = top.ids.first().and_then(|e| parse_id(&e.id)) {
            return Ok(id);
        }
        let latest = repo::events::latest_seq(&self.pool).await?;
        let from = pos.map_or(latest - REFILL, |(seq, _)| seq.min(latest - REFILL));
        Ok((from.max(0), 0))
    }

    async fn relay(
        &self,
        conn: &mut MultiplexedConnection,
        key: &str,
        pos: &mut Option<(i64, i64)>,
        news: &mut broadcast::Receiver<Arc<crate::events::Event>>,
        controls: &mut mpsc::UnboundedReceiver<Control>,
        pending: &mut Vec<Control>,
    ) -> anyhow::Result<()> {
        let (mut seq, mut sub) = self.start(conn, key, *pos).await?;
        *pos = Some((seq, sub));
        self.node.set_redis_up(true, &self.metrics);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            // Events first, in order, straight from the log.
            loop {
                let rows = repo::events::load_rows(&self.pool, seq, seq + BATCH).await?;
                let n = rows.len() as i64;
                for row in rows {
                    let id = format!("{}-0", row.seq);
                    let body = serde_json::to_string(&row)?;
                    match self.xadd(conn, key, &id, "e", &body).await {
                        Ok(()) => drop(self.metrics.relayed.inc()),
                        // Already there (a resend after a crash): Redis refused the duplicate.
                        Err(e) if is_id_too_small(&e) => {}
                        Err(e) => return Err(e.into()),
                    }
                    (seq, sub) = (row.seq, 0);
                    *pos = Some((seq, sub));
                }
                if n < BATCH {
                    break;
                }
            }
            while let Ok(c) = controls.try_recv() {
                pending.push(c);
            }
            for c in std::mem::take(pending) {
                let id = format!("{seq}-{}", sub + 1);
                let body = serde_json::to_string(&c)?;
                if let Err(e) = self.xadd(conn, key, &id, "c", &body).await {
                    if is_id_too_small(&e) {
                        // Someone else's id is on top (a relay before a restart): start over from it.
                        (seq, sub) = self.start(conn, key, *pos).await?;
                        pending.push(c);
                        continue;
                    }
                    pending.push(c);
                    return Err(e.into());
                }
                sub += 1;
                *pos = Some((seq, sub));
            }
            tokio::select! {
                n = news.recv() => if let Err(broadcast::error::RecvError::Closed) = n { return Ok(()) },
                c = controls.recv() => match c {
                    Some(c) => pending.push(c),
                    None => return Ok(()),
                },
                _ = tick.tick() => {
                    // Also a liveness probe: a Redis that went away shows within a second.
                    let _: () = redis::cmd("PING").query_async(conn).await?;
                    self.node.set_redis_up(true, &self.metrics);
                }
            }
        }
    }

    async fn xadd(
        &self,
        conn: &mut MultiplexedConnection,
        key: &str,
        id: &str,
        field: &str,
        body: &str,
    ) -> redis::RedisResult<()> {
        let _: String = redis::cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.keep.max(1))
            .arg(id)
            .arg(field)
            .arg(body)
            .query_async(conn)
            .await?;
        Ok(())
    }
}

/// Redis's answer to an id not greater than the stream's last.
fn is_id_too_small(e: &redis::RedisError) -> bool {
    e.to_string().contains("equal or smaller")
}
