//! The board: cards, columns, members, filters, presence and activity. The page and its live
//! fragments use these same functions.
//!
//! handler or hub → renderer → **board templates** → HTML.

use maud::{Markup, html};

use crate::*;

/// A card as every view shows it. Viewer-independent, so one render serves every connection.
pub struct CardProps<'a> {
    pub id: i64,
    pub board_id: i64,
    pub column_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub assignee: Option<&'a str>,
    pub labels: &'a [String],
    pub rank: &'a str,
    pub version: i64,
    /// Ticked and total checklist items (the "2/5" on the card).
    pub checklist_done: i64,
    pub checklist_total: i64,
    /// Changed since the viewer's last visit: a mark on the page only, never in a live fragment.
    pub changed: bool,
}

/// A column choice in a card's "move to" control.
pub struct ColumnChoice<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// One card, the same for every viewer (so one render serves every connection showing it).
pub fn card(c: &CardProps) -> Markup {
    html! {
        li.card.changed[c.changed] id=(dom::card(c.id)) data-id=(c.id) data-rank=(c.rank) data-column=(c.column_id) data-version=(c.version) {
            a.card-title href={"/cards/" (c.id)} data-edit=(c.id) { (c.title) }
            @if c.changed { span.visually-hidden { " (changed since your last visit)" } }
            @if !c.description.is_empty() { p.card-desc { (c.description) } }
            @if !c.labels.is_empty() || c.assignee.is_some() || c.checklist_total > 0 {
                div.card-meta {
                    (checklist_count(c.checklist_done, c.checklist_total))
                    @for l in c.labels { span.label { (l) } }
                    @if let Some(a) = c.assignee { span.assignee { (avatar(a)) } }
                }
            }
            div.card-activity id=(dom::card_activity(c.id)) {}
        }
    }
}

/// A column's header: name, count, and its controls.
pub struct ColumnProps<'a> {
    pub id: i64,
    pub board_id: i64,
    pub name: &'a str,
    pub rank: &'a str,
    pub is_done: bool,
}

/// A column's header; `draft` is a refused new name, shown back in an open rename form.
pub fn column_head(c: &ColumnProps, count: usize, draft: Option<&str>) -> Markup {
    html! {
        header.column-head id=(dom::column_head(c.id)) {
            h2 { span.column-name { (c.name) } " " span.count data-count { (count) } @if c.is_done { " " span.done-tag { "done" } } }
            details.column-tools open[draft.is_some()] {
                summary aria-label="Column actions" { "⋯" }
                form.inline method="post" action={"/columns/" (c.id)} {
                    input name="name" value=(draft.unwrap_or(c.name)) required maxlength="100" aria-label="Column name";
                    button type="submit" { "Rename" }
                }
                form.inline method="post" action={"/columns/" (c.id) "/move"} {
                    button type="submit" name="direction" value="left" { "← Move left" }
                    button type="submit" name="direction" value="right" { "Move right →" }
                }
                form.inline method="post" action={"/columns/" (c.id) "/delete"} {
                    button.danger type="submit" { "Delete column" }
                }
            }
        }
    }
}

/// A whole column with its (already filtered) cards, and a refused text of one of its forms.
pub fn column(c: &ColumnProps, cards: &[CardProps], draft: Option<Draft>) -> Markup {
    let rename = match draft {
        Some(Draft::ColumnName { column, name }) if column == c.id => Some(name),
        _ => None,
    };
    let title = match draft {
        Some(Draft::Card { column, title }) if column == c.id => Some(title),
        _ => None,
    };
    html! {
        section.column id=(dom::column(c.id)) data-id=(c.id) data-rank=(c.rank) {
            (column_head(c, cards.len(), rename))
            ol.cards id=(dom::column_cards(c.id)) data-column=(c.id) {
                @for card_view in cards { (card(card_view)) }
            }
            form.add-card method="post" action={"/boards/" (c.board_id) "/cards"} {
                input type="hidden" name="column_id" value=(c.id);
                input name="title" placeholder="Add a card" required value=[title] aria-label={"New card in " (c.name)};
                button type="submit" { "Add" }
            }
        }
    }
}

/// A board member, for the member list and the filters.
pub struct MemberProps<'a> {
    pub username: &'a str,
    pub is_owner: bool,
}

/// The member list and its add form; `draft` is a refused username, kept in the form.
pub fn members(board_id: i64, members: &[MemberProps], draft: Option<&str>) -> Markup {
    html! {
        div.members id=(dom::MEMBERS) {
            h2 { "Members" }
            ul {
                @for m in members {
                    li data-member=(m.username) {
                        (avatar(m.username)) " " (m.username)
                        @if m.is_owner { " (owner)" } @else {
                            form.inline method="post" action={"/boards/" (board_id) "/members/" (m.username) "/delete"} {
                                button.linkish type="submit" aria-label={"Remove " (m.username)} { "remove" }
                            }
                        }
                    }
                }
            }
            form.inline method="post" action={"/boards/" (board_id) "/members"} {
                input name="username" placeholder="username" required value=[draft] aria-label="Username to add";
                button type="submit" { "Add member" }
            }
        }
    }
}

/// The board's filter as the page URL carries it.
pub struct FilterProps<'a> {
    pub hide_done: bool,
    /// "", "me", "none" or a username.
    pub assignee: &'a str,
    pub label: &'a str,
    pub q: &'a str,
    /// The query string of this view (without `?`), for the socket URL.
    pub query: &'a str,
}

