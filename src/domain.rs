//! Domain types: ids, the records repositories return and events carry, and parsed inputs ("parse, don't validate").

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Error;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> { self.0.to_sql() }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(v).map(Self)
            }
        }
    )*};
}

id_type!(
    /// A user's id.
    UserId,
    /// A board's id.
    BoardId,
    /// A column's id.
    ColumnId,
    /// A card's id.
    CardId,
    /// A comment's id.
    CommentId,
    /// A checklist item's id.
    ChecklistItemId,
    /// A notification's id.
    NotificationId,
);

/// A signed-in user as the app sees them (never the password hash).
#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub is_admin: bool,
}

impl User {
    /// Admins only: the one check for `/admin`, announcements, the connection listing and `*`.
    pub fn require_admin(&self) -> Result<(), Error> {
        if self.is_admin { Ok(()) } else { Err(Error::Forbidden("admins only")) }
    }
}

/// A board; `done_column_id` names the column whose cards count as done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Board {
    pub id: BoardId,
    pub name: String,
    pub owner_id: UserId,
    pub done_column_id: Option<ColumnId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A column of a board, ordered by `rank`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Column {
    pub id: ColumnId,
    pub board_id: BoardId,
    pub name: String,
    pub rank: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A card; `rank` orders it within its column, `version` grows on every change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Card {
    pub id: CardId,
    pub board_id: BoardId,
    pub column_id: ColumnId,
    pub title: String,
    pub description: String,
    pub assignee_id: Option<UserId>,
    /// The assignee's username, carried so renderers never query.
    pub assignee: Option<String>,
    #[sqlx(json)]
    pub labels: Vec<String>,
    pub rank: String,
    pub version: i64,
    /// Ticked and total checklist items, counted when the card is read (never stored): a tick
    /// changes what the card shows without bumping `version`, so it never conflicts with an edit.
    /// `default` reads events logged before checklists existed.
    #[serde(default)]
    pub checklist_done: i64,
    #[serde(default)]
    pub checklist_total: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A user's role on a board.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Member,
}

impl Role {
    /// As stored in `board_members.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Member => "member",
        }
    }
}

impl rusqlite::ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Role {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        match v.as_str()? {
            "owner" => Ok(Self::Owner),
            "member" => Ok(Self::Member),
            other => Err(rusqlite::types::FromSqlError::Other(format!("unknown role {other:?}").into())),
        }
    }
}

/// A user's membership of a board: the record members events carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Member {
    pub board_id: BoardId,
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// A board member as authorization and the member list need them: who, and whether they own the board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardMember {
    pub id: UserId,
    pub username: String,
    pub role: Role,
}

impl From<&Member> for BoardMember {
    fn from(m: &Member) -> Self {
        Self { id: m.user_id, username: m.username.clone(), role: m.role }
    }
}

/// A comment on a card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Comment {
    pub id: CommentId,
    pub board_id: BoardId,
    pub card_id: CardId,
    pub author_id: UserId,
    pub author: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A notification: `by` mentioned the reader in a comment or a card's description. Not a record
/// of the event log: it is one user's, delivered on their `notifications` channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Notification {
    pub id: NotificationId,
    pub board_id: BoardId,
    pub board_name: String,
    pub card_id: CardId,
    pub card_title: String,
    /// Who mentioned the reader (`None` once their account is gone).
    pub by: Option<String>,
    /// `comment` or `description`.
    pub source: String,
    pub comment_id: Option<CommentId>,
    /// The start of the text that mentions the reader.
    pub excerpt: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

/// An item of a card's checklist, ordered by `rank` within the card; `version` grows on every change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ChecklistItem {
    pub id: ChecklistItemId,
    pub board_id: BoardId,
    pub card_id: CardId,
    pub text: String,
    pub done: bool,
    pub rank: String,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A board with everything its page shows, in board order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BoardSnapshot {
    pub board: Board,
    pub columns: Vec<Column>,
    pub cards: Vec<Card>,
    pub members: Vec<Member>,
    /// The event sequence number this snapshot was read at: apply only events after it.
    pub seq: i64,
}

/// Cards a board may hold by default (`BOARD_MAX_CARDS`; 0 for no limit). With descriptions of at most [`MAX_DESCRIPTION_CHARS`], a board's cards
/// hold at most ~80 MB of text, and with the other caps below a user's boards are bounded too: one
/// member alone cannot grow the database without limit. (The event log, which keeps each change's
/// before and after, is bounded separately by `EVENTS_KEEP` and `EVENTS_MAX_AGE_SECS`.)
pub const MAX_CARDS_PER_BOARD: i64 = 2000;
/// Columns a board may hold.
pub const MAX_COLUMNS_PER_BOARD: i64 = 50;
/// Comments a card may hold (each at most 2,000 characters).
pub const MAX_COMMENTS_PER_CARD: i64 = 500;
/// Boards one user may own.
pub const MAX_BOARDS_PER_OWNER: i64 = 100;
/// Longest card description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

fn text(field: &'static str, label: &str, raw: &str, max: usize) -> Result<String, Error> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Error::invalid(field, format!("{label} can't be empty")));
    }
    if s.chars().count() > max {
        return Err(Error::invalid(field, format!("{label} is too long (at most {max} characters)")));
    }
    Ok(s.to_owned())
}

