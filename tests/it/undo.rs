//! Undo end to end: a change names its event (`liveboard-undo`), `POST /api/events/{seq}/undo`
//! writes the inverse as a new change that every socket receives, and the rules (yours, recent,
//! unchanged since) refuse with a clear error and nothing written. The plain form path too.
//!
//! handler → undo repository → writer → event bus → hub → renderer → socket, all real.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// Makes a change and returns its body (if any) and the seq its `liveboard-undo` header names.
async fn change(user: &User, method: Method, path: &str, body: Option<Value>) -> (Value, i64) {
    let mut req = user.http.request(method, user.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let seq = res.headers().get("liveboard-undo").map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    (serde_json::from_str(&text).unwrap_or(Value::Null), seq.expect("the change names its event"))
}

async fn move_card(user: &User, card: i64, column: i64) -> i64 {
    change(user, Method::PATCH, &format!("/api/cards/{card}"), Some(json!({"column_id": column}))).await.1
}

async fn undo(user: &User, seq: impl std::fmt::Display) -> (u16, Value) {
    user.post_json(&format!("/api/events/{seq}/undo"), json!({})).await
}

/// The log's newest seq and its row count: what a refused undo must leave as they were.
async fn log_state(app: &TestApp) -> (i64, i64) {
    let rows: i64 = sqlx::query_scalar("select count(*) from events").fetch_one(&app.state.db.read).await.unwrap();
    let newest: i64 =
        sqlx::query_scalar("select coalesce(max(seq), 0) from events").fetch_one(&app.state.db.read).await.unwrap();
    (newest, rows)
}

/// Asserts a refused undo: its status and code, and that nothing was written.
async fn refused(app: &TestApp, user: &User, seq: impl std::fmt::Display, status: u16, code: &str) -> String {
    let before = log_state(app).await;
    let (s, body) = undo(user, seq).await;
    assert_eq!((s, body["error"]["code"].as_str()), (status, Some(code)), "{body}");
    assert_eq!(log_state(app).await, before, "a refused undo writes nothing");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// The ids of a column's cards, in board order.
async fn cards_in(user: &User, board: i64, column: i64) -> Vec<i64> {
    let (_, snap) = user.get_json(&format!("/api/boards/{board}")).await;
    snap["cards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["column_id"] == column)
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// Alice's board shared with Bob: (board, [todo, doing, done]).
async fn shared_board(app: &TestApp) -> (User, User, i64, Vec<i64>) {
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, cols) = alice.board("Launch").await;
    alice.add_member(board, "bob").await;
    (alice, bob, board, cols)
}

#[tokio::test]
async fn undo_of_a_move_puts_the_card_back_for_both_users() {
    let app = spawn_app().await;
    let (alice, bob, board, cols) = shared_board(&app).await;
    let first = id(&alice.card(board, json!({"title": "Press release"})).await);
    let second = id(&alice.card(board, json!({"title": "Landing page"})).await);
    let mut bob_live = bob.live(board, "").await;

    let seq = move_card(&alice, first, cols[2]).await;
    bob_live.until(|s| s.is_card_upsert(first, cols[2])).await;

    let (s, body) = undo(&alice, seq).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!((body["action"].as_str(), body["collection"].as_str()), (Some("update"), Some("cards")));
    assert_eq!(body["record"]["column_id"], cols[0], "Alice's answer confirms it: {body}");
    assert!(body["seq"].as_i64().unwrap() > seq);
    let (s, _) = bob_live.until(|s| s.is_card(first)).await;
    assert!(s.is_card_upsert(first, cols[0]), "Bob's board puts it back in Todo: {s:?}");
    assert_eq!(cards_in(&alice, board, cols[0]).await, [first, second], "back at its place, above the other");
}

#[tokio::test]
async fn undo_after_someone_elses_edit_is_refused_with_409_naming_them() {
    let app = spawn_app().await;
    let (alice, bob, board, cols) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    let seq = move_card(&alice, card, cols[1]).await;
    bob.patch_json(&format!("/api/cards/{card}"), json!({"title": "Press release v2"})).await;

    let message = refused(&app, &alice, seq, 409, "CONFLICT").await;
    assert!(message.starts_with("bob changed this card since"), "{message}");
    let (_, now) = alice.get_json(&format!("/api/cards/{card}")).await;
    assert_eq!((now["title"].as_str(), &now["column_id"]), (Some("Press release v2"), &json!(cols[1])));
}

#[tokio::test]
async fn a_change_made_by_someone_else_cannot_be_undone_by_you() {
    let app = spawn_app().await;
    let (alice, bob, board, cols) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    let seq = move_card(&bob, card, cols[1]).await;

    let message = refused(&app, &alice, seq, 403, "FORBIDDEN").await;
    assert!(message.contains("only the person who made a change"), "{message}");
    // Someone who is not on the board learns nothing of the change: the answer of an unknown seq.
    let carol = app.signup("carol").await;
    refused(&app, &carol, seq, 404, "NOT_FOUND").await;
}

#[tokio::test]
async fn undo_of_an_edit_restores_title_description_labels_and_assignee() {
    let app = spawn_app().await;
    let (alice, _bob, board, _) = shared_board(&app).await;
    let card = alice
        .card(board, json!({"title": "Press release", "description": "Draft", "labels": ["pr"], "assignee": "bob"}))
        .await;
    let (edited, seq) = change(
        &alice,
        Method::PATCH,
        &format!("/api/cards/{}", id(&card)),
        Some(
            json!({"title": "Final release", "description": "Ship it", "labels": ["ops", "urgent"], "assignee": null}),
        ),
    )
    .await;
    assert_eq!(edited["assignee"], Value::Null);

    let (s, body) = undo(&alice, seq).await;
    assert_eq!(s, 200, "{body}");
    let (_, now) = alice.get_json(&format!("/api/cards/{}", id(&card))).await;
    for field in ["title", "description", "labels", "assignee", "column_id", "rank"] {
        assert_eq!(now[field], card[field], "{field} is back: {now}");
    }
    assert_eq!(body["record"], now, "the answer is the card as the undo left it");
}

#[tokio::test]
async fn undo_of_a_delete_brings_the_card_back_with_its_comments_and_checklist_live() {
    let app = spawn_app().await;
    let (alice, bob, board, cols) = shared_board(&app).await;
    let above = id(&alice.card(board, json!({"title": "Above", "column_id": cols[1]})).await);
    let card = id(&alice.card(board, json!({"title": "Press release", "column_id": cols[1]})).await);
    let below = id(&alice.card(board, json!({"title": "Below", "column_id": cols[1]})).await);
    let (_, c1) = alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "first draft"})).await;
    let (_, c2) = bob.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "looks good"})).await;
    let (_, i1) = alice.post_json(&format!("/api/cards/{card}/checklist"), json!({"text": "quote"})).await;
    let (_, i2) = alice.post_json(&format!("/api/cards/{card}/checklist"), json!({"text": "photo"})).await;
    alice.patch_json(&format!("/api/checklist/{}", id(&i2)), json!({"done": true})).await;
    let (_, comments_before) = alice.get_json(&format!("/api/cards/{card}/comments")).await;
    let (_, checklist_before) = alice.get_json(&format!("/api/cards/{card}/checklist")).await;
    let (_, card_before) = alice.get_json(&format!("/api/cards/{card}")).await;

    let (_, seq) = change(&alice, Method::DELETE, &format!("/api/cards/{card}"), None).await;
    let mut bob_live = bob.live(board, "").await;
    let (mut ws, _) = realtime(&bob, "").await;
    subscribe_all(&mut ws, &["cards.*".into(), "comments.*".into(), "checklist_items.*".into()]).await.unwrap();

    let (s, body) = undo(&alice, seq).await;
    assert_eq!((s, body["action"].as_str()), (200, Some("create")), "{body}");
    assert_eq!(body["record"]["id"], card, "the card keeps its id");

    let (s, _) = bob_live.until(|s| s.is_card(card)).await;
    assert!(s.is_card_upsert(card, cols[1]), "{s:?}");
    assert!(s.html.contains("Press release") && s.html.contains("1/2"), "{}", s.html);
    let got = record_events(&mut ws, 5).await;
    let seen: Vec<(&str, &str, i64)> = got
        .iter()
        .map(|e| (e["collection"].as_str().unwrap(), e["action"].as_str().unwrap(), id(&e["record"])))
        .collect();
    assert_eq!(
        seen,
        [
            ("cards", "create", card),
            ("checklist_items", "create", id(&i1)),
            ("checklist_items", "create", id(&i2)),
            ("comments", "create", id(&c1)),
            ("comments", "create", id(&c2)),
        ]
    );
    assert_eq!(seqs(&got)[0], body["seq"].as_i64().unwrap());

    assert_eq!(cards_in(&alice, board, cols[1]).await, [above, card, below], "at its place");
    assert_eq!(alice.get_json(&format!("/api/cards/{card}/comments")).await.1, comments_before);
    let (_, checklist) = alice.get_json(&format!("/api/cards/{card}/checklist")).await;
    let texts = |v: &Value| -> Vec<(Value, Value, Value)> {
        v.as_array().unwrap().iter().map(|i| (i["id"].clone(), i["text"].clone(), i["done"].clone())).collect()
    };
    assert_eq!(texts(&checklist), texts(&checklist_before));
    let (_, now) = alice.get_json(&format!("/api/cards/{card}")).await;
    for field in ["title", "column_id", "rank", "checklist_done", "checklist_total", "created_at"] {
        assert_eq!(now[field], card_before[field], "{field}");
    }
}

