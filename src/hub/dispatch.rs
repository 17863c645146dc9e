//! Dispatch: one committed event → the connections that may and want to see it → shared frames.
//! Also the hub's other outputs: presence changes, custom events and channel messages, each rendered once.
//!
//! event source → **dispatch** (access check, pattern index, view transitions) → per-connection queues.

use std::{collections::BTreeSet, sync::Arc};

use axum::extract::ws::Utf8Bytes;
use serde_json::Value;

use super::{access, presence::Change, queue::Frame, queue::Out, task::HubTask};
use crate::{
    channels::{Access, ChannelMsg},
    domain::*,
    events::{Action, Event, Record},
    protocol::{PresenceEvent, ServerMsg},
    render,
};

impl HubTask {
    /// Routes one committed event. Called in `seq` order.
    pub(super) fn dispatch(&mut self, e: &Arc<Event>) {
        self.dispatched.set(e.seq);
        self.metrics.events_published.inc();
        self.access.apply_before(e);
        self.dispatch_patterns(e);
        self.dispatch_views(e);
        self.access.apply_after(e);
        self.after_access_change(e);
    }

    /// Pattern subscribers: from the index, each connection once, and only those who may see it.
    fn dispatch_patterns(&mut self, e: &Event) {
        let targets = self.registry.pattern_targets(e);
        if targets.is_empty() {
            return;
        }
        let allowed: Vec<u64> = targets
            .into_iter()
            .filter(|(k, through_all)| {
                self.registry
                    .get(*k)
                    .and_then(|c| c.info.user.as_ref())
                    .is_some_and(|u| access::may_see(u, *through_all, self.access.is_member(e.board_id, u.id)))
            })
            .map(|(k, _)| k)
            .collect();
        if allowed.is_empty() {
            return;
        }
        let frame = Frame::new(e.seq, ServerMsg::record_event(e).text());
        for k in allowed {
            self.frame(k, &frame);
        }
    }

    /// Board pages (HTML) and JSON view subscriptions of the event's board: each distinct fragment
    /// is rendered once, whatever the number of connections showing it.
    fn dispatch_views(&mut self, e: &Event) {
        let Some(room) = self.registry.room(e.board_id) else { return };
        let ctx = self.access.ctx(e.board_id);
        let members = self.access.members(e.board_id);
        let mut html = render::Fragments::new(e, ctx, members, &self.metrics);
        let mut json = render::JsonViewEvents::new(e, ctx);
        let reshaped = html.changes_view_shape();
        let mut sends: Vec<(u64, Arc<Frame>)> = Vec::new();
        let mut resyncs: Vec<u64> = Vec::new();
        for (view, keys) in &room.pages {
            if reshaped && !view.is_all() {
                resyncs.extend(keys.iter().copied());
            } else if let Some(text) = html.for_view(view) {
                let frame = Frame::new(e.seq, text);
                sends.extend(keys.iter().map(|k| (*k, frame.clone())));
            }
        }
        for (view, subs) in &room.json_views {
            if reshaped {
                resyncs.extend(subs.iter().map(|(k, _)| *k));
                continue;
            }
            for (k, sub) in subs {
                let known = self.registry.get(*k).and_then(|c| c.subs.views.get(sub)).is_some_and(|v| e.seq <= v.after);
                if known {
                    continue;
                }
                if let Some(text) = json.for_view(view, sub) {
                    sends.push((*k, Frame::new(e.seq, text)));
                }
            }
        }
        sends.retain(|(k, _)| {
            self.registry.get(*k).and_then(|c| c.user_id()).is_some_and(|u| self.access.is_member(e.board_id, u))
        });
        for (k, frame) in sends {
            self.frame(k, &frame);
        }
        for k in resyncs {
            self.send(k, Out::resync(e.seq, "view_changed"));
        }
        // Typing ends when the text is saved.
        if let (Some(Record::Cards(card)), Action::Update, Some(actor)) = (&e.after, e.action, e.actor_id)
            && let Some(name) = self.access.member(e.board_id, actor).map(|m| m.username.clone())
        {
            let changes = self.presence.saved(e.board_id, card.id, &name);
            self.presence_changed(&changes);
        }
    }

    /// A member removed (or a board deleted) loses its live connections to that board at once, and
    /// their presence there ends now, not after the grace period.
    fn after_access_change(&mut self, e: &Event) {
        let gone: Option<Option<&Member>> = match (&e.before, e.action) {
            (Some(Record::Members(m)), Action::Delete) => Some(Some(m)),
            (Some(Record::Boards(_)), Action::Delete) => Some(None),
            _ => None,
        };
        let Some(member) = gone else { return };
        let board = e.board_id;
        let keys: Vec<u64> = self
            .registry
            .conns()
            .filter(|(_, c)| member.is_none_or(|m| c.user_id() == Some(m.user_id)) && c.subs.touches(board))
            .map(|(k, _)| k)
            .collect();
        let revoked = Frame::new(e.seq, render::revoked_frame(&self.metrics));
        let forbidden = Frame::new(
            0,
            ServerMsg::Error { code: "FORBIDDEN", message: "your access to this board ended", board_id: Some(board) }
                .text(),
        );
        for k in keys {
            if self.registry.get(k).is_some_and(|c| c.is_board_page()) {
                self.frame(k, &revoked);
                self.registry.force_close(k, 4403, "access to this board ended");
                continue;
            }
            // JSON connections stay open; their subscriptions to this board end.
            let views: Vec<Arc<str>> = self
                .registry
                .get(k)
                .map(|c| c.subs.views.iter().filter(|(_, v)| v.board == board).map(|(id, _)| id.clone()).collect())
                .unwrap_or_default();
            let mut ended = views.iter().filter(|id| self.registry.remove_view(k, id).is_some()).count();
            ended += usize::from(self.registry.remove_presence(k, board));
            self.metrics.subscriptions.dec_by(ended as i64);
            self.frame(k, &forbidden);
        }
        if let Some(m) = member {
            let changes = self.presence.remove_user(board, &m.username);
            self.presence_changed(&changes);
        }
    }

