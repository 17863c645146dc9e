//! Users repository: accounts and password hashes. Writes here publish no events (users are not on a board).

use sqlx::SqlitePool;

use crate::{
    db::Db,
    domain::{User, UserId, Username},
    error::{Error, Result},
};

/// Creates a user from an already computed Argon2id hash; a taken username is a form error.
pub async fn create(db: &Db, username: &Username, password_hash: &str, is_admin: bool) -> Result<User> {
    let mut w = db.write(None).await?;
    let user = sqlx::query_as::<_, User>(
        r#"insert into users (username, password_hash, is_admin, created_at) values (?, ?, ?, ?)
           returning id, username, is_admin"#,
    )
    .bind(username.as_str())
    .bind(password_hash)
    .bind(is_admin)
    .bind(super::now())
    .fetch_one(w.conn())
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::invalid("username", "That username is taken"),
        _ => e.into(),
    })?;
    w.commit().await?;
    Ok(user)
}

/// Makes an existing user an admin (or not). Used by the CLI.
pub async fn set_admin(db: &Db, username: &str, is_admin: bool) -> Result<()> {
    let mut w = db.write(None).await?;
    let n = sqlx::query("update users set is_admin = ? where username = ?")
        .bind(is_admin)
        .bind(username)
        .execute(w.conn())
        .await?
        .rows_affected();
    w.commit().await?;
    if n == 0 { Err(Error::NotFound) } else { Ok(()) }
}

/// The user and their password hash, for login.
pub async fn find_with_hash(pool: &SqlitePool, username: &str) -> Result<Option<(User, String)>> {
    let row: Option<(i64, String, bool, String)> =
        sqlx::query_as("select id, username, is_admin, password_hash from users where username = ?")
            .bind(username.trim())
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
