//! Users repository: accounts and password hashes. Writes here publish no events of their own (users
//! are not on a board), except a deletion, which records the user leaving each board.

use sqlx::SqlitePool;

use super::rows;
use crate::{
    db::{Db, FromRow, Ts},
    domain::{Card, Comment, Member, User, UserId, Username, account_key},
    error::{Error, Result},
    events::Action,
};

/// Creates a user from an already computed Argon2id hash; a taken username is a form error.
pub async fn create(db: &Db, username: &Username, password_hash: &str, is_admin: bool) -> Result<User> {
    let (username, hash) = (username.as_str().to_owned(), password_hash.to_owned());
    db.write(None, move |w| {
        w.one(
            r#"insert into users (username, password_hash, is_admin, created_at) values (?, ?, ?, ?)
               returning id, username, is_admin"#,
            rusqlite::params![username, hash, is_admin, Ts(super::now())],
        )
        .map_err(|e| if e.is_unique_violation() { Error::invalid("username", "That username is taken") } else { e })
    })
    .await
}

/// Makes an existing user an admin (or not); returns their id. Used by the CLI. Open sessions see
/// the change on their next request (rights are read per request).
pub async fn set_admin(db: &Db, username: &str, is_admin: bool) -> Result<UserId> {
    let account = account_key(username);
    db.write(None, move |w| {
        let (id,): (UserId,) = w.one(
            "update users set is_admin = ? where username = ? returning id",
            rusqlite::params![is_admin, account],
        )?;
        Ok(id)
    })
    .await
}

/// Replaces a user's password hash and ends their sessions (their generation moves on); returns
/// their id. Used by the CLI.
pub async fn set_password(db: &Db, username: &str, password_hash: &str) -> Result<UserId> {
    let (account, hash) = (account_key(username), password_hash.to_owned());
    db.write(None, move |w| {
        let (id,): (UserId,) = w.one(
            r#"update users set password_hash = ?, session_generation = session_generation + 1
               where username = ? returning id"#,
            rusqlite::params![hash, account],
        )?;
        Ok(id)
    })
    .await
}

/// What an open socket is checked against: whether its user is an admin, and their session generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rights {
    pub is_admin: bool,
    /// Moves on when the password is reset: sessions (and sockets) of an older one are over.
    pub session_generation: i64,
}

/// The rights of each of `ids` that still exists: open sockets are checked against this, so a user
/// demoted, deleted or given a new password (by the CLI, from another process) loses their sockets.
pub async fn rights(pool: &SqlitePool, ids: &[UserId]) -> Result<std::collections::HashMap<UserId, Rights>> {
    let ids = serde_json::to_string(&ids).map_err(anyhow::Error::from)?;
    let rows: Vec<(UserId, bool, i64)> = sqlx::query_as(
        "select id, is_admin, session_generation from users where id in (select value from json_each(?))",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, is_admin, session_generation)| (id, Rights { is_admin, session_generation }))
        .collect())
}

/// Deletes a user who owns no board; returns their id. Each membership ends the way a removal does
/// (their cards unassigned, their comments deleted, every change an event), so the log and live
/// clients stay consistent. Their tokens go with them; their sessions end on their next request.
pub async fn delete(db: &Db, username: &str) -> Result<UserId> {
    let (username, account) = (username.to_owned(), account_key(username));
    db.write(None, move |w| {
        let (id,): (UserId,) = w.one("select id from users where username = ?", [&account])?;
        let owned: Vec<(String,)> = w.all("select name from boards where owner_id = ? order by id", [id])?;
        if !owned.is_empty() {
            let names: Vec<String> = owned.into_iter().map(|(n,)| n).collect();
            return Err(Error::Conflict(format!(
                "{username} owns {} board(s) ({}); delete them or give them to someone else first",
                names.len(),
                names.join(", ")
            )));
        }
        let cards: Vec<Card> = w.all(&format!("{} where c.assignee_id = ?", rows::CARD_SELECT), [id])?;
        for before in cards {
            w.exec(
                "update cards set assignee_id = null, version = version + 1, updated_at = ? where id = ?",
                rusqlite::params![Ts(super::now()), before.id],
            )?;
            let after = rows::card(w, before.id)?;
            w.record(Action::Update, Some(&before), Some(&after))?;
        }
        let comments: Vec<Comment> = w.all(&format!("{} where c.author_id = ?", rows::COMMENT_SELECT), [id])?;
        for c in &comments {
            w.record(Action::Delete, Some(c), None)?;
        }
        let members: Vec<Member> = w.all(&format!("{} where m.user_id = ?", rows::MEMBER_SELECT), [id])?;
        for m in &members {
            w.record(Action::Delete, Some(m), None)?;
        }
        // Memberships, comments and tokens go by `on delete cascade`.
        w.exec("delete from users where id = ?", [id])?;
        Ok(id)
    })
    .await
}

/// The user, their password hash and session generation (read together, so a session signed in
/// with a password the CLI just replaced is of the old generation), for login; `account` is
/// [`crate::domain::account_key`]'s.
pub async fn find_with_hash(pool: &SqlitePool, account: &str) -> Result<Option<(User, String, i64)>> {
    let row: Option<(i64, String, bool, String, i64)> = sqlx::query_as(
        "select id, username, is_admin, password_hash, session_generation from users where username = ?",
    )
    .bind(account)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, username, is_admin, hash, generation)| {
        (User { id: UserId(id), username, is_admin }, hash, generation)
    }))
}

/// A user by id with their session generation, read on the calling thread: every signed-in request
/// asks (see [`crate::db::point`]).
pub fn get(db: &Db, id: UserId) -> Result<Option<(User, i64)>> {
    /// A user row with its session generation.
    struct Signed(User, i64);
    impl FromRow for Signed {
        fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
            Ok(Self(User::from_row(r)?, r.get("session_generation")?))
        }
    }
    let sql = "select id, username, is_admin, session_generation from users where id = ?";
    let row: Option<Signed> = db.point.read(|conn| crate::db::writer::first_row(conn, sql, [id]))?;
    Ok(row.map(|Signed(user, generation)| (user, generation)))
}

/// Whether any user exists (demo data goes only into an empty database).
pub async fn any(pool: &SqlitePool) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists(select 1 from users)").fetch_one(pool).await?)
}