#[tokio::test]
async fn deleting_a_card_publishes_a_delete_event_for_each_of_its_comments() {
    let app = spawn_app().await;
    let (alice, bob, board, _) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    let (_, c1) = alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "one"})).await;
    let (_, c2) = bob.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "two"})).await;
    let (mut ws, _) = realtime(&bob, "").await;
    subscribe(&mut ws, "comments.*").await;

    assert_eq!(alice.delete(&format!("/api/cards/{card}")).await, 204);

    let got = record_events(&mut ws, 2).await;
    let seen: Vec<(&str, i64)> = got.iter().map(|e| (e["action"].as_str().unwrap(), id(&e["record"]))).collect();
    assert_eq!(seen, [("delete", id(&c1)), ("delete", id(&c2))]);
}

#[tokio::test]
async fn an_unknown_seq_is_404_and_one_that_is_not_a_number_is_400() {
    let app = spawn_app().await;
    let (alice, _bob, board, _) = shared_board(&app).await;
    alice.card(board, json!({"title": "Press release"})).await;

    let message = refused(&app, &alice, 999_999, 404, "NOT_FOUND").await;
    assert!(message.contains("may be too old"), "{message}");
    let message = refused(&app, &alice, "abc", 400, "BAD_REQUEST").await;
    assert!(message.contains("\"abc\" is not an event's seq"), "{message}");
    refused(&app, &alice, -3, 400, "BAD_REQUEST").await;
}

