//! The renderer: domain records into the templates' view structs, the full board, and the live
//! fragments. A fragment is rendered once per event and distinct output, never once per connection.
//!
//! hub → **renderer** → per-connection queue → socket.

use axum::extract::ws::Utf8Bytes;
use liveboard_templates::{self as t, dom};
use maud::Markup;
use serde_json::Value;

use crate::{
    domain::*,
    events::{Action, Event},
    metrics::Metrics,
    realtime::{
        hub::MemberEntry,
        views::{BoardCtx, PageFilter, Transition, View},
    },
};

pub fn card_view(c: &Card) -> t::CardView<'_> {
    t::CardView {
        id: c.id.0,
        board_id: c.board_id.0,
        column_id: c.column_id.0,
        title: &c.title,
        description: &c.description,
        assignee: c.assignee.as_deref(),
        labels: &c.labels,
        rank: &c.rank,
        version: c.version,
    }
}

pub fn column_view(c: &Column, done: Option<ColumnId>) -> t::ColumnView<'_> {
    t::ColumnView { id: c.id.0, board_id: c.board_id.0, name: &c.name, rank: &c.rank, is_done: done == Some(c.id) }
}

fn comment_view(c: &Comment) -> t::CommentView<'_> {
    // `mine` is decided in the browser (data-author vs the page's user), so one render serves all.
    t::CommentView { id: c.id.0, author: &c.author, body: &c.body, mine: false }
}

/// The board as `view` shows it: the page body, and the content of a live reset.
pub fn board(
    snap: &BoardSnapshot,
    view: &View,
    filter: &PageFilter,
    epoch: &str,
    me: &str,
    error: Option<&str>,
) -> Markup {
    let ctx = BoardCtx { done_column: snap.board.done_column_id };
    let query = filter.query();
    let page = board_page(snap, view, filter, &query, epoch, error, ctx);
    t::board(&page, me)
}

/// The view structs of a board page.
pub fn board_page<'a>(
    snap: &'a BoardSnapshot,
    view: &View,
    filter: &'a PageFilter,
    query: &'a str,
    epoch: &'a str,
    error: Option<&'a str>,
    ctx: BoardCtx,
) -> t::BoardPage<'a> {
    let columns = snap
        .columns
        .iter()
        .map(|c| {
            let cards =
                snap.cards.iter().filter(|k| k.column_id == c.id && view.matches(k, &ctx)).map(card_view).collect();
            (column_view(c, snap.board.done_column_id), cards)
        })
        .collect();
    t::BoardPage {
        id: snap.board.id.0,
        name: &snap.board.name,
        seq: snap.seq,
        epoch,
        columns,
        members: snap
            .members
            .iter()
            .map(|m| t::MemberView { username: &m.username, is_owner: m.role == "owner" })
            .collect(),
        filter: t::FilterView {
            hide_done: filter.hide_done(),
            assignee: filter.assignee.as_deref().unwrap_or(""),
            label: filter.label.as_deref().unwrap_or(""),
            q: filter.q.as_deref().unwrap_or(""),
            query,
        },
        error,
        draft: None,
    }
}

fn bytes(m: Markup, metrics: &Metrics) -> Utf8Bytes {
    metrics.renders.inc();
    Utf8Bytes::from(m.into_string())
}

/// The live fragments of one event, rendered lazily and at most once each, whatever the number of views.
pub struct Fragments<'a> {
    e: &'a Event,
    ctx: BoardCtx,
    members: Vec<MemberEntry>,
    metrics: &'a Metrics,
    cards: Option<(Option<Card>, Option<Card>)>,
    upsert: Option<Utf8Bytes>,
    remove: Option<Utf8Bytes>,
    common: Option<Option<Utf8Bytes>>,
}

impl<'a> Fragments<'a> {
    pub fn new(e: &'a Event, ctx: BoardCtx, members: Vec<MemberEntry>, metrics: &'a Metrics) -> Self {
        let cards = (e.collection == "cards").then(|| (e.before::<Card>(), e.after::<Card>()));
        Self { e, ctx, members, metrics, cards, upsert: None, remove: None, common: None }
    }

    /// A board whose done column changed shows different cards in filtered views: those resync.
    pub fn changes_view_shape(&self) -> bool {
        if self.e.collection != "boards" || self.e.action != Action::Update {
            return false;
        }
        let (b, a) = (self.e.before::<Board>(), self.e.after::<Board>());
        b.map(|b| b.done_column_id) != a.map(|a| a.done_column_id)
    }

    /// The frame `view` gets for this event, if any.
    pub fn for_view(&mut self, view: &View) -> Option<Utf8Bytes> {
        let seq = self.e.seq;
        let Some((before, after)) = &self.cards else {
            if self.common.is_none() {
                self.common = Some(self.render_common());
            }
            return self.common.clone().flatten();
        };
        match view.transition(before.as_ref(), after.as_ref(), &self.ctx) {
            Transition::Outside => None,
            Transition::Enter | Transition::Stay => {
                let card = after.as_ref()?;
                Some(
                    self.upsert
                        .get_or_insert_with(|| {
                            let m = t::stream(
                                "upsert",
                                &dom::card(card.id.0),
                                Some(&dom::column_cards(card.column_id.0)),
                                Some(&card.rank),
                                seq,
                                Some(t::card(&card_view(card))),
                            );
                            bytes(m, self.metrics)
                        })
                        .clone(),
                )
            }
            Transition::Leave => {
                let id = self.e.record_id;
                Some(
                    self.remove
                        .get_or_insert_with(|| {
                            bytes(t::stream("remove", &dom::card(id), None, None, seq, None), self.metrics)
                        })
                        .clone(),
                )
            }
        }
    }

