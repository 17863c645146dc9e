//! A card's checklist: the list in the card editor and each item, which is also the live fragment
//! that is upserted into that list.
//!
//! handler or hub → renderer → **checklist templates** → HTML.

use maud::{Markup, html};

use crate::*;

/// One checklist item, the same for every viewer (so one render serves every connection).
pub struct ChecklistItemProps<'a> {
    pub id: i64,
    pub card_id: i64,
    pub text: &'a str,
    pub done: bool,
    pub rank: &'a str,
}

/// An item with its forms: tick or untick, move up or down, delete. Plain forms, so they work
/// without JavaScript; the board page's script posts them in place instead.
pub fn checklist_item(i: &ChecklistItemProps) -> Markup {
    let action = format!("/checklist/{}", i.id);
    html! {
        li.checklist-item id=(dom::checklist_item(i.id)) data-id=(i.id) data-rank=(i.rank) data-done[i.done] {
            form.inline method="post" action=(action) data-checklist-form {
                // The state to set, not a toggle: posting the same form twice changes nothing more.
                input type="hidden" name="done" value=(if i.done { "0" } else { "1" });
                button.tick type="submit" aria-pressed=(i.done)
                    aria-label={ @if i.done { "Untick " } @else { "Tick " } (i.text) } {
                    @if i.done { "☑" } @else { "☐" }
                }
            }
            " " span.checklist-text { (i.text) } " "
            form.inline.checklist-tools method="post" action={(action) "/move"} data-checklist-form {
                button.linkish type="submit" name="direction" value="up" aria-label={"Move " (i.text) " up"} { "↑" }
                button.linkish type="submit" name="direction" value="down" aria-label={"Move " (i.text) " down"} { "↓" }
            }
            form.inline method="post" action={(action) "/delete"} data-checklist-form {
                button.linkish type="submit" aria-label={"Delete " (i.text)} { "delete" }
            }
        }
    }
}

/// The checklist section of the card editor; `draft` is refused text given back to the add form.
pub fn checklist(card_id: i64, items: &[ChecklistItemProps], draft: &str) -> Markup {
    html! {
        section.checklist {
            h3 { "Checklist" }
            ol.checklist-items id=(dom::card_checklist(card_id)) { @for i in items { (checklist_item(i)) } }
            form.inline method="post" action={"/cards/" (card_id) "/checklist"} data-checklist-form data-checklist-add {
                input name="text" value=(draft) placeholder="Add an item" required maxlength="200" aria-label="New checklist item";
                button type="submit" { "Add" }
            }
        }
    }
}

/// The "2/5" on a card on the board; nothing when the card has no checklist.
pub fn checklist_count(done: i64, total: i64) -> Markup {
    html! {
        @if total > 0 {
            span.checklist-count data-checklist-count title="Checklist items done" data-complete[done == total] {
                "☑ " (done) "/" (total)
            }
        }
    }
}
