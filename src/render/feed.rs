//! Activity entries into the templates' props: the board's feed, a card's history, and the live
//! streams that add one entry to both (rendered once per event, whatever the number of pages).
//!
//! event log (pages) or hub (live) → **renderer** → activity templates → HTML.

use liveboard_templates::{self as t, dom};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    activity,
    domain::*,
    events::{Event, Record},
    repo::activity::Entry,
};

/// RFC 3339 to the second: what `<time datetime>` needs (on every page that shows a time), in fewer
/// bytes per live frame.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).unwrap_or_default()
}

/// An entry read from the log, as the page shows it now.
pub fn entry_props(e: &Entry, now: OffsetDateTime) -> t::EntryProps<'_> {
    t::EntryProps {
        seq: e.seq,
        actor: e.actor.as_deref(),
        summary: &e.summary,
        at: rfc3339(e.at),
        ago: activity::ago(e.at, now),
        card: e.card_id.map(|c| c.0),
    }
}

/// Entries read from the log, as the page shows them now.
pub fn entries(list: &[Entry]) -> Vec<t::EntryProps<'_>> {
    let now = OffsetDateTime::now_utc();
    list.iter().map(|e| entry_props(e, now)).collect()
}

/// The card a change concerns: its own, or the card of a comment or checklist item.
fn card_of(e: &Event) -> Option<CardId> {
    match e.after.as_ref().or(e.before.as_ref())? {
        Record::Cards(c) => Some(c.id),
        Record::Comments(c) => Some(c.card_id),
        Record::ChecklistItems(i) => Some(i.card_id),
        Record::Boards(_) | Record::Columns(_) | Record::Members(_) => None,
    }
}

/// The stream that adds `e`'s entry to the board's feed; `None` when the change has no sentence.
/// It goes to every page of the board, so it is one stream, not two: an open editor's history gets
/// its copy from the page's script (`assets/activity.js`, by the entry's `data-card`).
pub fn entry_stream(e: &Event, members: &[BoardMember]) -> Option<String> {
    let summary = e.summary.as_deref().filter(|s| !s.is_empty())?;
    let actor = e.actor_id.and_then(|a| members.iter().find(|m| m.id == a)).map(|m| m.username.as_str());
    let props = t::EntryProps {
        seq: e.seq,
        actor,
        summary,
        at: rfc3339(e.at),
        ago: activity::ago(e.at, OffsetDateTime::now_utc()),
        card: card_of(e).map(|c| c.0),
    };
    let rank = t::entry_rank(e.seq);
    let seq = e.seq;
    let m = maud::html! {
        (t::stream("upsert", &dom::activity_entry(seq), Some(dom::ACTIVITY), Some(&rank), seq, Some(t::entry(&props, t::Feed::Board))))
    };
    Some(m.into_string())
}
