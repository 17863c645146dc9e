//! Named view subscriptions of `/realtime/subscribe` over real WebSockets: the initial snapshot,
//! insert / update / delete as cards enter, change in and leave a view, resume, acks (and resuming
//! from the last ack), and API tokens for scripts (bearer HTTP, `?token=` sockets, revocation).

use crate::support::*;
use serde_json::{Value, json};

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("an id")
}

fn conn_id(hello: &Value) -> String {
    hello["connection_id"].as_str().expect("a connection id").to_owned()
}

/// The next view event: (operation, card id, seq).
async fn view_event(ws: &mut Ws) -> (String, i64, i64) {
    let v = next_json(ws).await;
    assert_eq!(v["type"], "event", "{v}");
    (v["operation"].as_str().unwrap().to_owned(), id(&v["data"]), v["seq"].as_i64().unwrap())
}

async fn patch(user: &User, card: &Value, body: Value) -> Value {
    let (s, c) = user.patch_json(&format!("/api/cards/{}", id(card)), body).await;
    assert_eq!(s, 200, "{c}");
    c
}

/// Alice and Bob on one board (Todo / Doing / Done); returns them, the board and its columns.
async fn team(app: &TestApp) -> (User, User, i64, Vec<i64>) {
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, cols) = alice.board("Team").await;
    alice.add_member(board, "bob").await;
    (alice, bob, board, cols)
}

// ---- the initial snapshot ----

#[tokio::test]
async fn a_view_subscription_starts_with_the_views_cards_in_board_order_as_stored() {
    let app = spawn_app().await;
    let (alice, _, board, cols) = team(&app).await;
    alice.card(board, json!({"title": "todo 1", "column_id": cols[0]})).await;
    alice.card(board, json!({"title": "done", "column_id": cols[2]})).await;
    alice.card(board, json!({"title": "doing", "column_id": cols[1]})).await;
    alice.card(board, json!({"title": "todo 0", "column_id": cols[0], "place": "first"})).await;
    let (mut ws, _) = realtime(&alice, "").await;

    let sub = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;

    assert_eq!(sub["type"], "subscribed", "{sub}");
    assert_eq!((sub["view"].as_str(), sub["subscription"].is_string()), (Some("active_cards"), true));
    assert!(sub["seq"].as_i64().is_some_and(|s| s <= app.seq()));
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let expected: Vec<Value> =
        snap["cards"].as_array().unwrap().iter().filter(|c| c["column_id"] != cols[2]).cloned().collect();
    assert_eq!(sub["initial"], Value::Array(expected));
    let titles: Vec<&str> = sub["initial"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["todo 0", "todo 1", "doing"]);
}

// ---- transitions of each named view ----

#[tokio::test]
async fn active_cards_inserts_updates_and_deletes_as_cards_move_into_and_out_of_done() {
    let app = spawn_app().await;
    let (alice, _, board, cols) = team(&app).await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;

    let card = alice.card(board, json!({"title": "t", "column_id": cols[0]})).await;
    patch(&alice, &card, json!({"title": "t2"})).await;
    patch(&alice, &card, json!({"column_id": cols[2]})).await;
    let done = alice.card(board, json!({"title": "born done", "column_id": cols[2]})).await;
    patch(&alice, &done, json!({"title": "still done"})).await;
    patch(&alice, &card, json!({"column_id": cols[1]})).await;
    alice.delete(&format!("/api/cards/{}", id(&card))).await;

    let mut ops = Vec::new();
    for _ in 0..5 {
        let (op, card_id, _) = view_event(&mut ws).await;
        ops.push((op, card_id));
    }
    let c = id(&card);
    let expected = [("insert", c), ("update", c), ("delete", c), ("insert", c), ("delete", c)];
    assert_eq!(ops, expected.map(|(o, i)| (o.to_owned(), i)), "nothing for the card born in Done");
}

