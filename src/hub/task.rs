//! The hub task: its state, its loop (committed events first, then commands, then the presence
//! clock), and what each command does. The handle that sends the commands is [`super::Hub`].
//!
//! event source + commands → **hub task** → registry, access, presence → dispatch.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, mpsc};

use super::{
    ConnectionListing, Kind, LimitReached, Settled,
    access::BoardAccess,
    command::{CloseTarget, Cmd},
    presence::PresenceStore,
    queue::{Frame, Out},
    registry::{Conn, Registry},
    subscriptions::MAX_SUBSCRIPTIONS,
};
use crate::{
    domain::*,
    events::Event,
    metrics::Metrics,
    protocol::{CardUser, ServerMsg, Signal},
    render,
};

/// Who is editing and who is typing, per card.
type Activity = Vec<(CardId, (Vec<String>, Vec<String>))>;

/// The hub task's state: everything routing needs, owned by one task.
pub(super) struct HubTask {
    pub(super) registry: Registry,
    pub(super) access: BoardAccess,
    pub(super) presence: Box<dyn PresenceStore>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) dispatched: Arc<super::Position>,
    /// To re-read board access after a lag (its events were missed).
    pub(super) reads: crate::cluster::reads::Reads,
}

impl HubTask {
    pub(super) async fn run(
        mut self,
        mut events: broadcast::Receiver<Arc<Event>>,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // Committed events first: client chatter (acks, signals) must not delay everyone's updates.
                biased;
                ev = events.recv() => match ev {
                    Ok(e) => self.dispatch(&e),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // The hub itself fell behind the bus: every connection may have a gap.
                        tracing::warn!(missed = n, "hub lagged behind the event bus; resyncing every connection");
                        self.lagged().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                cmd = cmds.recv() => match cmd {
                    Some(super::Cmd::ResyncAll) => {
                    tracing::warn!("the event source had a gap; resyncing every connection");
                    self.lagged().await;
                }
                Some(cmd) => self.command(cmd),
                    None => break,
                },
                _ = tick.tick() => {
                    let changes = self.presence.expire(Instant::now());
                    self.presence_changed(&changes);
                    self.measure_ack_lag();
                }
            }
        }
    }

    fn dispatched(&self) -> i64 {
        self.dispatched.get()
    }

    /// After a lag: re-read who may see what, and tell everyone to resync.
    async fn lagged(&mut self) {
        // The missed events may have removed members: authorization must not trust the old list.
        match BoardAccess::read(&self.reads).await {
            Ok(fresh) => self.access = fresh,
            Err(e) => tracing::error!(error = %e, "could not re-read board members after a lag"),
        }
        let keys: Vec<u64> = self.registry.conns().map(|(k, _)| k).collect();
        let dispatched = self.dispatched();
        for key in keys {
            self.registry.overflow(key, &self.metrics, dispatched);
        }
    }

    pub(super) fn send(&mut self, key: u64, out: Out) -> bool {
        let dispatched = self.dispatched();
        self.registry.send(key, out, &self.metrics, dispatched)
    }

    pub(super) fn frame(&mut self, key: u64, frame: &Arc<Frame>) {
        let dispatched = self.dispatched();
        self.registry.frame(key, frame, &self.metrics, dispatched);
    }

    fn measure_ack_lag(&self) {
        let dispatched = self.dispatched();
        let lag: i64 = self.registry.conns().map(|(_, c)| dispatched - c.last_ack).sum();
        self.metrics.ack_lag.set(lag);
    }

    fn command(&mut self, cmd: Cmd) {
        let dispatched = self.dispatched();
        match cmd {
            Cmd::Register { key, info, kind, tx, notify, reply } => {
                let board = match kind {
                    Kind::Json => None,
                    Kind::Board { board, view } => Some((board, view)),
                };
                let user = info.user.clone();
                self.registry.insert(key, Conn::new(info, tx, notify, board.clone(), dispatched));
                self.metrics.connections.inc();
                if let (Some((b, _)), Some(u)) = (board, user) {
                    self.metrics.subscriptions.inc();
                    let joined = self.presence.join(b, key, &u.username, Instant::now());
                    if joined.is_empty() {
                        // A new tab (or a reload within the grace period) still needs the bar.
                        let bar = Frame::new(0, render::presence_frame(&self.presence.users(b), &self.metrics));
                        self.frame(key, &bar);
                    }
                    self.presence_changed(&joined);
                    // The page renders no activity: it needs who is editing and typing now.
                    self.send_activity_to(key, b);
                }
                let _ = reply.send(dispatched);
            }
            Cmd::Unregister { key } => self.unregister(key),
            Cmd::Subscribe { key, patterns, reply } => {
                let Some(c) = self.registry.get(key) else { return drop(reply.send(Ok(dispatched))) };
                let new = patterns.iter().filter(|p| !c.subs.patterns.contains_key(p)).count();
                if c.subs.count() + new > MAX_SUBSCRIPTIONS {
                    let _ = reply.send(Err(LimitReached));
                    return;
                }
                let added = self.registry.add_patterns(key, patterns, dispatched);
                self.metrics.subscriptions.inc_by(added as i64);
                let _ = reply.send(Ok(dispatched));
            }
            Cmd::Unsubscribe { key, pattern, reply } => {
                let removed = self.registry.remove_patterns(key, pattern.as_ref());
                self.metrics.subscriptions.dec_by(removed as i64);
                let _ = reply.send(());
            }
            Cmd::SubscribeView { key, id, sub, reply } => {
                if self.registry.get(key).is_some_and(|c| c.subs.count() >= MAX_SUBSCRIPTIONS) {
                    let _ = reply.send(Err(LimitReached));
                    return;
                }
                self.registry.add_view(key, id, sub);
                self.metrics.subscriptions.inc();
                let _ = reply.send(Ok(dispatched));
            }
            Cmd::UnsubscribeView { key, id, reply } => {
                let removed = self.registry.remove_view(key, &id).is_some();
                if removed {
                    self.metrics.subscriptions.dec();
                }
                let _ = reply.send(removed);
            }
            Cmd::SubscribePresence { key, board, reply } => {
                let Some(c) = self.registry.get(key) else { return drop(reply.send(Ok(false))) };
                if c.subs.presence.contains(&board) {
                    let _ = reply.send(Ok(false));
                    return;
                }
                if c.subs.count() >= MAX_SUBSCRIPTIONS {
                    let _ = reply.send(Err(LimitReached));
                    return;
                }
                self.registry.add_presence(key, board);
                self.metrics.subscriptions.inc();
                let state = Frame::new(0, self.presence_state(board));
                self.frame(key, &state);
                let _ = reply.send(Ok(true));
            }
            Cmd::UnsubscribePresence { key, board, reply } => {
                let removed = self.registry.remove_presence(key, board);
                if removed {
                    self.metrics.subscriptions.dec();
                }
                let _ = reply.send(removed);
            }
            Cmd::Subscriptions { key, reply } => {
                let _ = reply.send(self.registry.get(key).map(|c| c.subs.clone()).unwrap_or_default());
            }
            Cmd::Settle { key, settled } => {
                if let Some(c) = self.registry.get_mut(key) {
                    for after in c.subs.patterns.values_mut() {
                        *after = match settled {
                            Settled::ReplayedFrom(since) => (*after).min(since),
                            Settled::ResyncedAt(seq) => (*after).max(seq),
                        };
                    }
                }
            }
            Cmd::Signal { key, board, signal } => self.signal(key, board, signal),
            Cmd::Recover { key, covered } => {
                if self.registry.recovered(key) {
                    // Every event dropped while the queue was full has a seq up to `dispatched`: when
                    // the client's last reset already shows that far (it overflowed again while the
                    // reset was on its way), a second reset would show nothing new.
                    if dispatched > covered {
                        self.metrics.resyncs.inc();
                        self.send(key, Out::resync(dispatched, "queue_overflow"));
                    }
                    // The re-rendered board has empty activity slots: refill them after the reset.
                    if let Some(b) = self.registry.get(key).and_then(|c| c.subs.board.as_ref()).map(|(b, _)| *b) {
                        self.send_activity_to(key, b);
                    }
                }
            }
            Cmd::Ack { key, seq } => {
                if let Some(c) = self.registry.get_mut(key) {
                    c.last_ack = c.last_ack.max(seq.min(dispatched));
                }
            }
            Cmd::Custom { to, data, html } => self.custom(to, data, html),
            Cmd::Channel(msg) => self.channel(&msg),
            Cmd::List { reply } => {
                let list = self
                    .registry
                    .conns()
                    .map(|(_, c)| ConnectionListing {
                        id: c.info.id.to_string(),
                        user: c.info.user.as_ref().map(|u| u.username.clone()),
                        kind: if c.is_board_page() { "board" } else { "json" },
                        subscriptions: c.subs.names(),
                        connected_at: c.info.connected_at,
                        last_ack: c.last_ack,
                        ack_lag: dispatched - c.last_ack,
                    })
                    .collect();
                let _ = reply.send(list);
            }
            Cmd::Users { reply } => {
                let mut users: Vec<(UserId, bool, Option<i64>)> = self
                    .registry
                    .conns()
                    .filter_map(|(_, c)| c.info.user.as_ref().map(|u| (u.id, u.is_admin, c.info.session_generation)))
                    .collect();
                users.sort_unstable();
                users.dedup();
                let _ = reply.send(users);
            }
            Cmd::Close { target, code, reason } => {
                let keys: Vec<u64> = self
                    .registry
                    .conns()
                    .filter(|(_, c)| match &target {
                        CloseTarget::Session(s) => c.info.session.as_deref() == Some(s),
                        CloseTarget::Token(t) => c.info.token == Some(*t),
                        CloseTarget::User(u) => c.user_id() == Some(*u),
                        CloseTarget::All => true,
                    })
                    .map(|(k, _)| k)
                    .collect();
                for key in keys {
                    self.registry.force_close(key, code, reason);
                }
            }
            // Handled in the loop: it awaits.
            Cmd::ResyncAll => {}
        }
    }

    fn unregister(&mut self, key: u64) {
        let Some(name) = self.registry.get(key).map(|c| c.info.user.as_ref().map(|u| u.username.clone())) else {
            return;
        };
        if let Some(name) = &name {
            let changes = self.presence.disconnect(key, name);
            self.presence_changed(&changes);
        }
        let Some(c) = self.registry.remove(key) else { return };
        self.metrics.connections.dec();
        self.metrics.subscriptions.dec_by(c.subs.count() as i64);
        if let (Some((b, _)), Some(name)) = (&c.subs.board, &name) {
            // Not gone yet: a reload within the grace period must not flicker.
            self.presence.leave(*b, key, name, Instant::now());
        }
    }

    fn signal(&mut self, key: u64, board: BoardId, signal: Signal) {
        let Some(user) = self.registry.get(key).and_then(|c| c.info.user.clone()) else { return };
        if !self.access.is_member(board, user.id) {
            return;
        }
        let changes = self.presence.signal(board, key, &user.username, signal, Instant::now());
        self.presence_changed(&changes);
    }

    fn presence_state(&self, board: BoardId) -> Utf8Bytes {
        let users = self.presence.users(board);
        let activity: Activity =
            self.presence.active_cards(board).into_iter().map(|c| (c, self.presence.activity(board, c))).collect();
        let list = |typing: bool| {
            activity
                .iter()
                .flat_map(|(card, (e, t))| {
                    let who = if typing { t } else { e };
                    who.iter().map(|u| CardUser { card_id: *card, user: u })
                })
                .collect()
        };
        ServerMsg::PresenceState { board_id: board, users: &users, editing: list(false), typing: list(true) }.text()
    }
}
