//! A card's editor and its comments.
//!
//! handler or hub → renderer → **card templates** → HTML.

use maud::{Markup, html};

use crate::*;

/// A comment under a card.
pub struct CommentProps<'a> {
    pub id: i64,
    pub author: &'a str,
    pub body: &'a str,
    pub mine: bool,
}

pub fn comment(c: &CommentProps) -> Markup {
    html! {
        li.comment id=(dom::comment(c.id)) data-author=(c.author) {
            (avatar(c.author)) " " strong { (c.author) } " " span.comment-body { (c.body) }
            @if c.mine {
                form.inline method="post" action={"/comments/" (c.id) "/delete"} {
                    button.linkish type="submit" { "delete" }
                }
            }
        }
    }
}

/// A change someone else made while this user was editing.
pub struct ChangeProps<'a> {
    pub who: &'a str,
    pub field: &'a str,
    pub from: String,
    pub to: String,
}

/// The card editor: its form keeps what the user typed, even when the save was refused.
pub struct EditorProps<'a> {
    pub card: CardProps<'a>,
    /// Field values as the user typed them (or as stored when the editor opens).
    pub title: &'a str,
    pub description: &'a str,
    pub assignee: &'a str,
    pub labels: &'a str,
    /// The version the edit is based on.
    pub version: i64,
    pub members: Vec<&'a str>,
    /// The board's columns: the editor's "move to" control (works without JavaScript).
    pub columns: Vec<ColumnChoice<'a>>,
    pub error: Option<&'a str>,
    /// Set when someone saved in between: what they changed.
    pub conflict: Option<Vec<ChangeProps<'a>>>,
    pub comments: Vec<CommentProps<'a>>,
    pub checklist: Vec<ChecklistItemProps<'a>>,
    /// Text for the checklist's add form: a refused item, kept as typed.
    pub checklist_draft: &'a str,
    /// What was typed in the comment form, given back when it was refused.
    pub comment_draft: &'a str,
    /// The card's history, newest first.
    pub history: Vec<EntryProps<'a>>,
}

pub fn editor(e: &EditorProps) -> Markup {
    let id = e.card.id;
    html! {
        div.editor id={"editor-" (id)} data-card=(id) data-board=(e.card.board_id) {
            div.editor-head {
                h2 { "Edit card" }
                a.close href={"/boards/" (e.card.board_id)} data-close { "Close" }
            }
            div.card-activity data-card-activity=(id) {}
            @if let Some(err) = e.error { p.error role="alert" { (err) } }
            @if let Some(changes) = &e.conflict {
                div.conflict role="alert" {
                    p { strong { "Someone saved this card while you were editing." } " Your text is kept below; check their changes, then save again." }
                    ul { @for c in changes { li { strong { (c.who) } " changed " (c.field) ": " del { (c.from) } " → " ins { (c.to) } } } }
                }
            }
            form.stack method="post" action={"/cards/" (id)} data-editor-form {
                input type="hidden" name="version" value=(e.version);
                label { "Title" input name="title" value=(e.title) required maxlength="200"; }
                label { "Description" textarea name="description" rows="5" data-typing { (e.description) } }
                label { "Assignee"
                    select name="assignee" {
                        option value="" selected[e.assignee.is_empty()] { "nobody" }
                        @for m in &e.members { option value=(m) selected[*m == e.assignee] { (m) } }
                    }
                }
                label { "Labels (comma separated)" input name="labels" value=(e.labels); }
                label { "Column"
                    select name="column_id" {
                        @for col in &e.columns { option value=(col.id) selected[col.id == e.card.column_id] { (col.name) } }
                    }
                }
                div.row {
                    button type="submit" { "Save" }
                    a href={"/boards/" (e.card.board_id)} data-close { "Cancel" }
                }
            }
            form.inline method="post" action={"/cards/" (id) "/move"} {
                label { "Move to "
                    select name="column_id" {
                        @for col in &e.columns { option value=(col.id) selected[col.id == e.card.column_id] { (col.name) } }
                    }
                }
                select name="place" aria-label="Position" {
                    option value="last" { "bottom" }
                    option value="first" { "top" }
                }
                button type="submit" { "Move" }
            }
            form.inline method="post" action={"/cards/" (id) "/delete"} {
                input type="hidden" name="version" value=(e.version);
                button.danger type="submit" { "Delete card" }
            }
            (checklist(id, &e.checklist, e.checklist_draft))
            section.comments {
                h3 { "Comments" }
                ol id=(dom::card_comments(id)) { @for c in &e.comments { (comment(c)) } }
                form.inline method="post" action={"/cards/" (id) "/comments"} data-comment-form {
                    input name="body" value=(e.comment_draft) placeholder="Write a comment" required maxlength="2000" data-typing aria-label="Comment";
                    button type="submit" { "Comment" }
                }
            }
            (card_history(id, &e.history))
        }
    }
}

pub fn editor_page(ctx: &Ctx, e: &EditorProps) -> Markup {
    page(ctx, e.card.title, editor(e))
}