macro_rules! parsed_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $label:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name(String);
        impl $name {
            /// Trims and checks the text; errors name the field.
            pub fn parse(raw: &str) -> Result<Self, Error> { text($field, $label, raw, $max).map(Self) }
            pub fn as_str(&self) -> &str { &self.0 }
        }
    };
}

parsed_text!(
    /// A card title: 1 to 200 characters.
    CardTitle, "title", "Title", 200);
parsed_text!(
    /// A column name: 1 to 100 characters.
    ColumnName, "name", "Column name", 100);
parsed_text!(
    /// A board name: 1 to 100 characters.
    BoardName, "name", "Board name", 100);
parsed_text!(
    /// A comment body: 1 to 2,000 characters.
    CommentBody, "body", "Comment", 2000);
parsed_text!(
    /// A checklist item's text: 1 to 200 characters.
    ChecklistText, "text", "Checklist item", 200);

/// A card description: up to 10,000 characters, may be empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Description(String);
impl Description {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(Error::invalid(
                "description",
                format!("Description is too long (at most {MAX_DESCRIPTION_CHARS} characters)"),
            ));
        }
        Ok(Self(raw.trim_end().to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Card labels: up to 10 free tags of 1 to 30 characters, trimmed and de-duplicated.
#[derive(Clone, Debug, PartialEq)]
pub struct Labels(Vec<String>);
impl Labels {
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Self, Error> {
        let mut out: Vec<String> = Vec::new();
        for l in raw.into_iter().map(str::trim).filter(|l| !l.is_empty()) {
            if l.chars().count() > 30 {
                return Err(Error::invalid("labels", "A label is at most 30 characters"));
            }
            if !out.iter().any(|o| o.eq_ignore_ascii_case(l)) {
                out.push(l.to_owned());
            }
        }
        if out.len() > 10 {
            return Err(Error::invalid("labels", "A card has at most 10 labels"));
        }
        Ok(Self(out))
    }
    /// Comma-separated, as typed in a form.
    pub fn parse_csv(raw: &str) -> Result<Self, Error> {
        Self::parse(raw.split(','))
    }
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }
}

/// Where a column or card goes: first, last, right after / before a sibling, or one step along.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    First,
    #[default]
    Last,
    After(i64),
    Before(i64),
    /// One step towards the start (columns: left).
    Earlier,
    /// One step towards the end (columns: right).
    Later,
}

impl Place {
    /// A place named in a form or a JSON body: `first` (or `top`), `last` (or `bottom`), `up`, `down`.
    pub fn parse(word: &str) -> Result<Self, Error> {
        match word.trim() {
            "first" | "top" => Ok(Self::First),
            "last" | "bottom" => Ok(Self::Last),
            "up" => Ok(Self::Earlier),
            "down" => Ok(Self::Later),
            other => {
                Err(Error::invalid("place", format!("place is \"first\", \"last\", \"up\" or \"down\", not {other:?}")))
            }
        }
    }
}

/// Where to put a card or column, as the API takes it: `after_id`, `before_id`, or a `place` word.
#[derive(Debug, Default, Deserialize)]
pub struct Placement {
    pub after_id: Option<i64>,
    pub before_id: Option<i64>,
    pub place: Option<String>,
}

impl Placement {
    /// The place asked for, if any; a sibling id wins over a word.
    pub fn parse(&self) -> Result<Option<Place>, Error> {
        Ok(match (self.after_id, self.before_id, self.place.as_deref()) {
            (Some(a), _, _) => Some(Place::After(a)),
            (None, Some(b), _) => Some(Place::Before(b)),
            (None, None, Some(word)) => Some(Place::parse(word)?),
            (None, None, None) => None,
        })
    }
}

/// A username: 3 to 32 letters, digits, `_`, `-` or `.`.
#[derive(Clone, Debug, PartialEq)]
pub struct Username(String);
impl Username {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let s = raw.trim();
        let ok_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !(3..=32).contains(&s.len()) || !ok_chars {
            return Err(Error::invalid("username", "Username must be 3 to 32 letters, digits, '_', '-' or '.'"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The account a typed username names, the way the lookup finds it: trimmed, and ASCII case folded
/// like the `nocase` column. Log-in throttling counts under the same key, so spaces or capitals do
/// not buy fresh tries.
pub fn account_key(raw: &str) -> String {
    raw.trim().to_ascii_lowercase()
}

/// A new password: 8 to 128 characters.
pub struct Password(String);
impl Password {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if !(8..=128).contains(&raw.chars().count()) {
            return Err(Error::invalid("password", "Password must be 8 to 128 characters"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_of_201_characters_is_refused_and_200_accepted() {
        assert!(CardTitle::parse(&"x".repeat(201)).is_err());
        assert!(CardTitle::parse(&"x".repeat(200)).is_ok());
        assert!(CardTitle::parse("   ").is_err());
    }

    #[test]
    fn checklist_text_is_trimmed_and_1_to_200_characters() {
        assert_eq!(ChecklistText::parse("  buy milk ").unwrap().as_str(), "buy milk");
        assert!(ChecklistText::parse(" \t ").is_err());
        assert!(ChecklistText::parse(&"é".repeat(200)).is_ok());
        assert!(ChecklistText::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn labels_are_trimmed_and_deduplicated_case_insensitively() {
        let l = Labels::parse_csv(" bug, Bug ,ui,,").unwrap().into_vec();
        assert_eq!(l, vec!["bug", "ui"]);
    }
}
