//! The renderer: domain records into the templates' props, the full board, and the live HTML
//! fragments (plus the JSON view events, which follow the same enter / stay / leave rule). A
//! fragment is rendered once per event and distinct output, never once per connection.
//!
//! hub → **renderer** → per-connection queue → socket.

use crate::{
    domain::*,
    events::{Action, Event, Record},
    metrics::Metrics,
    protocol::{ServerMsg, ViewOp},
    views::{BoardCtx, PageFilter, Transition, View},
};
use axum::extract::ws::Utf8Bytes;
use liveboard_templates::{self as t, dom};
use maud::Markup;

/// Activity entries: the board's feed and a card's history, for pages and live frames.
pub mod feed;

pub fn card_props(c: &Card) -> t::CardProps<'_> {
    t::CardProps {
        id: c.id.0,
        board_id: c.board_id.0,
        column_id: c.column_id.0,
        title: &c.title,
        description: &c.description,
        assignee: c.assignee.as_deref(),
        labels: &c.labels,
        rank: &c.rank,
        version: c.version,
        checklist_done: c.checklist_done,
        checklist_total: c.checklist_total,
        changed: false,
    }
}

pub fn checklist_item_props(i: &ChecklistItem) -> t::ChecklistItemProps<'_> {
    t::ChecklistItemProps { id: i.id.0, card_id: i.card_id.0, text: &i.text, done: i.done, rank: &i.rank }
}

pub fn column_props(c: &Column, done: Option<ColumnId>) -> t::ColumnProps<'_> {
    t::ColumnProps { id: c.id.0, board_id: c.board_id.0, name: &c.name, rank: &c.rank, is_done: done == Some(c.id) }
}

fn comment_props(c: &Comment) -> t::CommentProps<'_> {
    // `mine` is decided in the browser (data-author vs the page's user), so one render serves all.
    t::CommentProps { id: c.id.0, author: &c.author, body: &c.body, mine: false }
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
                snap.cards.iter().filter(|k| k.column_id == c.id && view.matches(k, &ctx)).map(card_props).collect();
            (column_props(c, snap.board.done_column_id), cards)
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
            .map(|m| t::MemberProps { username: &m.username, is_owner: m.role == Role::Owner })
            .collect(),
        filter: t::FilterProps {
            hide_done: filter.hide_done(),
            assignee: filter.assignee.as_deref().unwrap_or(""),
            label: filter.label.as_deref().unwrap_or(""),
            q: filter.q.as_deref().unwrap_or(""),
            query,
        },
        error,
        draft: None,
        undo: None,
        activity: Vec::new(),
        since: None,
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
    /// The board's members after the event (for the member list).
    members: &'a [BoardMember],
    metrics: &'a Metrics,
    cards: Option<(Option<&'a Card>, Option<&'a Card>)>,
    upsert: Option<Utf8Bytes>,
    remove: Option<Utf8Bytes>,
    common: Option<Option<Utf8Bytes>>,
    /// The activity entry's streams (rendered once, part of every frame of this event), and the
    /// frame of a view that shows nothing else of the event.
    entry: Option<Option<String>>,
    entry_only: Option<Utf8Bytes>,
}

impl<'a> Fragments<'a> {
    pub fn new(e: &'a Event, ctx: BoardCtx, members: &'a [BoardMember], metrics: &'a Metrics) -> Self {
        Self {
            e,
            ctx,
            members,
            metrics,
            cards: e.typed::<Card>(),
            upsert: None,
            remove: None,
            common: None,
            entry: None,
            entry_only: None,
        }
    }

    /// A board whose done column changed shows different cards in filtered views: those resync.
    pub fn changes_view_shape(&self) -> bool {
        match self.e.typed::<Board>() {
            Some((Some(b), Some(a))) => b.done_column_id != a.done_column_id,
            _ => false,
        }
    }

