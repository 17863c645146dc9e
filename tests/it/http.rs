//! The runnable template over real HTTP: auth, pages and forms, the JSON API, bad input, and the
//! event outbox (one row per change, none for a failed write, published in sequence order).

use crate::support::*;
use serde_json::json;

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from events").fetch_one(&app.state.db.read).await.unwrap()
}

#[tokio::test]
async fn a_new_user_signs_up_logs_out_and_logs_back_in() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    assert_eq!(alice.get("/").await.status(), 200);

    let out = alice.form("/logout", &[]).await;
    assert_eq!(out.status(), 303);
    let after = alice.get("/").await;
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()["location"], "/login");

    let back = alice.form("/login", &[("username", "alice"), ("password", &password("alice"))]).await;
    assert_eq!(back.status(), 303);
    assert_eq!(alice.get("/").await.status(), 200);
}

#[tokio::test]
async fn logging_in_gives_a_new_session_id() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let first = alice.cookie().expect("a session cookie after signup");
    alice.form("/login", &[("username", "alice"), ("password", &password("alice"))]).await;
    let second = alice.cookie().unwrap();
    assert_ne!(first, second, "the session id must change at login");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    app.signup("carol").await;
    let res = anon.form("/login", &[("username", "carol"), ("password", &password("carol"))]).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login_and_api_clients_get_401() {
    let app = spawn_app().await;
    let anon = app.anonymous();
    for path in ["/", "/boards/1", "/settings"] {
        let res = anon.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/login");
    }
    let (status, body) = anon.get_json("/api/boards").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "AUTH_REQUIRED");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_error_and_keep_the_username() {
    let app = spawn_app().await;
    app.signup("alice").await;
    let anon = app.anonymous();
    let wrong = anon.form("/login", &[("username", "alice"), ("password", "not-her-password")]).await;
    assert_eq!(wrong.status(), 400);
    let wrong = wrong.text().await.unwrap();
    let unknown =
        anon.form("/login", &[("username", "nobody"), ("password", "whatever-pw")]).await.text().await.unwrap();
    assert!(wrong.contains("Wrong username or password"));
    assert!(unknown.contains("Wrong username or password"));
    assert!(wrong.contains(r#"value="alice""#), "the username stays in the form");
    assert!(unknown.contains(r#"value="nobody""#));
}

#[tokio::test]
async fn a_cross_site_post_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let before = event_count(&app).await;
    let evil = alice
        .http
        .post(alice.url("/boards"))
        .header("origin", "https://evil.example")
        .form(&[("name", "pwned")])
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    let fetch_meta = alice
        .http
        .post(alice.url("/api/boards"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"name": "pwned"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fetch_meta.status(), 403);
    assert_eq!(event_count(&app).await, before);
    let (_, boards) = alice.get_json("/api/boards").await;
    assert_eq!(boards.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_board_is_worked_on_entirely_through_html_forms() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;

    let res = alice.form("/boards", &[("name", "Roadmap")]).await;
    assert_eq!(res.status(), 303);
    let board_url = res.headers()["location"].to_str().unwrap().to_owned();
    let board: i64 = board_url.rsplit('/').next().unwrap().parse().unwrap();
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let cols: Vec<i64> = snap["columns"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(
        snap["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["Todo", "Doing", "Done"]
    );

    let todo = cols[0].to_string();
    assert_eq!(
        alice.form(&format!("/boards/{board}/cards"), &[("title", "Ship it"), ("column_id", &todo)]).await.status(),
        303
    );
    let page = alice.get(&board_url).await.text().await.unwrap();
    assert!(page.contains("Ship it"));
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let card = snap["cards"][0]["id"].as_i64().unwrap();

    // Edit through the editor form.
    let res = alice
        .form(
            &format!("/cards/{card}"),
            &[
                ("title", "Ship it today"),
                ("description", "no excuses"),
                ("assignee", ""),
                ("labels", "ops, urgent"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let (_, c) = alice.get_json(&format!("/api/cards/{card}")).await;
    assert_eq!(c["title"], "Ship it today");
    assert_eq!(c["labels"], json!(["ops", "urgent"]));
    assert_eq!(c["version"], 2);

    // Move with the no-JavaScript "move to" control.
    let done = cols[2].to_string();
    assert_eq!(
        alice.form(&format!("/cards/{card}/move"), &[("column_id", &done), ("place", "first")]).await.status(),
        303
    );
    let (_, c) = alice.get_json(&format!("/api/cards/{card}")).await;
    assert_eq!(c["column_id"], cols[2]);

    // Columns: add, rename, move left, delete.
    assert_eq!(alice.form(&format!("/boards/{board}/columns"), &[("name", "Review")]).await.status(), 303);
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let review = snap["columns"][3]["id"].as_i64().unwrap();
    assert_eq!(alice.form(&format!("/columns/{review}"), &[("name", "QA")]).await.status(), 303);
    assert_eq!(alice.form(&format!("/columns/{review}/move"), &[("direction", "left")]).await.status(), 303);
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let names: Vec<&str> = snap["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Todo", "Doing", "QA", "Done"]);
    assert_eq!(alice.form(&format!("/columns/{review}/delete"), &[]).await.status(), 303);

    // Members: add and remove by username.
    assert_eq!(alice.form(&format!("/boards/{board}/members"), &[("username", "bob")]).await.status(), 303);
    assert!(alice.get(&board_url).await.text().await.unwrap().contains(r#"data-member="bob""#));
    assert_eq!(alice.form(&format!("/boards/{board}/members/bob/delete"), &[]).await.status(), 303);
    assert!(!alice.get(&board_url).await.text().await.unwrap().contains(r#"data-member="bob""#));

    // Delete the card.
    assert_eq!(alice.form(&format!("/cards/{card}/delete"), &[("version", "3")]).await.status(), 303);
    assert_eq!(alice.get_json(&format!("/api/cards/{card}")).await.0, 404);
}

#[tokio::test]
async fn a_refused_card_title_is_shown_with_the_text_kept() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, cols) = alice.board("B").await;
    let long = "x".repeat(201);
    let res =
        alice.form(&format!("/boards/{board}/cards"), &[("title", &long), ("column_id", &cols[0].to_string())]).await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("too long"), "a clear error");
    assert!(page.contains(&long), "the text is kept");
}

#[tokio::test]
async fn the_json_api_creates_reads_updates_moves_and_deletes() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let (board, cols) = alice.board("API").await;
    alice.add_member(board, "bob").await;

    let a = alice.card(board, json!({"title": "A", "labels": ["x"], "assignee": "bob"})).await;
    assert_eq!(a["column_id"], cols[0], "the first column by default");
    assert_eq!(a["assignee"], "bob");
    let b = alice.card(board, json!({"title": "B", "column_id": cols[0]})).await;
    let c = alice.card(board, json!({"title": "C", "column_id": cols[0], "place": "first"})).await;

    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let order: Vec<&str> = snap["cards"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(order, ["C", "A", "B"]);

    // Move B between C and A, then A to Doing.
    let (s, _) = alice.patch_json(&format!("/api/cards/{}", b["id"]), json!({"after_id": c["id"]})).await;
    assert_eq!(s, 200);
    let (s, moved) =
        alice.patch_json(&format!("/api/cards/{}", a["id"]), json!({"column_id": cols[1], "assignee": null})).await;
    assert_eq!(s, 200);
    assert_eq!(moved["assignee"], json!(null));
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let order: Vec<(&str, i64)> = snap["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["title"].as_str().unwrap(), c["column_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(order, [("C", cols[0]), ("B", cols[0]), ("A", cols[1])]);

    // Columns and members over JSON.
    let (s, col) = alice.post_json(&format!("/api/boards/{board}/columns"), json!({"name": "Later"})).await;
    assert_eq!(s, 201);
    let (s, col) =
        alice.patch_json(&format!("/api/columns/{}", col["id"]), json!({"name": "Someday", "place": "first"})).await;
    assert_eq!((s, col["name"].as_str()), (200, Some("Someday")));
    assert_eq!(alice.delete(&format!("/api/columns/{}", col["id"])).await, 204);
    assert_eq!(alice.delete(&format!("/api/boards/{board}/members/bob")).await, 204);

    assert_eq!(alice.delete(&format!("/api/cards/{}", c["id"])).await, 204);
    assert_eq!(alice.get_json(&format!("/api/cards/{}", c["id"])).await.0, 404);
}

#[tokio::test]
async fn bad_input_gets_a_clear_json_error_and_writes_nothing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let mallory = app.signup("mallory").await;
    let (board, _) = alice.board("Mine").await;
    let (other, other_cols) = mallory.board("Theirs").await;
    let card = alice.card(board, json!({"title": "t"})).await;
    let before = event_count(&app).await;

    let cases = [
        (alice.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "  "})).await, 400, "VALIDATION"),
        (
            alice.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "x".repeat(201)})).await,
            400,
            "VALIDATION",
        ),
        (alice.patch_json("/api/cards/99999", json!({"title": "x"})).await, 404, "NOT_FOUND"),
        (
            alice.patch_json(&format!("/api/cards/{}", card["id"]), json!({"column_id": other_cols[0]})).await,
            400,
            "VALIDATION",
        ),
        (alice.post_json(&format!("/api/boards/{other}/cards"), json!({"title": "intrude"})).await, 404, "NOT_FOUND"),
        (
            mallory.patch_json(&format!("/api/cards/{}", card["id"]), json!({"title": "mine now"})).await,
            404,
            "NOT_FOUND",
        ),
        (
            alice.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "t", "assignee": "mallory"})).await,
            400,
            "VALIDATION",
        ),
        (
            alice.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "t", "colour": "red"})).await,
            400,
            "BAD_REQUEST",
        ),
    ];
    for ((status, body), want_status, want_code) in cases {
        assert_eq!(status, want_status, "{body}");
        assert_eq!(body["error"]["code"], want_code, "{body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    let malformed = alice
        .http
        .post(alice.url(&format!("/api/boards/{board}/cards")))
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.json::<serde_json::Value>().await.unwrap()["error"]["code"], "BAD_REQUEST");

    let not_json =
        alice.http.post(alice.url(&format!("/api/boards/{board}/cards"))).body("title=x").send().await.unwrap();
    assert_eq!(not_json.status(), 415);
    assert_eq!(not_json.json::<serde_json::Value>().await.unwrap()["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");

    let huge = json!({"title": "t", "description": "x".repeat(200_000)});
    let too_big = alice.http.post(alice.url(&format!("/api/boards/{board}/cards"))).json(&huge).send().await.unwrap();
    assert_eq!(too_big.status(), 413);
    assert_eq!(too_big.json::<serde_json::Value>().await.unwrap()["error"]["code"], "PAYLOAD_TOO_LARGE");

    assert_eq!(event_count(&app).await, before, "no failed write left an event");
}

#[tokio::test]
async fn a_stale_version_is_refused_with_409_and_the_card_is_untouched() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let card = alice.card(board, json!({"title": "v1"})).await;
    let id = card["id"].as_i64().unwrap();
    let (s, _) = alice.patch_json(&format!("/api/cards/{id}"), json!({"title": "v2", "version": 1})).await;
    assert_eq!(s, 200);
    let (s, body) = alice.patch_json(&format!("/api/cards/{id}"), json!({"title": "stale", "version": 1})).await;
    assert_eq!(s, 409);
    assert_eq!(body["error"]["code"], "CONFLICT");
    let (_, now) = alice.get_json(&format!("/api/cards/{id}")).await;
    assert_eq!((now["title"].as_str(), now["version"].as_i64()), (Some("v2"), Some(2)));
}