#[tokio::test]
async fn my_cards_follows_reassignment_and_two_viewers_see_their_own_cards() {
    let app = spawn_app().await;
    let (alice, bob, board, _) = team(&app).await;
    let alices = alice.card(board, json!({"title": "alice's", "assignee": "alice"})).await;
    let bobs = alice.card(board, json!({"title": "bob's", "assignee": "bob"})).await;
    let (mut a, _) = realtime(&alice, "").await;
    let (mut b, _) = realtime(&bob, "").await;

    let a_sub = subscribe_view(&mut a, json!({"view": "my_cards", "board_id": board})).await;
    let b_sub = subscribe_view(&mut b, json!({"view": "my_cards", "board_id": board})).await;
    assert_eq!(a_sub["initial"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), [id(&alices)]);
    assert_eq!(b_sub["initial"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), [id(&bobs)]);

    let moving = alice.card(board, json!({"title": "moving", "assignee": "alice"})).await;
    patch(&alice, &moving, json!({"assignee": "bob"})).await;
    patch(&alice, &moving, json!({"title": "still bob's"})).await;
    patch(&alice, &moving, json!({"assignee": "alice"})).await;

    let m = id(&moving);
    let mut seen_by_alice = Vec::new();
    for _ in 0..3 {
        seen_by_alice.push(view_event(&mut a).await.0);
    }
    assert_eq!(seen_by_alice, ["insert", "delete", "insert"]);
    let mut seen_by_bob = Vec::new();
    for _ in 0..3 {
        let (op, card, _) = view_event(&mut b).await;
        assert_eq!(card, m);
        seen_by_bob.push(op);
    }
    assert_eq!(seen_by_bob, ["insert", "update", "delete"]);
}

#[tokio::test]
async fn unassigned_inserts_and_deletes_as_cards_are_assigned_and_unassigned() {
    let app = spawn_app().await;
    let (alice, _, board, _) = team(&app).await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe_view(&mut ws, json!({"view": "unassigned", "board_id": board})).await;

    let assigned = alice.card(board, json!({"title": "taken", "assignee": "bob"})).await;
    let card = alice.card(board, json!({"title": "free"})).await;
    patch(&alice, &card, json!({"assignee": "alice"})).await;
    patch(&alice, &assigned, json!({"assignee": null})).await;

    let got = [view_event(&mut ws).await, view_event(&mut ws).await, view_event(&mut ws).await];
    let ops: Vec<(&str, i64)> = got.iter().map(|(o, c, _)| (o.as_str(), *c)).collect();
    assert_eq!(ops, [("insert", id(&card)), ("delete", id(&card)), ("insert", id(&assigned))]);
}

#[tokio::test]
async fn by_label_follows_the_label_being_added_and_removed() {
    let app = spawn_app().await;
    let (alice, _, board, _) = team(&app).await;
    let (mut ws, _) = realtime(&alice, "").await;
    let sub = subscribe_view(&mut ws, json!({"view": "by_label", "board_id": board, "filter": {"label": "bug"}})).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");

    let bug = alice.card(board, json!({"title": "crash", "labels": ["Bug", "ui"]})).await;
    let ui = alice.card(board, json!({"title": "colour", "labels": ["ui"]})).await;
    patch(&alice, &ui, json!({"title": "color"})).await;
    patch(&alice, &bug, json!({"labels": ["ui"]})).await;
    patch(&alice, &ui, json!({"labels": ["bug"]})).await;

    let got = [view_event(&mut ws).await, view_event(&mut ws).await, view_event(&mut ws).await];
    let ops: Vec<(&str, i64)> = got.iter().map(|(o, c, _)| (o.as_str(), *c)).collect();
    assert_eq!(ops, [("insert", id(&bug)), ("delete", id(&bug)), ("insert", id(&ui))]);
}

// ---- refusals ----

#[tokio::test]
async fn an_unknown_view_or_a_bad_filter_is_an_invalid_filter() {
    let app = spawn_app().await;
    let (alice, _, board, _) = team(&app).await;
    let (mut ws, _) = realtime(&alice, "").await;

    for body in [
        json!({"view": "everything", "board_id": board}),
        json!({"view": "by_label", "board_id": board}),
        json!({"view": "by_label", "board_id": board, "filter": {"label": "  "}}),
        json!({"view": "active_cards", "board_id": board, "filter": {"colour": "red"}}),
        json!({"view": "active_cards", "board_id": board, "filter": "bug"}),
        json!({"view": "active_cards"}),
    ] {
        let answer = subscribe_view(&mut ws, body.clone()).await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some("INVALID_FILTER")),
            "{body}"
        );
    }
    let ok = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;
    assert_eq!(ok["type"], "subscribed", "the connection stays usable");
}

#[tokio::test]
async fn a_view_of_a_board_the_user_is_not_on_is_forbidden() {
    let app = spawn_app().await;
    let (_, _, board, _) = team(&app).await;
    let mallory = app.signup("mallory").await;
    let (mut ws, _) = realtime(&mallory, "").await;

    let answer = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;

    assert_eq!(answer["code"], "FORBIDDEN", "{answer}");
}

#[tokio::test]
async fn an_anonymous_view_subscription_needs_a_sign_in() {
    let app = spawn_app().await;
    let (_, _, board, _) = team(&app).await;
    let (mut ws, _) = realtime(&app.anonymous(), "").await;

    let answer = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;

    assert_eq!(answer["code"], "AUTH_REQUIRED", "{answer}");
}

