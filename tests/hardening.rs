//! Hardening over real HTTP: a full database does not poison the writer, `/health` tells the truth,
//! password hashing and logins are bounded and throttled per address and account, rights are read
//! fresh, slow clients are cut off, and a non-member cannot tell a missing record from a hidden one.

mod support;

use serde_json::json;
use sqlx::Connection;
use support::*;

/// The SQLite file the app writes.
async fn db_file(app: &TestApp) -> String {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("pragma database_list").fetch_all(&app.state.db.read).await.unwrap();
    rows.into_iter().find(|r| r.1 == "main").expect("a main database").2
}

/// Lets the writer's connection grow the database by `extra_pages` at most: a disk that is full
/// (`Some(0)`) or has room again (`None`). SQLite keeps the limit per connection.
async fn limit_pages(app: &TestApp, extra_pages: Option<i64>) {
    let mut w = app.state.db.write(None).await.expect("the writer begins a write");
    let pages: i64 = sqlx::query_scalar("pragma page_count").fetch_one(w.conn()).await.unwrap();
    let max = extra_pages.map_or(1_073_741_823, |extra| pages + extra);
    sqlx::query(&format!("pragma max_page_count = {max}")).execute(w.conn()).await.unwrap();
    w.commit().await.expect("and commits");
}

async fn health(app: &TestApp) -> (u16, serde_json::Value) {
    let res = reqwest::get(format!("{}/health", app.base)).await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_write_that_finds_the_database_full_leaves_the_writer_usable_once_there_is_room() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let cards = format!("/api/boards/{board}/cards");
    let long = "x".repeat(10_000);

    limit_pages(&app, Some(0)).await;
    let mut refused = None;
    for i in 0..20 {
        let res = alice
            .http
            .post(alice.url(&cards))
            .json(&json!({"title": format!("big {i}"), "description": long}))
            .send()
            .await
            .unwrap();
        if res.status() != 201 {
            refused = Some(res);
            break;
        }
    }
    let refused = refused.expect("a full database refuses a write");
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "STORAGE_FULL", "{body}");

    // Still full (the limit lived on the connection the failed write left behind, so set it again):
    // the writer itself must still begin and commit, and /health says what is wrong.
    limit_pages(&app, Some(0)).await;
    let (status, body) = health(&app).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["reason"].as_str().unwrap_or_default().contains("full"), "{body}");

    // Room again: health recovers and every kind of write works at once.
    limit_pages(&app, None).await;
    assert_eq!(health(&app).await, (200, json!({"status": "ok"})));
    alice.card(board, json!({"title": "after", "description": long})).await;
    assert_eq!(alice.post_json("/api/boards", json!({"name": "another"})).await.0, 201);
    app.signup("bob").await;
}

#[tokio::test]
async fn health_answers_503_with_a_reason_while_another_process_holds_the_write_lock() {
    let app = spawn_app().await;
    assert_eq!(health(&app).await, (200, json!({"status": "ok"})));
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db_file(&app).await)).await.unwrap();
    sqlx::query("begin immediate").execute(&mut other).await.unwrap();

    let (status, body) = health(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().unwrap_or_default().contains("could not start a write"), "{body}");

    sqlx::query("commit").execute(&mut other).await.unwrap();
    eventually("health recovers once the lock is released", || async { health(&app).await.0 == 200 }).await;
}

#[tokio::test]
async fn a_board_at_its_card_limit_refuses_another_card_with_a_clear_error_in_the_form_and_the_api() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, cols) = alice.board("Full").await;
    // Arrange: fill the board to one below its limit directly in SQLite (thousands of requests would be slow).
    sqlx::query(
        r#"with recursive n(i) as (select 1 union all select i + 1 from n where i < ?)
           insert into cards (board_id, column_id, title, rank, created_at, updated_at)
           select ?, ?, 'filler ' || i, printf('a%06d', i), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' from n"#,
    )
    .bind(liveboard::domain::MAX_CARDS_PER_BOARD - 1)
    .bind(board)
    .bind(cols[0])
    .execute(&app.state.db.read)
    .await
    .unwrap();
    alice.card(board, json!({"title": "the last one that fits"})).await;

    let (status, body) = alice.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "one too many"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("VALIDATION")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("limit of 2000 cards"), "{body}");
    let page = alice.form(&format!("/boards/{board}/cards"), &[("title", "one too many")]).await;
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("limit of 2000 cards"));
}

#[tokio::test]
async fn a_description_longer_than_the_limit_is_refused_with_the_limit_in_the_message() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let (status, body) = alice
        .post_json(&format!("/api/boards/{board}/cards"), json!({"title": "t", "description": "x".repeat(10_001)}))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("description")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("10000"), "{body}");
}

