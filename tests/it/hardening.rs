//! Hardening over real HTTP: a full database does not poison the writer, `/health` tells the truth,
//! password hashing and logins are bounded and throttled per address and account, rights are read
//! fresh, slow clients are cut off, and a non-member cannot tell a missing record from a hidden one.

use serde_json::json;
use sqlx::Connection;

use crate::support::*;

/// The SQLite file the app writes.
async fn db_file(app: &TestApp) -> String {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("pragma database_list").fetch_all(&app.state.db.read).await.unwrap();
    rows.into_iter().find(|r| r.1 == "main").expect("a main database").2
}

/// Lets the writer's connection grow the database by `extra_pages` at most: a disk that is full
/// (`Some(0)`) or has room again (`None`). SQLite keeps the limit per connection.
async fn limit_pages(app: &TestApp, extra_pages: Option<i64>) {
    app.state
        .db
        .write(None, move |w| {
            let (pages,): (i64,) = w.one("pragma page_count", [])?;
            let max = extra_pages.map_or(1_073_741_823, |extra| pages + extra);
            w.conn().execute_batch(&format!("pragma max_page_count = {max}"))?;
            Ok(())
        })
        .await
        .expect("the writer runs the pragma");
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

// ---- password hashing and log-in throttling ----

/// A client whose connections come from `ip` (any 127.x address reaches the loopback server).
fn client_from(app: &TestApp, ip: &str) -> User {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    User { name: String::new(), http, jar, base: app.base.clone() }
}

async fn login(u: &User, name: &str, pw: &str) -> reqwest::Response {
    u.form("/login", &[("username", name), ("password", pw)]).await
}

#[tokio::test]
async fn a_burst_of_logins_beyond_the_hashing_queue_is_told_to_retry_while_health_still_answers() {
    let app = spawn_app_with(|c| {
        c.password_hashes = 1;
        c.password_queue = 2;
        c.login_attempts_per_minute = 1000;
    })
    .await;
    let anon = app.anonymous();
    let burst: Vec<_> = (0..24)
        .map(|i| {
            let (http, url) = (anon.http.clone(), anon.url("/login"));
            tokio::spawn(async move {
                let form = [("username", format!("nobody{i}")), ("password", "whatever-pw".into())];
                http.post(url).header("sec-fetch-site", "same-origin").form(&form).send().await.unwrap()
            })
        })
        .collect();
    let started = std::time::Instant::now();
    assert_eq!(health(&app).await.0, 200, "health answers during the burst");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "and fast: {:?}", started.elapsed());

    let mut statuses = Vec::new();
    for r in burst {
        let res = r.await.unwrap();
        if res.status() == 503 {
            assert!(res.headers().contains_key("retry-after"), "a 503 says when to come back");
        }
        statuses.push(res.status().as_u16());
    }
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(statuses.contains(&400), "the ones let in are answered: {statuses:?}");
    assert!(statuses.iter().all(|s| [400, 503].contains(s)), "{statuses:?}");
}

#[tokio::test]
async fn one_address_trying_many_accounts_gets_429_with_retry_after_and_another_address_does_not() {
    let app = spawn_app_with(|c| c.login_attempts_per_minute = 3).await;
    app.signup("alice").await;
    let sprayer = client_from(&app, "127.0.0.3");
    for name in ["u1", "u2", "u3"] {
        assert_eq!(login(&sprayer, name, "whatever-pw").await.status(), 400);
    }
    let refused = login(&sprayer, "u4", "whatever-pw").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(login(&client_from(&app, "127.0.0.4"), "alice", &password("alice")).await.status(), 303);
}

#[tokio::test]
async fn variants_of_a_username_share_one_throttle_and_the_owner_from_another_address_still_logs_in() {
    let app = spawn_app().await;
    app.signup("victim1").await;
    let attacker = client_from(&app, "127.0.0.5");
    for name in ["victim1 ", " victim1", "\tvictim1", "VICTIM1", "Victim1\n"] {
        assert_eq!(login(&attacker, name, "wrong-guess").await.status(), 400, "{name:?}");
    }
    for name in ["victim1", "victim1   ", " VICTIM1"] {
        let res = login(&attacker, name, &password("victim1")).await;
        assert_eq!(res.status(), 429, "{name:?} is the same account and the same bucket");
        assert!(res.headers().contains_key("retry-after"));
    }
    let owner = client_from(&app, "127.0.0.6");
    assert_eq!(login(&owner, "victim1", &password("victim1")).await.status(), 303, "the owner is not locked out");
}

