//! Activity: one entry ("bob moved “Fix login” from Todo to Doing · 3 minutes ago"), the board's
//! panel, the full activity page, a card's history, and the "since your last visit" line. The page
//! and the live entries pushed over the board's socket use the same [`entry`].
//!
//! handler or hub → renderer → **activity templates** → HTML.

use maud::{Markup, html};

use crate::*;

/// One change, as every viewer sees it.
pub struct EntryProps<'a> {
    pub seq: i64,
    pub actor: Option<&'a str>,
    /// The whole sentence, actor first.
    pub summary: &'a str,
    /// RFC 3339, for `<time datetime>` (the script keeps the words below current).
    pub at: String,
    /// "3 minutes ago", as the server saw it when rendering.
    pub ago: String,
    /// The card the change concerns (its own, a comment's or a checklist item's): a live entry is
    /// copied into that card's history by the page's script when its editor is open.
    pub card: Option<i64>,
}

/// Where an entry is shown: the board's feed or a card's history (two ids for one change).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Board,
    Card,
}

/// The rank that keeps a feed newest first (lists are kept in ascending rank order).
pub fn entry_rank(seq: i64) -> String {
    format!("{:020}", i64::MAX - seq)
}

pub fn entry(e: &EntryProps, feed: Feed) -> Markup {
    let id = match feed {
        Feed::Board => dom::activity_entry(e.seq),
        Feed::Card => dom::history_entry(e.seq),
    };
    html! {
        li.entry id=(id) data-seq=(e.seq) data-rank=(entry_rank(e.seq)) data-card=[e.card] {
            @if let Some(a) = e.actor { (avatar(a)) " " }
            span.entry-text { (e.summary) }
            " · "
            time datetime=(e.at) data-relative { (e.ago) }
        }
    }
}

/// The latest entries beside the board, with a link to all of them.
pub fn activity_panel(board_id: i64, entries: &[EntryProps]) -> Markup {
    html! {
        section.activity-panel aria-labelledby="activity-title" {
            h2 id="activity-title" { "Activity" }
            ol.feed id=(dom::ACTIVITY) aria-live="polite" { @for e in entries { (entry(e, Feed::Board)) } }
            p.feed-empty { "Nothing has happened here yet." }
            p { a href={"/boards/" (board_id) "/activity"} { "All activity" } }
        }
    }
}

/// A card's history, in its editor.
pub fn card_history(card_id: i64, entries: &[EntryProps]) -> Markup {
    html! {
        section.history {
            h3 { "History" }
            ol.feed id=(dom::card_history(card_id)) { @for e in entries { (entry(e, Feed::Card)) } }
        }
    }
}

/// "7 changes since your last visit", linking to those changes.
pub struct SinceProps {
    pub board_id: i64,
    pub since: i64,
    pub changes: i64,
}

pub fn since_line(s: &SinceProps) -> Markup {
    html! {
        p.since-visit role="status" {
            a href={"/boards/" (s.board_id) "/activity?since=" (s.since)} {
                (s.changes) @if s.changes == 1 { " change" } @else { " changes" } " since your last visit"
            }
        }
    }
}

/// The full activity page of a board.
pub struct ActivityPage<'a> {
    pub board_id: i64,
    pub board_name: &'a str,
    pub entries: Vec<EntryProps<'a>>,
    /// Set when the page shows only what came after a visit.
    pub since: Option<i64>,
    /// The `before` of the next, older page, if there is one.
    pub older: Option<i64>,
}

pub fn activity_page(ctx: &Ctx, p: &ActivityPage) -> Markup {
    let older = p.older.map(|before| match p.since {
        Some(since) => format!("/boards/{}/activity?before={before}&since={since}", p.board_id),
        None => format!("/boards/{}/activity?before={before}", p.board_id),
    });
    page(
        ctx,
        &format!("Activity · {}", p.board_name),
        html! {
            section.activity-page {
                p { a href={"/boards/" (p.board_id)} { "← Back to " (p.board_name) } }
                h1 { "Activity on " (p.board_name) }
                @if p.since.is_some() {
                    p { "Changes since your last visit. " a href={"/boards/" (p.board_id) "/activity"} { "Show all activity" } }
                }
                @if p.entries.is_empty() { p { "Nothing to show." } }
                ol.feed id=(dom::ACTIVITY) { @for e in &p.entries { (entry(e, Feed::Board)) } }
                @if let Some(href) = older { p { a rel="next" href=(href) { "Older" } } }
            }
        },
    )
}