    /// The frame `view` gets for this event, if any: its change to the board, then its activity
    /// entry (which every view gets, whether or not it shows the change).
    pub fn for_view(&mut self, view: &View) -> Option<Utf8Bytes> {
        if self.entry.is_none() {
            self.entry = Some(feed::entry_stream(self.e, self.members));
        }
        let changes = self.changes_for_view(view);
        if changes.is_some() || self.entry.as_ref().is_some_and(Option::is_none) {
            return changes;
        }
        let entry = self.entry.clone().flatten()?;
        Some(self.entry_only.get_or_insert_with(|| bytes(maud::PreEscaped(entry), self.metrics)).clone())
    }

    /// The entry's streams to render after a change's own, or nothing.
    fn entry_markup(&self) -> maud::PreEscaped<String> {
        maud::PreEscaped(self.entry.clone().flatten().unwrap_or_default())
    }

    fn changes_for_view(&mut self, view: &View) -> Option<Utf8Bytes> {
        let seq = self.e.seq;
        let entry = self.entry_markup();
        let Some((before, after)) = &self.cards else {
            if self.common.is_none() {
                self.common = Some(self.render_common());
            }
            return self.common.clone().flatten();
        };
        match view.transition(*before, *after, &self.ctx) {
            Transition::Outside => None,
            Transition::Enter | Transition::Stay => {
                let card = (*after)?;
                Some(
                    self.upsert
                        .get_or_insert_with(|| {
                            let m = t::stream(
                                "upsert",
                                &dom::card(card.id.0),
                                Some(&dom::column_cards(card.column_id.0)),
                                Some(&card.rank),
                                seq,
                                Some(t::card(&card_props(card))),
                            );
                            bytes(maud::html! { (m) (entry) }, self.metrics)
                        })
                        .clone(),
                )
            }
            Transition::Leave => {
                let id = self.e.record_id;
                Some(
                    self.remove
                        .get_or_insert_with(|| {
                            let m = t::stream("remove", &dom::card(id), None, None, seq, None);
                            bytes(maud::html! { (m) (entry) }, self.metrics)
                        })
                        .clone(),
                )
            }
        }
    }

    /// Fragments that are the same in every view: columns, the board's title, members, comments,
    /// checklist items.
    fn render_common(&self) -> Option<Utf8Bytes> {
        let (e, seq) = (self.e, self.e.seq);
        let m: Markup = match (&e.after, e.action) {
            (_, Action::Delete) => match e.before.as_ref()? {
                Record::Columns(c) => t::stream("remove", &dom::column(c.id.0), None, None, seq, None),
                Record::Comments(c) => t::stream("remove", &dom::comment(c.id.0), None, None, seq, None),
                Record::ChecklistItems(i) => t::stream("remove", &dom::checklist_item(i.id.0), None, None, seq, None),
                Record::Members(_) => self.members_list(),
                // A deleted board closes its pages (see the hub); cards are per view (above).
                Record::Boards(_) | Record::Cards(_) => return None,
            },
            (Some(Record::Columns(c)), action) => {
                let cv = column_props(c, self.ctx.done_column);
                let place = t::stream(
                    "upsert",
                    &dom::column(c.id.0),
                    Some(dom::COLUMNS),
                    Some(&c.rank),
                    seq,
                    (action == Action::Create).then(|| t::column(&cv, &[], None)),
                );
                if action == Action::Create {
                    place
                } else {
                    maud::html! {
                        (place)
                        (t::stream("replace", &dom::column_head(c.id.0), None, None, seq, Some(t::column_head(&cv, 0, None))))
                    }
                }
            }
            (Some(Record::Boards(b)), Action::Update) => {
                t::stream("replace", dom::BOARD_TITLE, None, None, seq, Some(t::board_title(b.id.0, &b.name, None)))
            }
            (Some(Record::Members(_)), _) => self.members_list(),
            (Some(Record::Comments(c)), Action::Create) => {
                let rank = format!("{:020}", c.id.0);
                t::stream(
                    "upsert",
                    &dom::comment(c.id.0),
                    Some(&dom::card_comments(c.card_id.0)),
                    Some(&rank),
                    seq,
                    Some(t::comment(&comment_props(c))),
                )
            }
            // Into the card editor's list, by rank; the card's "2/5" follows with the card's own event.
            (Some(Record::ChecklistItems(i)), _) => t::stream(
                "upsert",
                &dom::checklist_item(i.id.0),
                Some(&dom::card_checklist(i.card_id.0)),
                Some(&i.rank),
                seq,
                Some(t::checklist_item(&checklist_item_props(i))),
            ),
            // A new board has no page open yet; comments are never edited; cards are per view.
            (Some(Record::Boards(_) | Record::Comments(_) | Record::Cards(_)), _) | (None, _) => return None,
        };
        Some(bytes(maud::html! { (m) (self.entry_markup()) }, self.metrics))
    }