// ---- resume ----

#[tokio::test]
async fn resuming_a_view_gives_exactly_the_missed_transitions_then_live_ones() {
    let app = spawn_app().await;
    let (alice, _, board, cols) = team(&app).await;
    let (mut ws, _) = realtime(&alice, "").await;
    let first = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;
    let since = first["seq"].as_i64().unwrap();
    drop(ws);
    let a = alice.card(board, json!({"title": "a", "column_id": cols[0]})).await;
    alice.card(board, json!({"title": "done", "column_id": cols[2]})).await;
    patch(&alice, &a, json!({"column_id": cols[2]})).await;
    let c = alice.card(board, json!({"title": "c", "column_id": cols[1]})).await;

    let (mut ws, _) = realtime(&alice, "").await;
    let resumed = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board, "since": since})).await;
    patch(&alice, &c, json!({"title": "c live"})).await;

    assert_eq!((resumed["resumed"].as_bool(), resumed["seq"].as_i64()), (Some(true), Some(since)), "{resumed}");
    assert!(resumed.get("initial").is_none(), "{resumed}");
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(view_event(&mut ws).await);
    }
    let ops: Vec<(&str, i64)> = got.iter().map(|(o, c, _)| (o.as_str(), *c)).collect();
    assert_eq!(ops, [("insert", id(&a)), ("delete", id(&a)), ("insert", id(&c)), ("update", id(&c))]);
    assert!(got.windows(2).all(|w| w[0].2 < w[1].2), "in seq order");
}

#[tokio::test]
async fn resuming_a_view_from_before_retention_gets_a_fresh_snapshot() {
    let app = spawn_app().await;
    let (alice, _, board, cols) = team(&app).await;
    let since = app.seq();
    let a = alice.card(board, json!({"title": "a", "column_id": cols[0]})).await;
    alice.card(board, json!({"title": "b", "column_id": cols[2]})).await;
    let c = alice.card(board, json!({"title": "c", "column_id": cols[1]})).await;
    liveboard::repo::events::prune(&app.state.db, 1, std::time::Duration::from_secs(3600)).await.unwrap();
    let (mut ws, _) = realtime(&alice, "").await;

    let answer = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board, "since": since})).await;

    assert_eq!(answer["type"], "subscribed", "{answer}");
    assert!(answer.get("resumed").is_none_or(|r| r == false), "{answer}");
    assert_eq!(answer["initial"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), [id(&a), id(&c)]);
    patch(&alice, &a, json!({"title": "a live"})).await;
    assert_eq!(view_event(&mut ws).await.0, "update");
}

// ---- acks ----

#[tokio::test]
async fn an_ack_shows_in_the_connection_listing() {
    let app = spawn_app().await;
    let (alice, _, board, _) = team(&app).await;
    let (mut ws, hello) = realtime(&alice, "").await;
    subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;
    alice.card(board, json!({"title": "one"})).await;
    alice.card(board, json!({"title": "two"})).await;
    let (_, _, acked) = view_event(&mut ws).await;
    view_event(&mut ws).await;

    send(&mut ws, json!({"type": "ack", "seq": acked})).await;

    let id = conn_id(&hello);
    eventually("the ack is listed", || async { app.listing(&id).await.is_some_and(|c| c.last_ack == acked) }).await;
    let listed = app.listing(&id).await.unwrap();
    assert_eq!(listed.ack_lag, app.seq() - acked);
    let root = app.admin("root").await;
    let (_, list) = root.get_json("/api/connections").await;
    let mine = list["connections"].as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).unwrap().clone();
    assert_eq!((mine["last_ack"].as_i64(), mine["ack_lag"].as_i64()), (Some(acked), Some(app.seq() - acked)));
}

