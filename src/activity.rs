//! Activity wording: one committed change in plain words ("bob moved “Fix login” from Todo to
//! Doing"), written into the event row in the change's own transaction, so the names stay as they
//! were at that moment and nobody downstream looks anything up.
//!
//! repository → writer ([`crate::db::WriteTx::record`] calls [`summary`]) → **event row's summary**
//! → activity page, board panel, card history, JSON API, live entries.
//!
//! Pure functions over the event and a small [`Names`] lookup (the writer implements it on its own
//! connection), so this module imports neither the database nor the web layer.

use crate::{
    domain::*,
    events::{Action, Collection, Event, Record},
};

/// What the wording needs to know beyond the event itself, as it stands inside the transaction.
pub trait Names {
    /// A column's name.
    fn column(&self, id: ColumnId) -> Option<String>;
    /// A card's title.
    fn card(&self, id: CardId) -> Option<String>;
    /// A user's name.
    fn user(&self, id: UserId) -> Option<String>;
}

/// Quoted text longer than this is cut, with an ellipsis.
const QUOTE_MAX: usize = 60;

/// The sentence for `e`, actor first; empty when the change shows nothing a person would notice
/// (a card's checklist count following a tick: the tick has its own sentence).
pub fn summary(e: &Event, names: &dyn Names) -> String {
    let what = predicate(e, names);
    if what.is_empty() {
        return what;
    }
    let who = e.actor_id.and_then(|a| names.user(a)).unwrap_or_else(|| "someone".to_owned());
    format!("{who} {what}")
}

/// Whether `part` is a comment or checklist item going or coming back with the card `e` deletes or
/// brings back, in the same change: the card's sentence says it all, so the activity leaves it out.
/// (A card deleted with its items and comments is one entry; so is one that an undo restores.)
pub fn part_of(part: &Event, e: &Event) -> bool {
    let card = match (&e.before, &e.after, e.action) {
        (Some(Record::Cards(c)), None, Action::Delete) | (None, Some(Record::Cards(c)), Action::Create) => c,
        _ => return false,
    };
    if part.action != e.action {
        return false;
    }
    match part.before.as_ref().or(part.after.as_ref()) {
        Some(Record::Comments(c)) => c.card_id == card.id,
        Some(Record::ChecklistItems(i)) => i.card_id == card.id,
        _ => false,
    }
}

/// The sentence for an event logged before summaries were written (its row has none).
pub fn fallback(actor: Option<&str>, collection: Collection, action: Action) -> String {
    let thing = match collection {
        Collection::Boards => "the board",
        Collection::Columns => "a column",
        Collection::Cards => "a card",
        Collection::Members => "a member",
        Collection::Comments => "a comment",
        Collection::ChecklistItems => "a checklist item",
    };
    let verb = match action {
        Action::Create => "created",
        Action::Update => "changed",
        Action::Delete => "deleted",
    };
    format!("{} {verb} {thing}", actor.unwrap_or("someone"))
}

/// How long ago `at` was, in words: "just now", "3 minutes ago", "yesterday". assets/activity.js
/// keeps the same words current in the browser.
pub fn ago(at: time::OffsetDateTime, now: time::OffsetDateTime) -> String {
    let secs = (now - at).whole_seconds().max(0);
    match secs {
        0..45 => "just now".to_owned(),
        45..90 => "a minute ago".to_owned(),
        90..2_700 => format!("{} minutes ago", (secs + 30) / 60),
        2_700..5_400 => "an hour ago".to_owned(),
        5_400..79_200 => format!("{} hours ago", (secs + 1_800) / 3600),
        79_200..129_600 => "yesterday".to_owned(),
        129_600..2_592_000 => format!("{} days ago", (secs + 43_200) / 86_400),
        _ => format!("on {}", at.date()),
    }
}

/// `“text”`, cut to [`QUOTE_MAX`] characters.
fn quote(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > QUOTE_MAX {
        let cut: String = s.chars().take(QUOTE_MAX - 1).collect();
        format!("“{}…”", cut.trim_end())
    } else {
        format!("“{s}”")
    }
}

/// The card a comment or checklist item belongs to, quoted.
fn card_of(names: &dyn Names, id: CardId) -> String {
    names.card(id).map(|t| quote(&t)).unwrap_or_else(|| "a card".to_owned())
}