#[tokio::test]
async fn the_client_address_comes_from_the_configured_proxy_header_when_one_is_set() {
    let app = spawn_app_with(|c| {
        c.login_attempts_per_minute = 1;
        c.client_ip_header = Some("x-forwarded-for".into());
    })
    .await;
    let anon = app.anonymous();
    let via = |ip: &'static str| {
        anon.http
            .post(anon.url("/login"))
            .header("sec-fetch-site", "same-origin")
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .form(&[("username", "nobody"), ("password", "whatever-pw")])
            .send()
    };
    assert_eq!(via("198.51.100.1").await.unwrap().status(), 400);
    assert_eq!(via("198.51.100.1").await.unwrap().status(), 429, "the proxy's last entry is the client");
    assert_eq!(via("198.51.100.2").await.unwrap().status(), 400, "another client behind the same proxy");
}

// ---- rights read fresh, and the operator's commands ----

async fn cli(app: &TestApp, args: &[&str], password: Option<&str>) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_liveboard"));
    cmd.args(args).env("DATABASE_URL", format!("sqlite://{}", db_file(app).await)).env_remove("LIVEBOARD_PASSWORD");
    if let Some(p) = password {
        cmd.env("LIVEBOARD_PASSWORD", p);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn an_admin_demoted_from_the_command_line_loses_admin_rights_in_the_open_session_at_once() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    assert_eq!(root.get("/admin").await.status(), 200);
    assert_eq!(root.get_json("/api/connections").await.0, 200);

    let out = cli(&app, &["demote-user", "root"], None).await;
    assert!(out.contains("demoted user root (id"), "{out}");

    assert_eq!(root.get("/admin").await.status(), 403);
    assert_eq!(root.get_json("/api/connections").await.0, 403);
    assert_eq!(root.form("/admin/announce", &[("message", "still here?")]).await.status(), 403);
    assert_eq!(root.get_json("/api/me").await.1["is_admin"], false);
}

#[tokio::test]
async fn the_open_sockets_of_a_user_demoted_or_deleted_from_the_command_line_close_with_4401() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let bob = app.signup("bob").await;
    let (mut root_ws, _) = realtime(&root, "").await;
    subscribe(&mut root_ws, "*").await;
    let (mut bob_ws, _) = realtime(&bob, "").await;

    cli(&app, &["demote-user", "root"], None).await;
    assert_eq!(close_code(&mut root_ws).await, Some(4401), "an admin's `*` must not outlive the demotion");
    cli(&app, &["delete-user", "bob"], None).await;
    assert_eq!(close_code(&mut bob_ws).await, Some(4401));
    let (_, fresh) = realtime(&root, "").await;
    assert_eq!(fresh["type"], "connected", "the demoted user may reconnect, with the rights they have now");
}

#[tokio::test]
async fn a_user_deleted_from_the_command_line_is_signed_out_and_their_writes_get_401_not_500() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, _) = alice.board("Shared").await;
    alice.add_member(board, "bob").await;
    alice.card(board, json!({"title": "bob's", "assignee": "bob"})).await;
    assert_eq!(
        bob.post_json(
            &format!("/api/cards/{}/comments", alice.card(board, json!({"title": "c"})).await["id"]),
            json!({"body": "hi"})
        )
        .await
        .0,
        201
    );

    let out = cli(&app, &["delete-user", "bob"], None).await;
    assert!(out.contains("deleted user bob (id"), "{out}");

    let page = bob.get("/").await;
    assert_eq!((page.status().as_u16(), page.headers()["location"].to_str().unwrap()), (303, "/login"));
    assert_eq!(bob.post_json("/api/boards", json!({"name": "ghost"})).await.0, 401);
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    assert_eq!(snap["members"].as_array().unwrap().len(), 1, "{snap}");
    assert!(snap["cards"].as_array().unwrap().iter().all(|c| c["assignee"].is_null()), "{snap}");
    // An owner cannot be deleted while their boards exist.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_liveboard"));
    let refused = cmd
        .args(["delete-user", "alice"])
        .env("DATABASE_URL", format!("sqlite://{}", db_file(&app).await))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("owns 1 board"));
}

#[tokio::test]
async fn a_password_reset_from_the_command_line_lets_the_new_password_in_and_not_the_old() {
    let app = spawn_app().await;
    app.signup("carol").await;
    cli(&app, &["reset-password", "carol"], Some("brand-new-pass")).await;
    let anon = app.anonymous();
    assert_eq!(login(&anon, "carol", &password("carol")).await.status(), 400);
    assert_eq!(login(&anon, "carol", "brand-new-pass").await.status(), 303);
}

