//! Templates: plain props structs in, `Markup` out. The same functions render the full page and the live
//! fragments pushed over the board's WebSocket, and every DOM id comes from [`dom`].
//!
//! This crate knows nothing of SQL, sessions or app state; it depends on maud alone.

/// Activity entries, the board's panel and page, a card's history, "since your last visit".
mod activity;
/// The board: cards, columns, members, filters, presence.
mod board;
/// A card's editor and comments.
mod card;
/// A card's checklist and its items.
mod checklist;
/// DOM ids, shared by the page and the live fragments that target it.
pub mod dom;
/// The inbox badge and the notifications page.
mod inbox;
/// Page chrome, avatars, the stream element.
mod layout;
/// Sign-up, log-in, boards list, settings, admin.
mod pages;
/// The undo notice after a change of your own.
mod undo;

pub use activity::*;
pub use board::*;
pub use card::*;
pub use checklist::*;
pub use inbox::*;
pub use layout::*;
pub use pages::*;
pub use undo::*;