fn column_name(names: &dyn Names, id: ColumnId) -> String {
    names.column(id).unwrap_or_else(|| "a deleted column".to_owned())
}

/// Clauses joined as one predicate: "a", "a and b", "a, b and c".
fn join(clauses: Vec<String>) -> String {
    match clauses.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn predicate(e: &Event, names: &dyn Names) -> String {
    match (e.before.as_ref(), e.after.as_ref()) {
        // A board's owner becomes its first member as it is created: "created the board" says it.
        (None, Some(Record::Members(m))) if m.role == Role::Owner && e.actor_id == Some(m.user_id) => String::new(),
        (None, Some(after)) => created(after, names),
        (Some(before), None) => deleted(before, names),
        (Some(before), Some(after)) => updated(before, after, names),
        (None, None) => String::new(),
    }
}

fn created(r: &Record, names: &dyn Names) -> String {
    match r {
        Record::Boards(b) => format!("created the board {}", quote(&b.name)),
        Record::Columns(c) => format!("added column {}", c.name),
        // Only an undo of a deletion creates a card past its first version: it comes back.
        Record::Cards(c) if c.version > 1 => {
            format!("restored card {} to {}", quote(&c.title), column_name(names, c.column_id))
        }
        Record::Cards(c) => format!("created card {} in {}", quote(&c.title), column_name(names, c.column_id)),
        Record::Members(m) => format!("added {} to the board", m.username),
        Record::Comments(c) => format!("commented on {}", card_of(names, c.card_id)),
        Record::ChecklistItems(i) => {
            format!("added {} to the checklist of {}", quote(&i.text), card_of(names, i.card_id))
        }
    }
}

fn deleted(r: &Record, names: &dyn Names) -> String {
    match r {
        Record::Boards(b) => format!("deleted the board {}", quote(&b.name)),
        Record::Columns(c) => format!("deleted column {}", c.name),
        Record::Cards(c) => format!("deleted card {} from {}", quote(&c.title), column_name(names, c.column_id)),
        Record::Members(m) => format!("removed {} from the board", m.username),
        Record::Comments(c) => format!("deleted a comment on {}", card_of(names, c.card_id)),
        Record::ChecklistItems(i) => {
            format!("removed {} from the checklist of {}", quote(&i.text), card_of(names, i.card_id))
        }
    }
}

fn updated(before: &Record, after: &Record, names: &dyn Names) -> String {
    let mut out = Vec::new();
    match (before, after) {
        (Record::Boards(b), Record::Boards(a)) => {
            if b.name != a.name {
                out.push(format!("renamed the board {} to {}", quote(&b.name), quote(&a.name)));
            }
            if b.done_column_id != a.done_column_id {
                out.push(match a.done_column_id {
                    Some(c) => format!("made {} the done column", column_name(names, c)),
                    None => "cleared the done column".to_owned(),
                });
            }
        }
        (Record::Columns(b), Record::Columns(a)) => {
            if b.name != a.name {
                out.push(format!("renamed column {} to {}", b.name, a.name));
            }
            if b.rank != a.rank {
                out.push(format!("moved column {}", a.name));
            }
        }
        (Record::Cards(b), Record::Cards(a)) => card_updated(b, a, names, &mut out),
        (Record::Members(b), Record::Members(a)) if b.role != a.role => {
            out.push(format!("made {} {}", a.username, if a.role == Role::Owner { "an owner" } else { "a member" }));
        }
        (Record::ChecklistItems(b), Record::ChecklistItems(a)) => {
            let card = card_of(names, a.card_id);
            if b.text != a.text {
                out.push(format!("changed checklist item {} to {} on {card}", quote(&b.text), quote(&a.text)));
            }
            if b.done != a.done {
                let verb = if a.done { "ticked" } else { "unticked" };
                out.push(format!("{verb} {} on {card}", quote(&a.text)));
            }
            if b.rank != a.rank && out.is_empty() {
                out.push(format!("reordered the checklist of {card}"));
            }
        }
        _ => {}
    }
    join(out)
}

fn card_updated(b: &Card, a: &Card, names: &dyn Names, out: &mut Vec<String>) {
    let title = quote(&a.title);
    if b.title != a.title {
        out.push(format!("renamed card {} to {title}", quote(&b.title)));
    }
    if b.column_id != a.column_id {
        let (from, to) = (column_name(names, b.column_id), column_name(names, a.column_id));
        out.push(format!("moved {title} from {from} to {to}"));
    } else if b.rank != a.rank {
        out.push(format!("moved {title} within {}", column_name(names, a.column_id)));
    }
    if b.description != a.description {
        out.push(if a.description.trim().is_empty() {
            format!("cleared the description of {title}")
        } else {
            format!("edited the description of {title}")
        });
    }
    if b.assignee_id != a.assignee_id {
        match (&b.assignee, &a.assignee) {
            (_, Some(to)) => out.push(format!("assigned {title} to {to}")),
            (Some(from), None) => out.push(format!("unassigned {from} from {title}")),
            (None, None) => out.push(format!("unassigned {title}")),
        }
    }
    if b.labels != a.labels {
        out.push(if a.labels.is_empty() {
            format!("removed the labels of {title}")
        } else {
            format!("labelled {title} {}", a.labels.join(", "))
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use time::OffsetDateTime;

    use super::*;

    struct Fixed {
        columns: HashMap<i64, &'static str>,
    }

    impl Names for Fixed {
        fn column(&self, id: ColumnId) -> Option<String> {
            self.columns.get(&id.0).map(|s| s.to_string())
        }
        fn card(&self, id: CardId) -> Option<String> {
            (id.0 == 7).then(|| "Fix login".to_owned())
        }
        fn user(&self, id: UserId) -> Option<String> {
            (id.0 == 1).then(|| "bob".to_owned())
        }
    }

    fn names() -> Fixed {
        Fixed { columns: HashMap::from([(1, "Todo"), (2, "Doing"), (3, "Done")]) }
    }

    fn say(before: Option<Record>, after: Option<Record>) -> String {
        let action = match (&before, &after) {
            (None, _) => Action::Create,
            (_, None) => Action::Delete,
            _ => Action::Update,
        };
        summary(&Event::new(action, Some(UserId(1)), before, after), &names())
    }

    fn card() -> Card {
        Card {
            id: CardId(7),
            board_id: BoardId(1),
            column_id: ColumnId(1),
            title: "Fix login".into(),
            description: String::new(),
            assignee_id: None,
            assignee: None,
            labels: vec![],
            rank: "a".into(),
            version: 1,
            checklist_done: 0,
            checklist_total: 0,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn column(name: &str) -> Column {
        Column {
            id: ColumnId(2),
            board_id: BoardId(1),
            name: name.into(),
            rank: "a".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn board(name: &str, done: Option<i64>) -> Board {
        Board {
            id: BoardId(1),
            name: name.into(),
            owner_id: UserId(1),
            done_column_id: done.map(ColumnId),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn item(text: &str, done: bool) -> ChecklistItem {
        ChecklistItem {
            id: ChecklistItemId(3),
            board_id: BoardId(1),
            card_id: CardId(7),
            text: text.into(),
            done,
            rank: "a".into(),
            version: 1,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn cards(change: impl FnOnce(&mut Card)) -> String {
        let b = card();
        let mut a = card();
        change(&mut a);
        say(Some(b.into()), Some(a.into()))
    }

    #[test]
    fn card_changes_are_told_in_plain_words_with_the_names_of_the_time() {
        assert_eq!(say(None, Some(card().into())), "bob created card “Fix login” in Todo");
        let restored = Card { version: 3, ..card() };
        assert_eq!(say(None, Some(restored.into())), "bob restored card “Fix login” to Todo");
        assert_eq!(cards(|c| c.column_id = ColumnId(2)), "bob moved “Fix login” from Todo to Doing");
        assert_eq!(cards(|c| c.rank = "b".into()), "bob moved “Fix login” within Todo");
        assert_eq!(cards(|c| c.title = "Fix logout".into()), "bob renamed card “Fix login” to “Fix logout”");
        assert_eq!(cards(|c| c.description = "steps".into()), "bob edited the description of “Fix login”");
        assert_eq!(
            cards(|c| {
                c.assignee_id = Some(UserId(2));
                c.assignee = Some("alice".into());
            }),
            "bob assigned “Fix login” to alice"
        );
        let mut assigned = card();
        assigned.assignee_id = Some(UserId(2));
        assigned.assignee = Some("alice".into());
        assert_eq!(say(Some(assigned.into()), Some(card().into())), "bob unassigned alice from “Fix login”");
        assert_eq!(cards(|c| c.labels = vec!["bug".into(), "ui".into()]), "bob labelled “Fix login” bug, ui");
        assert_eq!(say(Some(card().into()), None), "bob deleted card “Fix login” from Todo");
        assert_eq!(
            cards(|c| {
                c.title = "Fix logout".into();
                c.column_id = ColumnId(3);
            }),
            "bob renamed card “Fix login” to “Fix logout” and moved “Fix logout” from Todo to Done"
        );
    }

    #[test]
    fn a_change_nobody_would_notice_says_nothing() {
        assert_eq!(cards(|c| c.checklist_done = 1), "");
    }

    #[test]
    fn column_and_board_changes_name_both_sides() {
        assert_eq!(say(None, Some(column("Doing").into())), "bob added column Doing");
        assert_eq!(
            say(Some(column("Doing").into()), Some(column("In progress").into())),
            "bob renamed column Doing to In progress"
        );
        let mut moved = column("Doing");
        moved.rank = "b".into();
        assert_eq!(say(Some(column("Doing").into()), Some(moved.into())), "bob moved column Doing");
        assert_eq!(say(Some(column("Doing").into()), None), "bob deleted column Doing");
        assert_eq!(
            say(Some(board("Work", None).into()), Some(board("Home", None).into())),
            "bob renamed the board “Work” to “Home”"
        );
        assert_eq!(
            say(Some(board("Work", None).into()), Some(board("Work", Some(3)).into())),
            "bob made Done the done column"
        );
    }

    #[test]
    fn members_comments_and_checklist_items_name_their_card() {
        let m = Member {
            board_id: BoardId(1),
            user_id: UserId(2),
            username: "alice".into(),
            role: Role::Member,
            added_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(say(None, Some(m.clone().into())), "bob added alice to the board");
        let owner = Member { user_id: UserId(1), username: "bob".into(), role: Role::Owner, ..m.clone() };
        assert_eq!(say(None, Some(owner.into())), "", "the owner's own membership goes with the board");
        assert_eq!(say(Some(m.into()), None), "bob removed alice from the board");
        let c = Comment {
            id: CommentId(1),
            board_id: BoardId(1),
            card_id: CardId(7),
            author_id: UserId(1),
            author: "bob".into(),
            body: "hi".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(say(None, Some(c.clone().into())), "bob commented on “Fix login”");
        assert_eq!(say(Some(c.into()), None), "bob deleted a comment on “Fix login”");
        assert_eq!(say(None, Some(item("Milk", false).into())), "bob added “Milk” to the checklist of “Fix login”");
        assert_eq!(
            say(Some(item("Milk", false).into()), Some(item("Milk", true).into())),
            "bob ticked “Milk” on “Fix login”"
        );
        assert_eq!(
            say(Some(item("Milk", true).into()), Some(item("Milk", false).into())),
            "bob unticked “Milk” on “Fix login”"
        );
        assert_eq!(
            say(Some(item("Milk", false).into()), Some(item("Oat milk", false).into())),
            "bob changed checklist item “Milk” to “Oat milk” on “Fix login”"
        );
        assert_eq!(say(Some(item("Milk", false).into()), None), "bob removed “Milk” from the checklist of “Fix login”");
    }

    #[test]
    fn times_read_as_people_say_them() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(100);
        let at = |s: i64| now - time::Duration::seconds(s);
        assert_eq!(ago(at(5), now), "just now");
        assert_eq!(ago(at(60), now), "a minute ago");
        assert_eq!(ago(at(180), now), "3 minutes ago");
        assert_eq!(ago(at(3_600), now), "an hour ago");
        assert_eq!(ago(at(3 * 3_600), now), "3 hours ago");
        assert_eq!(ago(at(26 * 3_600), now), "yesterday");
        assert_eq!(ago(at(3 * 86_400), now), "3 days ago");
        assert_eq!(ago(at(60 * 86_400), now), "on 1970-02-10");
    }

    #[test]
    fn long_text_is_cut_and_an_unknown_actor_is_someone() {
        let mut long = card();
        long.title = "x".repeat(200);
        let s = say(None, Some(long.into()));
        assert!(s.chars().count() < 100 && s.contains('…'), "{s}");
        let e = Event::new(Action::Create, None, None, Some(column("Doing").into()));
        assert_eq!(summary(&e, &names()), "someone added column Doing");
        assert_eq!(fallback(Some("bob"), Collection::Cards, Action::Update), "bob changed a card");
    }
}