    fn members_list(&self) -> Markup {
        // Rendered before the hub forgets a removed member: leave them out here.
        let gone = (self.e.action == Action::Delete).then_some(self.e.record_id);
        let list: Vec<t::MemberProps> = self
            .members
            .iter()
            .filter(|m| Some(m.id.0) != gone)
            .map(|m| t::MemberProps { username: &m.username, is_owner: m.role == Role::Owner })
            .collect();
        t::stream("replace", dom::MEMBERS, None, None, self.e.seq, Some(t::members(self.e.board_id.0, &list, None)))
    }
}

/// The JSON view events of one event: what each view subscription is sent (`insert`, `update`,
/// `delete`), decided by the same transition as the HTML fragments.
pub struct JsonViewEvents<'a> {
    e: &'a Event,
    ctx: BoardCtx,
    cards: Option<(Option<&'a Card>, Option<&'a Card>)>,
}

impl<'a> JsonViewEvents<'a> {
    pub fn new(e: &'a Event, ctx: BoardCtx) -> Self {
        Self { e, ctx, cards: e.typed::<Card>() }
    }

    /// The `event` message for subscription `sub` with `view`, if the change concerns it.
    pub fn for_view(&mut self, view: &View, sub: &str) -> Option<Utf8Bytes> {
        let (before, after) = self.cards?;
        let (operation, data) = match view.transition(before, after, &self.ctx) {
            Transition::Outside => return None,
            Transition::Enter => (ViewOp::Insert, self.e.after.as_ref()),
            Transition::Stay => (ViewOp::Update, self.e.after.as_ref()),
            Transition::Leave => (ViewOp::Delete, self.e.after.as_ref().or(self.e.before.as_ref())),
        };
        Some(ServerMsg::Event { subscription: sub, operation, data, seq: self.e.seq }.text())
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

/// A channel message's fragment for board pages, if it has one: the inbox badge, from a message on
/// the `notifications` channel that carries the new unread count.
pub fn channel_page_frame(msg: &crate::channels::ChannelMsg, metrics: &Metrics) -> Option<Utf8Bytes> {
    let unread = msg.data.get("unread")?.as_i64()?;
    (msg.channel == crate::channels::Channel::Notifications)
        .then(|| bytes(t::stream("replace", dom::INBOX_BADGE, None, None, 0, Some(t::inbox_badge(unread))), metrics))
}

/// An announcement banner, as a live frame.
pub fn banner_frame(message: &str, metrics: &Metrics) -> Utf8Bytes {
    bytes(t::stream("banner", dom::BANNER, None, None, 0, Some(t::banner(message))), metrics)
}

/// A whole-board reset: the board re-rendered in place after a gap that cannot be replayed.
pub fn reset_frame(board: Markup, metrics: &Metrics) -> Utf8Bytes {
    bytes(t::stream("reset", "board", None, None, 0, Some(board)), metrics)
}