#[tokio::test]
async fn a_non_member_gets_the_same_answer_for_a_record_that_is_not_theirs_as_for_one_that_does_not_exist() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let mallory = app.signup("mallory").await;
    let (board, cols) = alice.board("Secret").await;
    let card = alice.card(board, json!({"title": "plan"})).await["id"].as_i64().unwrap();
    let (_, comment) = alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "hush"})).await;
    let comment = comment["id"].as_i64().unwrap();
    let (col, missing) = (cols[0], 999_999);

    // Each probe is made against the real id and against one that never existed; the answers must match.
    for (real, gone) in [
        (format!("/api/boards/{board}"), format!("/api/boards/{missing}")),
        (format!("/api/cards/{card}"), format!("/api/cards/{missing}")),
        (format!("/api/cards/{card}/comments"), format!("/api/cards/{missing}/comments")),
    ] {
        assert_eq!(mallory.get_json(&real).await, mallory.get_json(&gone).await, "GET {real}");
        assert_eq!(mallory.get_json(&real).await.0, 404);
    }
    for (real, gone, body) in [
        (format!("/api/boards/{board}/cards"), format!("/api/boards/{missing}/cards"), json!({"title": "x"})),
        (format!("/api/boards/{board}/columns"), format!("/api/boards/{missing}/columns"), json!({"name": "x"})),
        (
            format!("/api/boards/{board}/members"),
            format!("/api/boards/{missing}/members"),
            json!({"username": "mallory"}),
        ),
        (format!("/api/cards/{card}/comments"), format!("/api/cards/{missing}/comments"), json!({"body": "x"})),
    ] {
        let (a, b) = (mallory.post_json(&real, body.clone()).await, mallory.post_json(&gone, body).await);
        assert_eq!(a, b, "POST {real}");
        assert_eq!(a.0, 404);
    }
    for (real, gone) in [
        (format!("/api/columns/{col}"), format!("/api/columns/{missing}")),
        (format!("/api/cards/{card}"), format!("/api/cards/{missing}")),
        (format!("/api/boards/{board}"), format!("/api/boards/{missing}")),
    ] {
        let body = json!({"name": "x", "title": "x"});
        let (a, b) = (mallory.patch_json(&real, body.clone()).await, mallory.patch_json(&gone, body).await);
        assert_eq!(a, b, "PATCH {real}");
    }
    for (real, gone) in [
        (format!("/api/comments/{comment}"), format!("/api/comments/{missing}")),
        (format!("/api/columns/{col}"), format!("/api/columns/{missing}")),
        (format!("/api/cards/{card}"), format!("/api/cards/{missing}")),
        (format!("/api/boards/{board}"), format!("/api/boards/{missing}")),
    ] {
        assert_eq!(mallory.delete(&real).await, mallory.delete(&gone).await, "DELETE {real}");
    }
    // Pages: the same status for the board, the card editor and the forms.
    for (real, gone) in [
        (format!("/boards/{board}"), format!("/boards/{missing}")),
        (format!("/cards/{card}"), format!("/cards/{missing}")),
    ] {
        assert_eq!(mallory.get(&real).await.status(), mallory.get(&gone).await.status(), "GET {real}");
        assert_eq!(mallory.get(&real).await.status(), 404);
    }
    for (real, gone, field) in [
        (format!("/boards/{board}/cards"), format!("/boards/{missing}/cards"), "title"),
        (format!("/cards/{card}/comments"), format!("/cards/{missing}/comments"), "body"),
        (format!("/comments/{comment}/delete"), format!("/comments/{missing}/delete"), "x"),
        (format!("/columns/{col}/delete"), format!("/columns/{missing}/delete"), "x"),
    ] {
        let a = mallory.form(&real, &[(field, "x")]).await.status();
        assert_eq!(a, mallory.form(&gone, &[(field, "x")]).await.status(), "POST {real}");
        assert_eq!(a, 404);
    }
    // And a card of a board that is not theirs cannot be named as a column target either.
    let (_, own_cols) = mallory.board("Mine").await;
    let mine =
        mallory.card(mallory.get_json("/api/boards").await.1[0]["id"].as_i64().unwrap(), json!({"title": "m"})).await;
    let (a, b) = (
        mallory.patch_json(&format!("/api/cards/{}", mine["id"]), json!({"column_id": col})).await,
        mallory.patch_json(&format!("/api/cards/{}", mine["id"]), json!({"column_id": missing})).await,
    );
    assert_eq!(a, b, "a column of someone else's board looks like no column");
    assert!(own_cols.len() == 3);
}
