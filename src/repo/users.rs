//! Users repository: accounts and password hashes. Writes here publish no events of their own (users
//! are not on a board), except a deletion, which records the user leaving each board.

use sqlx::SqlitePool;

use super::rows;
use crate::{
    db::{Db, Ts},
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

/// Replaces a user's password hash; returns their id. Used by the CLI.
pub async fn set_password(db: &Db, username: &str, password_hash: &str) -> Result<UserId> {
    let (account, hash) = (account_key(username), password_hash.to_owned());
    db.write(None, move |w| {
        let (id,): (UserId,) = w.one(
            "update users set password_hash = ? where username = ? returning id",
            rusqlite::params![hash, account],
        )?;
        Ok(id)
    })
    .await
}

/// Whether each of `ids` still exists, and is an admin: open sockets are checked against this,
/// so a user demoted or deleted (by the CLI, from another process) loses their sockets.
pub async fn rights(pool: &SqlitePool, ids: &[UserId]) -> Result<std::collections::HashMap<UserId, bool>> {
    let ids = serde_json::to_string(&ids).map_err(anyhow::Error::from)?;
    let rows: Vec<(UserId, bool)> =
        sqlx::query_as("select id, is_admin from users where id in (select value from json_each(?))")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
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

/// The user and their password hash, for login; `account` is [`crate::domain::account_key`]'s.
pub async fn find_with_hash(pool: &SqlitePool, account: &str) -> Result<Option<(User, String)>> {
    let row: Option<(i64, String, bool, String)> =
        sqlx::query_as("select id, username, is_admin, password_hash from users where username = ?")
            .bind(account)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(id, username, is_admin, hash)| (User { id: UserId(id), username, is_admin }, hash)))
}

/// A user by id.
pub async fn get(pool: &SqlitePool, id: UserId) -> Result<Option<User>> {
    Ok(sqlx::query_as("select id, username, is_admin from users where id = ?").bind(id).fetch_optional(pool).await?)
}

/// Whether any user exists (demo data goes only into an empty database).
pub async fn any(pool: &SqlitePool) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists(select 1 from users)").fetch_one(pool).await?)
}
