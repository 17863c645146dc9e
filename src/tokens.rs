//! API tokens: personal bearer tokens for clients that cannot hold a cookie. Only a SHA-256 of each
//! token is stored; the token itself is shown once and never logged.

use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use crate::{
    db::Db,
    domain::{User, UserId},
    error::{Error, Result},
};

/// A token as the settings page lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token a request carries: `Authorization: Bearer …`, or `?token=…` (WebSockets cannot set headers).
pub fn from_request(parts: &Parts) -> Option<String> {
    if let Some(h) = parts.headers.get("authorization").and_then(|v| v.to_str().ok()) {
        return h.strip_prefix("Bearer ").map(|t| t.trim().to_owned());
    }
    // Only WebSocket handshakes may carry the token in the URL: HTTP clients can set headers.
    let path = parts.uri.path();
    if path != "/realtime/subscribe" && !path.ends_with("/live") {
        return None;
    }
    form_urlencoded::parse(parts.uri.query()?.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
}

/// The user a token belongs to, and the token's id (to close its sockets when it is revoked).
pub async fn authenticate(pool: &SqlitePool, token: &str) -> Result<Option<(User, i64)>> {
    let row: Option<(i64, String, bool, i64)> = sqlx::query_as(
        r#"update api_tokens set last_used_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') where token_hash = ?
           returning user_id, (select username from users where id = user_id),
                     (select is_admin from users where id = user_id), id"#,
    )
    .bind(digest(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, username, is_admin, token_id)| (User { id: UserId(id), username, is_admin }, token_id)))
}

/// Creates a token; the returned plaintext is the only copy.
pub async fn create(db: &Db, user: UserId, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "Give the token a name of 1 to 100 characters"));
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("lb_{}", hex::encode(bytes));
    let (name, hash) = (name.to_owned(), digest(&token));
    db.write(Some(user), move |w| {
        w.exec(
            "insert into api_tokens (user_id, name, token_hash, created_at) values (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            rusqlite::params![user, name, hash],
        )
    })
    .await?;
    Ok(token)
}

/// The user's tokens, newest first.
pub async fn list(pool: &SqlitePool, user: UserId) -> Result<Vec<TokenInfo>> {
    Ok(sqlx::query_as("select id, name, created_at, last_used_at from api_tokens where user_id = ? order by id desc")
        .bind(user)
        .fetch_all(pool)
        .await?)
}

/// Revokes one of the user's tokens.
pub async fn revoke(db: &Db, user: UserId, id: i64) -> Result<()> {
    let n = db
        .write(Some(user), move |w| {
            w.exec("delete from api_tokens where id = ? and user_id = ?", rusqlite::params![id, user])
        })
        .await?;
    if n == 0 { Err(Error::NotFound) } else { Ok(()) }
}