#[tokio::test]
async fn a_conflicting_form_save_shows_who_changed_what_and_keeps_the_typed_text() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, _) = alice.board("B").await;
    alice.add_member(board, "bob").await;
    let card = alice.card(board, json!({"title": "Original"})).await;
    let id = card["id"].as_i64().unwrap();

    bob.patch_json(&format!("/api/cards/{id}"), json!({"title": "Bob's title"})).await;
    let res = alice
        .form(
            &format!("/cards/{id}"),
            &[
                ("title", "Alice's careful rewrite"),
                ("description", "long text"),
                ("assignee", ""),
                ("labels", ""),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 409);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Alice&#39;s careful rewrite") || page.contains("Alice's careful rewrite"),
        "typed title kept"
    );
    assert!(page.contains("long text"), "typed description kept");
    assert!(page.contains("bob"), "who changed it");
    assert!(page.contains("Bob&#39;s title") || page.contains("Bob's title"), "what they changed");
    assert!(page.contains(r#"name="version" value="2""#), "saving again applies on top of the newest version");
}

#[tokio::test]
async fn every_change_writes_exactly_one_event_row_with_before_and_after() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let before = event_count(&app).await;
    let card = alice.card(board, json!({"title": "one"})).await;
    alice.patch_json(&format!("/api/cards/{}", card["id"]), json!({"title": "two"})).await;
    alice.delete(&format!("/api/cards/{}", card["id"])).await;
    assert_eq!(event_count(&app).await, before + 3);

    type Row = (String, String, Option<String>, Option<String>, Option<i64>);
    let rows: Vec<Row> =
        sqlx::query_as("select collection, action, before, after, actor_id from events where seq > ? order by seq")
            .bind(before)
            .fetch_all(&app.state.db.read)
            .await
            .unwrap();
    let actions: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(actions, [("cards", "create"), ("cards", "update"), ("cards", "delete")]);
    let update_before: serde_json::Value = serde_json::from_str(rows[1].2.as_deref().unwrap()).unwrap();
    let update_after: serde_json::Value = serde_json::from_str(rows[1].3.as_deref().unwrap()).unwrap();
    assert_eq!((update_before["title"].as_str(), update_after["title"].as_str()), (Some("one"), Some("two")));
    assert!(rows[0].2.is_none() && rows[2].3.is_none());
    assert!(rows.iter().all(|r| r.4.is_some()), "the actor is recorded");
}