    /// A custom event: to one connection, or to every JSON connection. An announcement (`html`)
    /// also goes to every board page, and to signed-in users only.
    pub(super) fn custom(&mut self, to: Option<String>, data: Value, html: Option<Utf8Bytes>) {
        let msg = Frame::new(0, ServerMsg::CustomEvent { collection: None, id: None, data: &data }.text());
        let json_keys: Vec<u64> = match &to {
            Some(id) => self.registry.by_id(id).into_iter().collect(),
            None => self
                .registry
                .conns()
                .filter(|(_, c)| !c.is_board_page() && (html.is_none() || c.info.user.is_some()))
                .map(|(k, _)| k)
                .collect(),
        };
        for k in json_keys {
            if self.registry.get(k).is_some_and(|c| !c.is_board_page()) {
                self.frame(k, &msg);
            }
        }
        if let Some(html) = html {
            let html = Frame::new(0, html);
            let pages: Vec<u64> = self.registry.conns().filter(|(_, c)| c.is_board_page()).map(|(k, _)| k).collect();
            for k in pages {
                self.frame(k, &html);
            }
        }
    }

    /// A message on an app channel: to its subscribers who may receive it now (the rule is checked
    /// here, per message, not only at subscribe: a removed member gets no more board notices), and
    /// its page fragment, if it has one, to the board pages of those who may.
    pub(super) fn channel(&mut self, msg: &ChannelMsg) {
        let may = |task: &Self, k: u64| {
            task.registry
                .get(k)
                .and_then(|c| c.user_id())
                .is_some_and(|u| msg.may_receive(u, |b| task.access.is_member(b, u)))
        };
        let subscribers: Vec<u64> = self.registry.channel_targets(msg).into_iter().filter(|k| may(self, *k)).collect();
        if !subscribers.is_empty() {
            let text = ServerMsg::CustomEvent { collection: Some(msg.channel.as_str()), id: msg.id, data: &msg.data };
            let frame = Frame::new(0, text.text());
            for k in subscribers {
                self.frame(k, &frame);
            }
        }
        let Some(html) = render::channel_page_frame(msg, &self.metrics) else { return };
        let pages: Vec<u64> = match (msg.channel.access(), msg.id) {
            // A user's pages are found through the user index, not by scanning every connection.
            (Access::OneUser, Some(u)) => self.registry.pages_of(UserId(u)).collect(),
            (Access::BoardMembers, Some(b)) => self.registry.pages(BoardId(b)),
            _ => self.registry.conns().map(|(k, _)| k).collect(),
        };
        let frame = Frame::new(0, html);
        for k in pages {
            if self.registry.get(k).is_some_and(|c| c.is_board_page()) && may(self, k) {
                self.frame(k, &frame);
            }
        }
    }

    /// Sends presence changes: the bar and card activity to board pages, the events to JSON presence subscribers.
    pub(super) fn presence_changed(&mut self, changes: &[Change]) {
        let boards: BTreeSet<BoardId> = changes.iter().map(|c| c.board).collect();
        for board in boards {
            let of_board: Vec<&Change> = changes.iter().filter(|c| c.board == board).collect();
            let pages = self.registry.pages(board);
            let mut sends: Vec<(u64, Arc<Frame>)> = Vec::new();
            if of_board.iter().any(|c| matches!(c.event, PresenceEvent::Join | PresenceEvent::Leave)) {
                let bar = Frame::new(0, render::presence_frame(&self.presence.users(board), &self.metrics));
                sends.extend(pages.iter().map(|k| (*k, bar.clone())));
            }
            let cards: BTreeSet<CardId> = of_board.iter().filter_map(|c| c.card).collect();
            for card in cards {
                let frame = Frame::new(0, self.activity_frame(board, card));
                sends.extend(pages.iter().map(|k| (*k, frame.clone())));
            }
            let subs: Vec<u64> =
                self.registry.room(board).map(|r| r.presence.iter().copied().collect()).unwrap_or_default();
            for c in of_board {
                let msg = ServerMsg::Presence { board_id: board, event: c.event, user: &c.user, card_id: c.card };
                let frame = Frame::new(0, msg.text());
                sends.extend(subs.iter().map(|k| (*k, frame.clone())));
            }
            for (k, frame) in sends {
                self.frame(k, &frame);
            }
        }
    }

    fn activity_frame(&self, board: BoardId, card: CardId) -> Utf8Bytes {
        let (editing, typing) = self.presence.activity(board, card);
        render::activity_frame(card, &editing, &typing, &self.metrics)
    }

    /// Sends the current "editing" and "typing" of every card to one newly opened page.
    pub(super) fn send_activity_to(&mut self, key: u64, board: BoardId) {
        let frames: Vec<Arc<Frame>> = self
            .presence
            .active_cards(board)
            .into_iter()
            .map(|card| Frame::new(0, self.activity_frame(board, card)))
            .collect();
        for f in frames {
            self.frame(key, &f);
        }
    }
}
