//! The undo notice: "Moved to Done · Undo", a real button in a plain form, in a live region. The
//! page renders it from the one-shot notice a form post left; the board's script clones the
//! same markup from its `<template>` after a change it made without reloading.
//!
//! handler (notice from the session) or `assets/undo.js` → **undo notice** → HTML.

use maud::{Markup, html};

use crate::dom;

/// What the notice says and what its button undoes.
pub struct UndoNotice<'a> {
    /// The `seq` of the event the button undoes.
    pub seq: i64,
    /// "Moved to Done", "Card deleted", "Change undone".
    pub text: &'a str,
    /// "Undo", or "Redo" after an undo (an undo of the undo).
    pub button: &'a str,
}

/// The notice's live region, outside the board (a live `reset` of the board keeps it), with the
/// notice if there is one, and the template the board's script fills in.
pub fn undo_region(board_id: i64, notice: Option<&UndoNotice>) -> Markup {
    html! {
        div.undo-region id=(dom::UNDO) aria-live="polite" {
            @if let Some(n) = notice { (undo_notice(board_id, n)) }
        }
        template id=(dom::UNDO_TEMPLATE) { (undo_notice(board_id, &UndoNotice { seq: 0, text: "", button: "Undo" })) }
    }
}

/// One notice: its text and a form whose button posts the undo (the CSS hides it after about 10 s,
/// unless the pointer or the keyboard is on it).
pub fn undo_notice(board_id: i64, n: &UndoNotice) -> Markup {
    html! {
        form.undo-notice method="post" action={"/events/" (n.seq) "/undo"} data-undo=(n.seq) {
            input type="hidden" name="board_id" value=(board_id);
            span.undo-text { (n.text) }
            " · "
            button.undo-button type="submit" aria-keyshortcuts="Control+Z" { (n.button) }
        }
    }
}