#[tokio::test]
async fn a_client_that_acked_resumes_from_its_last_ack_when_it_reconnects_without_since() {
    let app = spawn_app().await;
    let (alice, _, board, _) = team(&app).await;
    let (mut laptop, hello) = realtime(&alice, "?client=laptop").await;
    subscribe(&mut laptop, "cards.*").await;
    alice.card(board, json!({"title": "seen"})).await;
    let acked = record_events(&mut laptop, 1).await[0]["seq"].as_i64().unwrap();
    send(&mut laptop, json!({"type": "ack", "seq": acked})).await;
    let id = conn_id(&hello);
    eventually("the ack is in", || async { app.listing(&id).await.is_some_and(|c| c.last_ack == acked) }).await;
    drop(laptop);
    let missed =
        [alice.card(board, json!({"title": "missed 1"})).await, alice.card(board, json!({"title": "missed 2"})).await];

    let (mut laptop, _) = realtime(&alice, "?client=laptop").await;
    subscribe(&mut laptop, "cards.*").await;
    let (mut phone, _) = realtime(&alice, "?client=phone").await;
    subscribe(&mut phone, "cards.*").await;
    let live = alice.card(board, json!({"title": "live"})).await;

    let got = record_events(&mut laptop, 3).await;
    let ids: Vec<&Value> = got.iter().map(|e| &e["record"]["id"]).collect();
    assert_eq!(ids, [&missed[0]["id"], &missed[1]["id"], &live["id"]]);
    let other = next_json(&mut phone).await;
    assert_eq!(other["record"]["id"], live["id"], "another client name has its own resume point: {other}");
}

// ---- API tokens ----

/// Creates a token on the settings page; returns (token, its id from the revoke form).
async fn create_token(user: &User, name: &str) -> (String, i64) {
    let res = user.form("/settings/tokens", &[("name", name)]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let token = page
        .split(r#"<code class="token" data-new-token>"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("the token is shown once: {page}"))
        .to_owned();
    let token_id = page
        .split(r#"action="/settings/tokens/"#)
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse().ok())
        .expect("a revoke form");
    assert!(!user.get("/settings").await.text().await.unwrap().contains(&token), "shown only once");
    (token, token_id)
}

#[tokio::test]
async fn an_api_token_works_as_a_bearer_header_and_a_socket_query_until_revoked() {
    let app = spawn_app().await;
    let (alice, _, board, _) = team(&app).await;
    let (token, token_id) = create_token(&alice, "deploy script").await;
    let script = app.anonymous();

    let res = script.http.get(script.url("/api/boards")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let boards: Value = res.json().await.unwrap();
    assert_eq!(boards[0]["id"], board);
    let (mut ws, hello) = realtime(&script, &format!("?token={token}")).await;
    subscribe(&mut ws, "cards.*").await;
    let card = alice.card(board, json!({"title": "seen by the script"})).await;
    assert_eq!(next_json(&mut ws).await["record"]["id"], card["id"]);
    assert_eq!(app.listing(&conn_id(&hello)).await.unwrap().user.as_deref(), Some("alice"));

    let revoked = alice.form(&format!("/settings/tokens/{token_id}/delete"), &[]).await;

    assert_eq!(revoked.status(), 303);
    assert_eq!(close_code(&mut ws).await, Some(4401));
    let res = script.http.get(script.url("/api/boards")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(script.try_ws(&format!("/realtime/subscribe?token={token}"), None).await.err(), Some(401));
}

// ---- a snapshot taken while writes go on ----

#[tokio::test]
async fn a_view_subscribed_during_a_burst_of_writes_never_gets_a_card_it_started_with_as_an_insert() {
    let app = spawn_app().await;
    let (alice, bob, board, _) = team(&app).await;
    // Bob creates cards without a pause, so each snapshot races the hub routing them.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0;
            // Well under the board's card limit.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 1500 {
                bob.card(board, json!({"title": format!("burst {n}")})).await;
                n += 1;
            }
        })
    };
    for round in 0..100 {
        let (mut ws, hello) = realtime(&alice, "").await;
        let sub = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;
        assert_eq!(sub["type"], "subscribed", "{sub}");
        let initial: std::collections::HashSet<i64> = sub["initial"].as_array().unwrap().iter().map(id).collect();
        let after = app.hub_barrier(&mut ws, &conn_id(&hello)).await;
        for v in after.iter().filter(|v| v["type"] == "event" && v["operation"] == "insert") {
            assert!(
                !initial.contains(&id(&v["data"])),
                "round {round}: card {} was in the snapshot and came again: {v}",
                id(&v["data"])
            );
        }
        ws.close(None).await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
}

#[tokio::test]
async fn the_snapshot_of_a_board_with_a_thousand_cards_arrives_whole() {
    let app = spawn_app().await;
    let (alice, _bob, board, _) = team(&app).await;
    // About 400 KiB of JSON in one `subscribed` message: more than a socket's write buffer used to hold.
    let description = "A paragraph of notes about this card, long enough to look like real work. ".repeat(3);
    for n in 0..1000 {
        alice.card(board, json!({"title": format!("Card {n}"), "description": description})).await;
    }
    let (mut ws, _) = realtime(&alice, "").await;
    let sub = subscribe_view(&mut ws, json!({"view": "active_cards", "board_id": board})).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    assert_eq!(sub["initial"].as_array().map(Vec::len), Some(1000));
}