#[tokio::test]
async fn concurrent_writers_publish_in_sequence_order() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let mut rx = app.state.db.bus().subscribe();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let http = alice.http.clone();
            let url = alice.url(&format!("/api/boards/{board}/cards"));
            tokio::spawn(async move {
                for i in 0..15 {
                    let res = http.post(&url).json(&json!({"title": format!("w{w} c{i}")})).send().await.unwrap();
                    assert_eq!(res.status(), 201);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let mut seqs = Vec::new();
    while seqs.len() < 120 {
        seqs.push(tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap().seq);
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "published out of order: {seqs:?}");
}

#[tokio::test]
async fn writes_that_fail_among_concurrent_ones_roll_back_alone_and_the_rest_commit_and_publish_once() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let mut rx = app.state.db.bus().subscribe();
    // Sent all at once, so the writer takes them in batches. Every third is a change that writes
    // (renames the board, records an event) and then fails: it must leave no trace.
    let sends: Vec<_> = (0..90)
        .map(|i| {
            let (http, db) = (alice.http.clone(), app.state.db.clone());
            let url = alice.url(&format!("/api/boards/{board}/cards"));
            tokio::spawn(async move {
                if i % 3 != 0 {
                    let res = http.post(&url).json(&json!({"title": format!("good {i}")})).send().await.unwrap();
                    return res.status().as_u16();
                }
                let failed = db
                    .write(None, move |w| {
                        w.exec("update boards set name = 'renamed' where id = ?", [board])?;
                        let (b,): (String,) = w.one("select name from boards where id = ?", [board])?;
                        assert_eq!(b, "renamed", "the change is visible inside its own job");
                        Err::<(), _>(liveboard::error::Error::Conflict(format!("job {i} gives up")))
                    })
                    .await;
                assert!(matches!(failed, Err(liveboard::error::Error::Conflict(_))), "{failed:?}");
                409
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for s in sends {
        statuses.push(s.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 60, "{statuses:?}");

    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    assert_eq!(snap["board"]["name"], "B", "no failed change is kept");
    let mut titles: Vec<String> =
        snap["cards"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect();
    titles.sort();
    let mut want: Vec<String> = (0..90).filter(|i| i % 3 != 0).map(|i| format!("good {i}")).collect();
    want.sort();
    assert_eq!(titles, want, "every good card is stored");

    let mut published = Vec::new();
    while published.len() < 60 {
        published.push(tokio::time::timeout(WAIT, rx.recv()).await.unwrap().unwrap());
    }
    assert!(published.windows(2).all(|w| w[1].seq == w[0].seq + 1), "one event each, in order, no gap");
    let stored: Vec<i64> = sqlx::query_scalar("select seq from events where seq > ? order by seq")
        .bind(published[0].seq - 1)
        .fetch_all(&app.state.db.read)
        .await
        .unwrap();
    assert_eq!(stored, published.iter().map(|e| e.seq).collect::<Vec<_>>(), "the log holds what was published");
    assert!(rx.try_recv().is_err(), "nothing else was published");
}

#[tokio::test]
async fn health_answers_when_the_database_does() {
    let app = spawn_app().await;
    let res = reqwest::get(format!("{}/health", app.base)).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_demo_seed_gives_alice_and_bob_a_board_with_a_dozen_cards() {
    let app = spawn_app_with(|c| c.seed_demo = true).await;
    let alice = app.anonymous();
    let res = alice.form("/login", &[("username", "alice"), ("password", "alice-password")]).await;
    assert_eq!(res.status(), 303);
    let (_, boards) = alice.get_json("/api/boards").await;
    let id = boards[0]["id"].as_i64().unwrap();
    let (_, snap) = alice.get_json(&format!("/api/boards/{id}")).await;
    assert_eq!(snap["cards"].as_array().unwrap().len(), 12);
    assert_eq!(snap["members"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_cli_creates_an_admin_who_can_then_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_liveboard"))
        .args(["create-user", "root", "--admin"])
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("LIVEBOARD_PASSWORD", "root-password-1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = spawn_app_with(|c| c.database_path = db.clone()).await;
    let root = app.anonymous();
    assert_eq!(root.form("/login", &[("username", "root"), ("password", "root-password-1")]).await.status(), 303);
    let (_, me) = root.get_json("/api/me").await;
    assert_eq!(me["is_admin"], true);
}

#[tokio::test]
async fn assets_are_embedded_and_served_with_cache_headers() {
    let app = spawn_app().await;
    let res = reqwest::get(format!("{}/assets/app.css", app.base)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache", "unversioned URLs revalidate");
    let versioned = reqwest::get(format!("{}/assets/app.css?v=abc", app.base)).await.unwrap();
    assert!(versioned.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let etag = res.headers()["etag"].clone();
    let again = reqwest::Client::new()
        .get(format!("{}/assets/app.css", app.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_even_when_the_next_one_is_right() {
    let app = spawn_app().await;
    app.signup("alice").await;
    let guesser = app.anonymous();
    for _ in 0..5 {
        assert_eq!(guesser.form("/login", &[("username", "alice"), ("password", "guess-guess")]).await.status(), 400);
    }
    let res = guesser.form("/login", &[("username", "alice"), ("password", &password("alice"))]).await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("Too many failed attempts"));
}

#[tokio::test]
async fn an_api_token_in_the_url_is_refused_for_plain_http() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let page = alice.form("/settings/tokens", &[("name", "script")]).await.text().await.unwrap();
    let token = page.split("data-new-token>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    let anon = app.anonymous();
    let (status, _) = anon.get_json(&format!("/api/boards?token={token}")).await;
    assert_eq!(status, 401, "HTTP clients send Authorization: Bearer");
    let ok = anon.http.get(anon.url("/api/boards")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn an_admin_announcement_reaches_json_clients_as_a_custom_event() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let bob = app.signup("bob").await;
    let (mut ws, _) = realtime(&bob, "").await;
    assert_eq!(root.form("/admin/announce", &[("message", "Deploy at six")]).await.status(), 303);
    let (msg, _) = until_json(&mut ws, |v| v["type"] == "custom_event").await;
    assert_eq!(msg["data"]["announcement"], "Deploy at six");
    let bob_admin = bob.form("/admin/announce", &[("message", "I am not admin")]).await;
    assert_eq!(bob_admin.status(), 403);
}

#[tokio::test]
async fn a_deleted_cards_id_is_never_given_to_a_new_card() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let gone = alice.card(board, json!({"title": "short-lived"})).await["id"].as_i64().unwrap();
    assert_eq!(alice.delete(&format!("/api/cards/{gone}")).await, 204);
    let fresh = alice.card(board, json!({"title": "fresh"})).await["id"].as_i64().unwrap();
    assert!(fresh > gone, "the event log keeps {gone}'s history; {fresh} must not share it");
}

#[tokio::test]
async fn a_write_cancelled_while_it_begins_leaves_the_writer_usable() {
    let app = spawn_app().await;
    // Cancel `Db::write` at every point of its first microseconds, many times over.
    for i in 0..400u64 {
        let write = app.state.db.write(None, |w| w.exec("update stream set id = id", []));
        let _ = tokio::time::timeout(std::time::Duration::from_micros(i % 200), write).await;
    }
    let write = app.state.db.write(None, |w| w.exec("update stream set id = id", []));
    tokio::time::timeout(WAIT, write).await.expect("the writer is free").expect("a new write commits");
}

#[tokio::test]
async fn a_created_card_is_returned_exactly_as_it_is_stored() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let (board, _) = alice.board("B").await;
    alice.add_member(board, "bob").await;
    let created = alice.card(board, json!({"title": "t", "assignee": "BOB", "labels": ["x", "y"]})).await;
    let (_, stored) = alice.get_json(&format!("/api/cards/{}", created["id"])).await;
    assert_eq!(created, stored);
    assert_eq!(stored["assignee"], "bob", "the stored name, whatever the case typed");
}

#[tokio::test]
async fn only_a_server_that_seeded_the_demo_shows_its_accounts_on_the_login_page() {
    let dev = spawn_app_with(|c| c.seed_demo = true).await;
    let page = dev.anonymous().get("/login").await.text().await.unwrap();
    assert!(page.contains("alice-password"), "make dev shows how to sign in");
    let prod = spawn_app().await;
    let page = prod.anonymous().get("/login").await.text().await.unwrap();
    assert!(!page.contains("Demo accounts"));
}

#[tokio::test]
async fn a_card_needs_a_column_of_its_own_board() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, cols) = alice.board("B").await;
    let (s, body) =
        alice.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "t", "column_id": 999_999})).await;
    assert_eq!((s, body["error"]["field"].as_str()), (400, Some("column_id")), "{body}");
    for c in cols {
        assert_eq!(alice.delete(&format!("/api/columns/{c}")).await, 204);
    }
    let (s, body) = alice.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "t"})).await;
    assert_eq!(s, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("no columns"), "{body}");
    assert_eq!(alice.post_json("/api/boards/999999/cards", json!({"title": "t"})).await.0, 404);
}

// ---- every error in the documented shape ----

/// Method, path, (content type, body), and the status and error code the answer must have.
type RefusedRequest<'a> = (&'a str, String, Option<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn every_refused_api_request_answers_the_documented_json_error() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("Mine").await;
    let card = alice.card(board, json!({"title": "t"})).await["id"].as_i64().unwrap();
    let (cards, one_card) = (format!("/api/boards/{board}/cards"), format!("/api/cards/{card}"));
    let huge = json!({"title": "t", "description": "x".repeat(200_000)}).to_string();
    const JSON: &str = "application/json";

    let cases: Vec<RefusedRequest> = vec![
        // path and query extractors
        ("GET", "/api/boards/abc".into(), None, 400, "BAD_REQUEST"),
        ("DELETE", "/api/boards/x/members/bob".into(), None, 400, "BAD_REQUEST"),
        ("DELETE", format!("{one_card}?version=abc"), None, 400, "BAD_REQUEST"),
        // bodies: malformed, wrong shape, wrong content type, too big
        ("POST", cards.clone(), Some((JSON, "{\"title\": ")), 400, "BAD_REQUEST"),
        ("POST", cards.clone(), Some((JSON, "{\"title\": 5}")), 400, "BAD_REQUEST"),
        ("POST", cards.clone(), Some(("application/x-www-form-urlencoded", "title=x")), 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("PATCH", one_card.clone(), Some(("text/plain", "{}")), 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("POST", cards.clone(), Some((JSON, &huge)), 413, "PAYLOAD_TOO_LARGE"),
        // routes: unknown paths, wrong methods
        ("GET", "/api/nope".into(), None, 404, "NOT_FOUND"),
        ("GET", "/api".into(), None, 404, "NOT_FOUND"),
        ("POST", format!("/api/boards/{board}/nope"), Some((JSON, "{}")), 404, "NOT_FOUND"),
        ("PUT", format!("/api/boards/{board}"), Some((JSON, "{}")), 405, "METHOD_NOT_ALLOWED"),
        ("DELETE", "/api/me".into(), None, 405, "METHOD_NOT_ALLOWED"),
    ];

    for (method, path, body, want_status, want_code) in cases {
        let case = format!("{method} {path}");
        let mut req = alice.http.request(method.parse().unwrap(), alice.url(&path));
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body.to_owned());
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{case}: no answer: {e}"));

        let status = res.status().as_u16();
        let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let (content_type, allow) = (header("content-type"), header("allow"));
        let text = res.text().await.unwrap();
        assert_eq!(status, want_status, "{case}: {text}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{case}: {text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{case}: {text}"));
        assert_eq!(body["error"]["code"], want_code, "{case}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}: {body}");
        if status == 405 {
            let allow = allow.unwrap_or_else(|| panic!("{case}: a 405 names the allowed methods"));
            assert!(allow.contains("GET"), "{case}: Allow: {allow}");
        }
    }
}

#[tokio::test]
async fn a_bad_socket_handshake_query_answers_json_too() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let res = alice
        .http
        .get(alice.url("/realtime/subscribe?since=abc"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_REQUEST", "{body}");
}

#[tokio::test]
async fn pages_still_answer_errors_with_html_pages() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    for path in ["/boards/999999", "/no-such-page"] {
        let res = alice.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        assert!(res.text().await.unwrap().contains("<html"), "{path}");
    }
}

#[tokio::test]
async fn a_refused_comment_form_shows_the_editor_again_with_the_typed_comment_kept_and_writes_nothing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let id = alice.card(board, json!({"title": "Card"})).await["id"].as_i64().unwrap();
    let before = app.seq();
    let too_long = format!("my long remark {}", "x".repeat(2000));

    let res = alice.form(&format!("/cards/{id}/comments"), &[("body", &too_long)]).await;

    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("too long"), "the error is shown");
    assert!(page.contains(&too_long), "the typed comment is given back");
    assert_eq!(app.seq(), before, "nothing was written");
}