    /// Fragments that are the same in every view: columns, the board's title, members, comments.
    fn render_common(&self) -> Option<Utf8Bytes> {
        let (e, seq) = (self.e, self.e.seq);
        let m: Markup = match (&*e.collection, e.action) {
            ("columns", Action::Delete) => t::stream("remove", &dom::column(e.record_id), None, None, seq, None),
            ("columns", Action::Create) => {
                let c = e.after::<Column>()?;
                let cv = column_view(&c, self.ctx.done_column);
                t::stream(
                    "upsert",
                    &dom::column(c.id.0),
                    Some(dom::COLUMNS),
                    Some(&c.rank),
                    seq,
                    Some(t::column(&cv, &[], None)),
                )
            }
            ("columns", Action::Update) => {
                let c = e.after::<Column>()?;
                let cv = column_view(&c, self.ctx.done_column);
                maud::html! {
                    (t::stream("upsert", &dom::column(c.id.0), Some(dom::COLUMNS), Some(&c.rank), seq, None))
                    (t::stream("replace", &dom::column_head(c.id.0), None, None, seq, Some(t::column_head(&cv, 0))))
                }
            }
            ("boards", Action::Update) => {
                let b = e.after::<Board>()?;
                t::stream("replace", dom::BOARD_TITLE, None, None, seq, Some(t::board_title(b.id.0, &b.name)))
            }
            ("members", _) => {
                let gone = (e.action == Action::Delete).then_some(e.record_id);
                let list: Vec<t::MemberView> = self
                    .members
                    .iter()
                    .filter(|m| Some(m.id.0) != gone)
                    .map(|m| t::MemberView { username: &m.username, is_owner: m.owner })
                    .collect();
                t::stream("replace", dom::MEMBERS, None, None, seq, Some(t::members(e.board_id.0, &list)))
            }
            ("comments", Action::Create) => {
                let c = e.after::<Comment>()?;
                let rank = format!("{:020}", c.id.0);
                t::stream(
                    "upsert",
                    &dom::comment(c.id.0),
                    Some(&dom::card_comments(c.card_id.0)),
                    Some(&rank),
                    seq,
                    Some(t::comment(&comment_view(&c))),
                )
            }
            ("comments", Action::Delete) => t::stream("remove", &dom::comment(e.record_id), None, None, seq, None),
            _ => return None,
        };
        Some(bytes(m, self.metrics))
    }
}

/// The JSON view events of one event: the card JSON is serialized once; each subscription's
/// message only adds its id around it.
pub struct JsonViewEvents<'a> {
    e: &'a Event,
    ctx: BoardCtx,
    cards: Option<(Option<Card>, Option<Card>)>,
}

impl<'a> JsonViewEvents<'a> {
    pub fn new(e: &'a Event, ctx: BoardCtx) -> Self {
        let cards = (e.collection == "cards").then(|| (e.before::<Card>(), e.after::<Card>()));
        Self { e, ctx, cards }
    }

    /// The `event` message for subscription `sub` with `view`, if the change concerns it.
    pub fn for_view(&mut self, view: &View, sub: &str) -> Option<Utf8Bytes> {
        let (before, after) = self.cards.as_ref()?;
        let (op, data) = match view.transition(before.as_ref(), after.as_ref(), &self.ctx) {
            Transition::Outside => return None,
            Transition::Enter => ("insert", self.e.after.as_ref()),
            Transition::Stay => ("update", self.e.after.as_ref()),
            Transition::Leave => ("delete", self.e.after.as_ref().or(self.e.before.as_ref())),
        };
        let msg = serde_json::json!({
            "type": "event",
            "subscription": sub,
            "operation": op,
            "data": data.unwrap_or(&Value::Null),
            "seq": self.e.seq,
        });
        Some(Utf8Bytes::from(msg.to_string()))
    }
}

/// The presence bar, as a live frame.
pub fn presence_frame(users: &[String], metrics: &Metrics) -> Utf8Bytes {
    bytes(t::stream("replace", dom::PRESENCE, None, None, 0, Some(t::presence(users))), metrics)
}

/// "Alice is editing" / "Bob is typing…" on one card, as a live frame.
pub fn activity_frame(card: CardId, editing: &[String], typing: &[String], metrics: &Metrics) -> Utf8Bytes {
    let e: Vec<&str> = editing.iter().map(String::as_str).collect();
    let ty: Vec<&str> = typing.iter().map(String::as_str).collect();
    let m = t::stream("update", &dom::card_activity(card.0), None, None, 0, Some(t::card_activity(&e, &ty)));
    bytes(m, metrics)
}

/// Tells a board page that its user's access ended.
pub fn revoked_frame(metrics: &Metrics) -> Utf8Bytes {
    bytes(t::stream("revoked", "board", None, None, 0, None), metrics)
}

/// An announcement banner, as a live frame.
pub fn banner_frame(message: &str, metrics: &Metrics) -> Utf8Bytes {
    bytes(t::stream("banner", dom::BANNER, None, None, 0, Some(t::banner(message))), metrics)
}

/// A whole-board reset: the board re-rendered in place after a gap that cannot be replayed.
pub fn reset_frame(board: Markup, metrics: &Metrics) -> Utf8Bytes {
    bytes(t::stream("reset", "board", None, None, 0, Some(board)), metrics)
}