#[tokio::test]
async fn a_password_reset_from_the_command_line_signs_out_the_sessions_and_closes_the_sockets_from_before() {
    let app = spawn_app().await;
    let carol = app.signup("carol").await;
    let laptop = app.anonymous();
    assert_eq!(login(&laptop, "carol", &password("carol")).await.status(), 303);
    assert_eq!(carol.get("/").await.status(), 200, "the session is in the server's cache");
    let (mut ws, _) = realtime(&laptop, "").await;

    cli(&app, &["reset-password", "carol"], Some("brand-new-pass")).await;

    for (who, user) in [("first", &carol), ("second", &laptop)] {
        let page = user.get("/").await;
        assert_eq!(page.status(), 303, "the {who} session from before the reset is signed out");
        assert_eq!(page.headers()["location"], "/login");
        assert_eq!(user.get_json("/api/me").await.0, 401, "the {who} session stays signed out");
    }
    assert_eq!(close_code(&mut ws).await, Some(4401), "a socket opened before the reset closes");
    let fresh = app.anonymous();
    assert_eq!(login(&fresh, "carol", "brand-new-pass").await.status(), 303);
    assert_eq!(fresh.get_json("/api/me").await.0, 200, "a session signed in after the reset works");
}

// ---- token management needs a browser session ----

#[tokio::test]
async fn an_api_token_cannot_create_or_revoke_tokens_only_a_browser_session_can() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let page = alice.form("/settings/tokens", &[("name", "script")]).await.text().await.unwrap();
    let token = page.split("data-new-token>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();
    let count = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from api_tokens").fetch_one(&app.state.db.read).await.unwrap()
    };
    let id: i64 = sqlx::query_scalar("select id from api_tokens").fetch_one(&app.state.db.read).await.unwrap();

    let script = app.anonymous();
    let mint = script
        .http
        .post(script.url("/settings/tokens"))
        .bearer_auth(&token)
        .form(&[("name", "replacement")])
        .send()
        .await
        .unwrap();
    assert_eq!(mint.status(), 403);
    let revoke = script
        .http
        .post(script.url(&format!("/settings/tokens/{id}/delete")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 403);
    assert_eq!(script.http.get(script.url("/settings")).bearer_auth(&token).send().await.unwrap().status(), 403);
    assert_eq!(count().await, 1, "no token minted or revoked");
    // The token still works for what it is for.
    assert_eq!(script.http.get(script.url("/api/boards")).bearer_auth(&token).send().await.unwrap().status(), 200);
    // And the browser session still manages tokens.
    assert_eq!(alice.form(&format!("/settings/tokens/{id}/delete"), &[]).await.status(), 303);
    assert_eq!(count().await, 0);
}

// ---- slow clients ----

#[tokio::test]
async fn a_client_that_sends_half_a_request_head_and_stops_is_disconnected_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| c.http_header_timeout = std::time::Duration::from_millis(300)).await;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    slow.write_all(b"GET /hea").await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    // The server closes (EOF, or a reset) instead of waiting for the rest for ever.
    let read = tokio::time::timeout(WAIT, async {
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue, // a 408 may come first
            }
        }
    })
    .await;
    assert!(read.is_ok(), "still open after {WAIT:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "not before the timeout");
    assert_eq!(health(&app).await.0, 200, "others are served meanwhile");
}

#[tokio::test]
async fn open_websockets_leave_the_http_connection_cap_so_pages_still_load() {
    let app = spawn_app_with(|c| c.http_max_connections = 2).await;
    let alice = app.signup("alice").await;
    let mut sockets = Vec::new();
    for _ in 0..4 {
        sockets.push(realtime(&alice, "").await.0);
    }
    // Four sockets are open with a cap of two HTTP connections, and a page still loads.
    assert_eq!(alice.get("/").await.status(), 200);
    drop(sockets);
}

#[tokio::test]
async fn beyond_the_connection_cap_a_new_connection_waits_until_one_closes() {
    let app = spawn_app_with(|c| c.http_max_connections = 1).await;
    let hog = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let mut waiting = tokio::spawn(reqwest::get(format!("{}/health", app.base)));
    let short = std::time::Duration::from_millis(300);
    assert!(tokio::time::timeout(short, &mut waiting).await.is_err(), "served past the cap");
    drop(hog);
    let res = tokio::time::timeout(WAIT, waiting).await.expect("served once the slot is free").unwrap().unwrap();
    assert_eq!(res.status(), 200);
}