#[tokio::test]
async fn a_change_older_than_the_undo_window_is_gone() {
    // A window of one second, and a change whose event is dated two seconds back: no waiting.
    let app = spawn_app_with(|c| c.undo_window = std::time::Duration::from_secs(1)).await;
    let (alice, _bob, board, cols) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    let seq = move_card(&alice, card, cols[1]).await;
    let two_seconds_ago = (time::OffsetDateTime::now_utc() - time::Duration::seconds(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    sqlx::query("update events set created_at = ? where seq = ?")
        .bind(two_seconds_ago)
        .bind(seq)
        .execute(&app.state.db.read)
        .await
        .unwrap();

    let message = refused(&app, &alice, seq, 410, "EXPIRED").await;
    assert!(message.contains("too old to undo") && message.contains("for 1 second after"), "{message}");
}

#[tokio::test]
async fn a_window_of_zero_turns_undo_off() {
    let app = spawn_app_with(|c| c.undo_window = std::time::Duration::ZERO).await;
    let (alice, _bob, board, cols) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    let seq = move_card(&alice, card, cols[1]).await;

    let message = refused(&app, &alice, seq, 410, "EXPIRED").await;
    assert!(message.contains("turned off"), "{message}");
}

#[tokio::test]
async fn undoing_the_same_change_twice_is_refused_and_undoing_the_undo_redoes_it() {
    let app = spawn_app().await;
    let (alice, _bob, board, cols) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    let seq = move_card(&alice, card, cols[2]).await;
    let (s, first) = undo(&alice, seq).await;
    assert_eq!(s, 200, "{first}");

    let message = refused(&app, &alice, seq, 409, "CONFLICT").await;
    assert!(message.starts_with("you changed this card since: undo that change first"), "{message}");

    let (s, redo) = undo(&alice, first["seq"].as_i64().unwrap()).await;
    assert_eq!((s, &redo["record"]["column_id"]), (200, &json!(cols[2])), "{redo}");

    // A deletion, undone once, cannot come back twice.
    let (_, del) = change(&alice, Method::DELETE, &format!("/api/cards/{card}"), None).await;
    assert_eq!(undo(&alice, del).await.0, 200);
    let message = refused(&app, &alice, del, 409, "CONFLICT").await;
    assert!(message.contains("back already"), "{message}");
}

#[tokio::test]
async fn changes_that_are_not_to_cards_cannot_be_undone() {
    let app = spawn_app().await;
    let (alice, _bob, board, _) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "hello"})).await;
    let comment_seq = app.seq();

    let message = refused(&app, &alice, comment_seq, 400, "BAD_REQUEST").await;
    assert!(message.contains("cannot be undone") && message.contains("comments"), "{message}");
}

#[tokio::test]
async fn undo_of_a_create_deletes_the_card_unless_someone_else_added_to_it() {
    let app = spawn_app().await;
    let (alice, bob, board, _) = shared_board(&app).await;
    let (_, mine) =
        change(&alice, Method::POST, &format!("/api/boards/{board}/cards"), Some(json!({"title": "Mine alone"}))).await;
    let (s, body) = undo(&alice, mine).await;
    assert_eq!((s, body["action"].as_str()), (200, Some("delete")), "{body}");
    assert_eq!(alice.get_json(&format!("/api/cards/{}", id(&body["record"]))).await.0, 404);

    let card = id(&alice.card(board, json!({"title": "Shared"})).await);
    let created = app.seq();
    bob.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "mine too"})).await;
    let message = refused(&app, &alice, created, 409, "CONFLICT").await;
    assert!(message.starts_with("bob added to this card since"), "{message}");
}