/// Everything the board page shows.
pub struct BoardPage<'a> {
    pub id: i64,
    pub name: &'a str,
    pub seq: i64,
    pub epoch: &'a str,
    pub columns: Vec<(ColumnProps<'a>, Vec<CardProps<'a>>)>,
    pub members: Vec<MemberProps<'a>>,
    pub filter: FilterProps<'a>,
    pub error: Option<&'a str>,
    /// Text the user typed that was refused, kept in the form it came from.
    pub draft: Option<Draft<'a>>,
    /// The notice after a change of the user's own, with its Undo button.
    pub undo: Option<UndoNotice<'a>>,
    /// The latest entries of the board's activity, newest first (the panel beside the board).
    pub activity: Vec<EntryProps<'a>>,
    /// What changed since the viewer's last visit (none on a first visit).
    pub since: Option<SinceProps>,
}

/// Refused text of one of the board page's forms, put back in that form (the page shows the error).
#[derive(Clone, Copy, Debug)]
pub enum Draft<'a> {
    /// A new card's title, in its column's add form.
    Card { column: i64, title: &'a str },
    /// A column's new name, in its (opened) rename form.
    ColumnName { column: i64, name: &'a str },
    /// The board's new name, in its (opened) rename form.
    BoardName(&'a str),
    /// A new column's name.
    NewColumn(&'a str),
    /// The username of a member to add.
    Member(&'a str),
}

/// The board's name and its rename form; `draft` is a refused new name, shown back in an open form.
pub fn board_title(id: i64, name: &str, draft: Option<&str>) -> Markup {
    html! {
        div.board-title id=(dom::BOARD_TITLE) {
            h1 { (name) }
            details open[draft.is_some()] {
                summary { "Rename" }
                form.inline method="post" action={"/boards/" (id)} {
                    input name="name" value=(draft.unwrap_or(name)) required maxlength="100" aria-label="Board name";
                    button type="submit" { "Rename" }
                }
            }
        }
    }
}

pub fn board_page(ctx: &Ctx, b: &BoardPage) -> Markup {
    page(
        ctx,
        b.name,
        html! {
            (undo_region(b.id, b.undo.as_ref()))
            // Outside `#board`, so a live `reset` of the board leaves them as they are.
            @if let Some(s) = &b.since { (since_line(s)) }
            (board(b, ctx.user.unwrap_or("")))
            (activity_panel(b.id, &b.activity))
            dialog id="editor" {}
        },
    )
}

/// The board itself: the page's body, and the content of a live `reset`.
pub fn board(b: &BoardPage, me: &str) -> Markup {
    let f = &b.filter;
    let (title, new_column, member) = match b.draft {
        Some(Draft::BoardName(s)) => (Some(s), None, None),
        Some(Draft::NewColumn(s)) => (None, Some(s), None),
        Some(Draft::Member(s)) => (None, None, Some(s)),
        _ => (None, None, None),
    };
    html! {
        div.board id="board" data-board=(b.id) data-seq=(b.seq) data-epoch=(b.epoch) data-query=(f.query)
            data-me=(me) {
            div.board-bar {
                (board_title(b.id, b.name, title))
                div.presence id=(dom::PRESENCE) aria-label="On this board now" {}
                span.live-status id="live-status" data-state="offline" role="status" { "offline" }
            }
            @if let Some(e) = b.error { p.error role="alert" { (e) } }
            form.filters method="get" action={"/boards/" (b.id)} {
                label { input type="checkbox" name="hide_done" value="1" checked[f.hide_done]; " Hide done" }
                label { "Assignee "
                    select name="assignee" {
                        option value="" selected[f.assignee.is_empty()] { "anyone" }
                        option value="me" selected[f.assignee == "me"] { "me" }
                        option value="none" selected[f.assignee == "none"] { "nobody" }
                        @for m in &b.members { option value=(m.username) selected[f.assignee == m.username] { (m.username) } }
                    }
                }
                label { "Label " input name="label" value=(f.label) size="8"; }
                label { "Search " input type="search" name="q" value=(f.q) size="12"; }
                button type="submit" { "Apply" }
                a href={"/boards/" (b.id)} { "Clear" }
            }
            div.columns id=(dom::COLUMNS) {
                @for (c, cards) in &b.columns {
                    (column(c, cards, b.draft))
                }
                form.add-column method="post" action={"/boards/" (b.id) "/columns"} {
                    input name="name" placeholder="New column" required maxlength="100" value=[new_column] aria-label="New column name";
                    button type="submit" { "Add column" }
                }
            }
            (members(b.id, &b.members, member))
        }
    }
}

/// The presence bar: the users on a board now, each once however many tabs they have open.
pub fn presence(users: &[String]) -> Markup {
    html! {
        div.presence id=(dom::PRESENCE) aria-label="On this board now" {
            @for u in users { span.present data-present=(u) { (avatar(u)) } }
        }
    }
}

/// "Alice is editing", "Bob is typing…" on a card.
pub fn card_activity(editing: &[&str], typing: &[&str]) -> Markup {
    html! {
        @for who in editing { span.editing data-editing=(who) { (avatar(who)) " " (who) " is editing" } }
        @for who in typing { span.typing data-typing-user=(who) { (who) " is typing…" } }
    }
}