#[tokio::test]
async fn without_javascript_a_move_shows_the_notice_and_its_undo_form_works() {
    let app = spawn_app().await;
    let (alice, bob, board, cols) = shared_board(&app).await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);

    let res = alice.form(&format!("/cards/{card}/move"), &[("column_id", &cols[2].to_string())]).await;
    assert_eq!((res.status().as_u16(), location(&res)), (303, format!("/boards/{board}")));
    let seq = app.seq();
    let page = alice.get(&format!("/boards/{board}")).await.text().await.unwrap();
    assert!(page.contains("Moved to Done"), "{page}");
    let action = format!("action=\"/events/{seq}/undo\"");
    assert!(page.contains(&action), "the notice's form undoes that change: {page}");
    assert!(page.contains(">Undo</button>"), "a real button: {page}");
    let again = alice.get(&format!("/boards/{board}")).await.text().await.unwrap();
    assert!(!again.contains("Moved to Done"), "the notice shows once");

    let res = alice.form(&format!("/events/{seq}/undo"), &[("board_id", &board.to_string())]).await;
    assert_eq!((res.status().as_u16(), location(&res)), (303, format!("/boards/{board}")));
    assert_eq!(cards_in(&alice, board, cols[0]).await, [card]);
    let page = alice.get(&format!("/boards/{board}")).await.text().await.unwrap();
    assert!(page.contains("Change undone") && page.contains(">Redo</button>"), "{page}");

    // A refusal shows on the board, with its reason, and writes nothing.
    let res = alice.form(&format!("/cards/{card}/move"), &[("column_id", &cols[1].to_string())]).await;
    let seq = res.headers()["liveboard-undo"].to_str().unwrap().to_owned();
    bob.patch_json(&format!("/api/cards/{card}"), json!({"title": "Bob's now"})).await;
    let before = log_state(&app).await;
    let res = alice.form(&format!("/events/{seq}/undo"), &[("board_id", &board.to_string())]).await;
    assert_eq!(res.status().as_u16(), 409);
    let page = res.text().await.unwrap();
    assert!(page.contains("bob changed this card since"), "{page}");
    assert_eq!(log_state(&app).await, before);
}

#[tokio::test]
async fn the_editors_save_and_delete_name_their_event_for_the_page_and_leave_a_notice() {
    let app = spawn_app().await;
    let (alice, _bob, board, _) = shared_board(&app).await;
    let card = alice.card(board, json!({"title": "Press release"})).await;
    let path = format!("/cards/{}", id(&card));
    let fields = [("title", "Renamed"), ("version", "1")];

    // The board's script asks for 204 and reads the header.
    let res = alice
        .http
        .post(alice.url(&path))
        .header("origin", &alice.base)
        .header("x-partial", "1")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["liveboard-undo"].to_str().unwrap(), app.seq().to_string());

    let res = alice.form(&format!("{path}/delete"), &[]).await;
    assert_eq!(res.status(), 303);
    let page = alice.get(&format!("/boards/{board}")).await.text().await.unwrap();
    assert!(page.contains("Card deleted"), "{page}");
    let res = alice.form(&format!("/events/{}/undo", app.seq()), &[("board_id", &board.to_string())]).await;
    assert_eq!(res.status(), 303);
    let page = alice.get(&format!("/boards/{board}")).await.text().await.unwrap();
    assert!(page.contains("Card restored") && page.contains("Renamed"), "{page}");
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn an_undo_posted_through_one_edge_reaches_a_board_page_on_another() {
    use crate::cluster_support::{Cluster, signup_at};
    let c = Cluster::start().await;
    let alice = signup_at(&c.a, "alice").await;
    let bob = signup_at(&c.b, "bob").await;
    let (board, cols) = alice.board("Scale").await;
    alice.add_member(board, "bob").await;
    let card = id(&alice.card(board, json!({"title": "Press release"})).await);
    let mut bob_page = bob.live(board, "").await;

    // The header survives the edge's forwarding to the writer.
    let seq = move_card(&alice, card, cols[2]).await;
    bob_page.until(|s| s.is_card_upsert(card, cols[2])).await;
    let (s, body) = undo(&alice, seq).await;
    assert_eq!(s, 200, "{body}");

    let (s, _) = bob_page.until(|s| s.is_card(card)).await;
    assert!(s.is_card_upsert(card, cols[0]), "back in Todo on edge B: {s:?}");
    assert_eq!(s.seq, body["seq"].as_i64());
}
