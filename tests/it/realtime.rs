//! The JSON pub/sub protocol at `/realtime/subscribe` over real WebSockets: connecting, patterns,
//! the record_event format, custom events, limits and errors, authorization per event, replay and
//! resync, slow readers, heartbeats, logout, and the metrics the hub keeps.

use std::time::Duration;

use crate::support::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn id(v: &Value) -> i64 {
    v["id"].as_i64().expect("an id")
}

fn conn_id(hello: &Value) -> String {
    hello["connection_id"].as_str().expect("a connection id").to_owned()
}

// ---- connecting ----

#[tokio::test]
async fn a_client_that_connects_is_greeted_and_listed_for_admins() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let alice = app.signup("alice").await;

    let (_ws, hello) = realtime(&alice, "").await;

    let keys: Vec<&str> = hello.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4, "{hello}");
    assert!(hello["seq"].as_i64().is_some_and(|s| s <= app.seq()), "{hello}");
    assert_eq!(hello["epoch"].as_str(), Some(app.state.hub.epoch()));
    let (status, list) = root.get_json("/api/connections").await;
    assert_eq!(status, 200, "{list}");
    let mine = list["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == hello["connection_id"])
        .unwrap_or_else(|| panic!("not listed: {list}"))
        .clone();
    assert_eq!((mine["user"].as_str(), mine["kind"].as_str()), (Some("alice"), Some("json")));
    assert_eq!(alice.get_json("/api/connections").await.0, 403, "the listing is for admins");
}

#[tokio::test]
async fn a_client_that_closes_its_socket_leaves_the_listing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (mut ws, hello) = realtime(&alice, "").await;
    let id = conn_id(&hello);
    assert!(app.listing(&id).await.is_some());

    ws.close(None).await.unwrap();

    eventually("the closed connection is unlisted", || async { app.listing(&id).await.is_none() }).await;
}

// ---- patterns ----

#[tokio::test]
async fn a_collection_pattern_delivers_every_change_of_that_collection_on_the_users_boards() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, cols) = alice.board("B").await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe(&mut ws, "cards.*").await;

    let a = alice.card(board, json!({"title": "A"})).await;
    alice.post_json(&format!("/api/boards/{board}/columns"), json!({"name": "Later"})).await;
    let b = alice.card(board, json!({"title": "B", "column_id": cols[1]})).await;

    let got = record_events(&mut ws, 2).await;
    assert_eq!(got.iter().map(|e| e["record"]["id"].clone()).collect::<Vec<_>>(), [a["id"].clone(), b["id"].clone()]);
    assert!(got.iter().all(|e| e["collection"] == "cards"), "no column event: {got:?}");
}

#[tokio::test]
async fn a_record_pattern_delivers_only_that_records_changes() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let watched = alice.card(board, json!({"title": "watched"})).await;
    let other = alice.card(board, json!({"title": "other"})).await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe(&mut ws, &format!("cards.{}", id(&watched))).await;

    alice.patch_json(&format!("/api/cards/{}", id(&other)), json!({"title": "other 2"})).await;
    alice.patch_json(&format!("/api/cards/{}", id(&watched)), json!({"title": "watched 2"})).await;

    let got = next_json(&mut ws).await;
    assert_eq!((got["action"].as_str(), got["record"]["title"].as_str()), (Some("update"), Some("watched 2")));
}

#[tokio::test]
async fn an_admin_subscribed_to_everything_sees_every_collection_of_every_board() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let alice = app.signup("alice").await;
    let (mut ws, _) = realtime(&root, "").await;
    subscribe(&mut ws, "*").await;

    let (board, _) = alice.board("Alice's").await;
    let card = alice.card(board, json!({"title": "private to alice"})).await;

    let got = record_events(&mut ws, 6).await;
    let kinds: Vec<(&str, &str)> =
        got.iter().map(|e| (e["collection"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    assert_eq!(
        kinds,
        [
            ("boards", "create"),
            ("columns", "create"),
            ("columns", "create"),
            ("columns", "create"),
            ("members", "create"),
            ("cards", "create")
        ]
    );
    assert_eq!(got[5]["record"]["id"], card["id"]);
}

#[tokio::test]
async fn an_admin_on_everything_and_on_cards_still_sees_boards_they_are_not_on() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("Alice's").await;
    let (mut ws, _) = realtime(&root, "").await;
    subscribe_all(&mut ws, &["*".into(), "cards.*".into()]).await.unwrap();

    let card = alice.card(board, json!({"title": "t"})).await;

    let got = next_json(&mut ws).await;
    assert_eq!((got["type"].as_str(), got["record"]["id"].as_i64()), (Some("record_event"), Some(id(&card))));
}

#[tokio::test]
async fn a_client_with_several_subscriptions_gets_the_events_of_each() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe_all(&mut ws, &["cards.*".into(), "columns.*".into(), "comments.*".into()]).await.unwrap();

    let card = alice.card(board, json!({"title": "t"})).await;
    alice.post_json(&format!("/api/boards/{board}/columns"), json!({"name": "Later"})).await;
    alice.post_json(&format!("/api/cards/{}/comments", id(&card)), json!({"body": "hi"})).await;

    let got = record_events(&mut ws, 3).await;
    let collections: Vec<&str> = got.iter().map(|e| e["collection"].as_str().unwrap()).collect();
    assert_eq!(collections, ["cards", "columns", "comments"]);
}

#[tokio::test]
async fn a_client_subscribed_to_cards_and_one_card_gets_each_event_once() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let card = alice.card(board, json!({"title": "t"})).await;
    let (mut ws, hello) = realtime(&alice, "").await;
    subscribe_all(&mut ws, &["cards.*".into(), format!("cards.{}", id(&card))]).await.unwrap();

    alice.patch_json(&format!("/api/cards/{}", id(&card)), json!({"title": "t2"})).await;
    alice.patch_json(&format!("/api/cards/{}", id(&card)), json!({"title": "t3"})).await;

    let got = app.hub_barrier(&mut ws, &conn_id(&hello)).await;
    let titles: Vec<&str> = got.iter().map(|e| e["record"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["t2", "t3"]);
}

#[tokio::test]
async fn unsubscribing_one_pattern_keeps_the_others_and_unsubscribing_everything_stops_all() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let (mut ws, hello) = realtime(&alice, "").await;
    subscribe_all(&mut ws, &["cards.*".into(), "columns.*".into()]).await.unwrap();

    send(&mut ws, json!({"type": "unsubscribe", "pattern": "cards.*"})).await;
    assert_eq!(next_json(&mut ws).await, json!({"type": "unsubscribed", "pattern": "cards.*"}));
    alice.card(board, json!({"title": "unseen"})).await;
    alice.post_json(&format!("/api/boards/{board}/columns"), json!({"name": "Seen"})).await;
    let got = next_json(&mut ws).await;
    assert_eq!((got["collection"].as_str(), got["record"]["name"].as_str()), (Some("columns"), Some("Seen")));

    send(&mut ws, json!({"type": "unsubscribe", "pattern": "*"})).await;
    assert_eq!(next_json(&mut ws).await, json!({"type": "unsubscribed", "pattern": "*"}));
    alice.card(board, json!({"title": "unseen"})).await;
    alice.post_json(&format!("/api/boards/{board}/columns"), json!({"name": "Unseen"})).await;
    let before_barrier = app.hub_barrier(&mut ws, &conn_id(&hello)).await;
    assert!(before_barrier.is_empty(), "{before_barrier:?}");
}

// ---- the record_event format ----

#[tokio::test]
async fn create_update_and_delete_arrive_as_record_events_in_the_documented_format() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe(&mut ws, "cards.*").await;

    let card = alice.card(board, json!({"title": "one"})).await;
    let (_, updated) = alice.patch_json(&format!("/api/cards/{}", id(&card)), json!({"title": "two"})).await;
    assert_eq!(alice.delete(&format!("/api/cards/{}", id(&card))).await, 204);

    let got = record_events(&mut ws, 3).await;
    for (e, action) in got.iter().zip(["create", "update", "delete"]) {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["action", "collection", "record", "seq", "summary", "timestamp", "type"], "{e}");
        assert_eq!((e["collection"].as_str(), e["action"].as_str()), (Some("cards"), Some(action)));
        let ts = e["timestamp"].as_str().unwrap();
        time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|err| panic!("{ts} is not ISO 8601: {err}"));
    }
    assert_eq!(got[0]["record"], card);
    assert_eq!(got[1]["record"], updated);
    assert_eq!(got[2]["record"]["id"], card["id"]);
    assert_eq!(got[1]["summary"], "alice renamed card “one” to “two”");
    let s = seqs(&got);
    assert!(s[0] < s[1] && s[1] < s[2] && s[2] == app.seq(), "{s:?}");
}

// ---- custom events ----

#[tokio::test]
async fn custom_events_reach_channel_subscribers_everyone_or_one_connection() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (mut news, news_hello) = realtime(&alice, "").await;
    subscribe(&mut news, "news.*").await;
    let (mut boards, boards_hello) = realtime(&alice, "").await;
    subscribe(&mut boards, "boards.*").await;
    let (mut quiet, quiet_hello) = realtime(&alice, "").await;

    app.state.hub.broadcast(liveboard::channels::Channel::News, None, json!({"to": "news"}));
    app.state.hub.broadcast_all(json!({"to": "all"}));
    app.state.hub.send_to(&conn_id(&quiet_hello), json!({"to": "one"}));

    let custom =
        |collection: Value, data: Value| json!({"type": "custom_event", "collection": collection, "data": data});
    assert_eq!(next_json(&mut news).await, custom(json!("news"), json!({"to": "news"})));
    assert_eq!(next_json(&mut news).await, custom(Value::Null, json!({"to": "all"})));
    assert_eq!(next_json(&mut boards).await, custom(Value::Null, json!({"to": "all"})), "not a news subscriber");
    assert_eq!(next_json(&mut quiet).await, custom(Value::Null, json!({"to": "all"})));
    assert_eq!(next_json(&mut quiet).await, custom(Value::Null, json!({"to": "one"})));
    assert!(app.hub_barrier(&mut news, &conn_id(&news_hello)).await.is_empty());
    assert!(app.hub_barrier(&mut boards, &conn_id(&boards_hello)).await.is_empty());
}

// ---- heartbeat ----

#[tokio::test]
async fn a_client_that_never_answers_pings_is_closed_and_unlisted() {
    let app = spawn_app_with(|c| {
        c.ws_ping_interval = Duration::from_millis(100);
        c.ws_timeout = Duration::from_millis(300);
    })
    .await;
    let alice = app.signup("alice").await;
    let (mut ws, hello) = realtime(&alice, "").await;
    let id = conn_id(&hello);

    // The client reads nothing, so tungstenite never answers the server's pings.
    eventually("the silent client is dropped", || async { app.listing(&id).await.is_none() }).await;

    // The server sent 1001 and hung up; the client may see the close frame or, when its own late
    // pongs hit the closed socket first, just the end of the stream.
    let end = close_code(&mut ws).await;
    assert!(matches!(end, Some(1001) | None), "{end:?}");
    assert!(ws.next().await.is_none_or(|r| r.is_err()), "the socket is over");
}

// ---- authorization ----

#[tokio::test]
async fn an_anonymous_client_may_connect_but_not_subscribe() {
    let app = spawn_app().await;
    let (mut ws, _) = realtime(&app.anonymous(), "").await;

    send(&mut ws, json!({"type": "subscribe", "pattern": "cards.*"})).await;

    assert_eq!(next_error_code(&mut ws).await, "AUTH_REQUIRED");
}

#[tokio::test]
async fn a_non_member_receives_nothing_from_another_board() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (alices, _) = alice.board("Alice's").await;
    let (bobs, _) = bob.board("Bob's").await;
    let secret = alice.card(alices, json!({"title": "secret"})).await;
    let (mut ws, _) = realtime(&bob, "").await;
    subscribe_all(&mut ws, &["cards.*".into(), "boards.*".into()]).await.unwrap();

    alice.card(alices, json!({"title": "also secret"})).await;
    alice.patch_json(&format!("/api/cards/{}", id(&secret)), json!({"title": "still secret"})).await;
    alice.patch_json(&format!("/api/boards/{alices}"), json!({"name": "renamed"})).await;
    let own = bob.card(bobs, json!({"title": "bob's own"})).await;

    let got = next_json(&mut ws).await;
    assert_eq!(got["record"]["id"], own["id"], "the first thing bob sees is his own card: {got}");
}

#[tokio::test]
async fn subscribing_to_a_record_on_a_board_the_user_is_not_on_is_forbidden() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, _) = alice.board("Alice's").await;
    let card = alice.card(board, json!({"title": "secret"})).await;
    let (mut ws, _) = realtime(&bob, "").await;

    send(&mut ws, json!({"type": "subscribe", "pattern": format!("cards.{}", id(&card))})).await;

    assert_eq!(next_error_code(&mut ws).await, "FORBIDDEN");
}

#[tokio::test]
async fn an_admin_subscribed_to_everything_sees_cards_of_every_board() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (alices, _) = alice.board("Alice's").await;
    let (bobs, _) = bob.board("Bob's").await;
    let (mut ws, _) = realtime(&root, "").await;
    subscribe(&mut ws, "*").await;

    let a = alice.card(alices, json!({"title": "a"})).await;
    let b = bob.card(bobs, json!({"title": "b"})).await;

    let got = record_events(&mut ws, 2).await;
    assert_eq!((got[0]["record"]["id"].clone(), got[1]["record"]["id"].clone()), (a["id"].clone(), b["id"].clone()));
}

#[tokio::test]
async fn a_non_admin_subscribing_to_everything_is_forbidden() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (mut ws, _) = realtime(&alice, "").await;

    send(&mut ws, json!({"type": "subscribe", "pattern": "*"})).await;

    assert_eq!(next_error_code(&mut ws).await, "FORBIDDEN");
}

// ---- bad requests and limits ----

#[tokio::test]
async fn an_invalid_pattern_is_refused_and_the_connection_stays_usable() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let (mut ws, _) = realtime(&alice, "").await;

    for bad in ["widgets.*", "cards", "cards.abc", ""] {
        send(&mut ws, json!({"type": "subscribe", "pattern": bad})).await;
        assert_eq!(next_error_code(&mut ws).await, "INVALID_PATTERN", "{bad:?}");
    }
    subscribe(&mut ws, "cards.*").await;
    let card = alice.card(board, json!({"title": "t"})).await;

    assert_eq!(next_json(&mut ws).await["record"]["id"], card["id"]);
}

#[tokio::test]
async fn the_hundred_and_first_subscription_is_refused() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (mut ws, _) = realtime(&alice, "").await;
    let hundred: Vec<String> = (1..=100).map(|i| format!("cards.{}", 1_000_000 + i)).collect();
    subscribe_all(&mut ws, &hundred).await.unwrap();

    send(&mut ws, json!({"type": "subscribe", "pattern": "cards.*"})).await;

    assert_eq!(next_error_code(&mut ws).await, "LIMIT_REACHED");
    send(&mut ws, json!({"type": "unsubscribe", "pattern": "cards.1000001"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "unsubscribed");
    subscribe(&mut ws, "cards.*").await;
}

#[tokio::test]
async fn more_than_ten_subscribe_requests_in_a_second_are_rate_limited() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (mut ws, _) = realtime(&alice, "").await;

    for i in 0..20 {
        send(&mut ws, json!({"type": "subscribe", "pattern": format!("cards.{}", 1_000_000 + i)})).await;
    }

    let mut answers = Vec::new();
    for _ in 0..20 {
        let v = next_json(&mut ws).await;
        answers.push(if v["type"] == "error" { v["code"].as_str().unwrap().to_owned() } else { "ok".into() });
    }
    assert!(answers[..10].iter().all(|a| a == "ok"), "a burst of 10 is allowed: {answers:?}");
    assert!(answers.iter().any(|a| a == "RATE_LIMITED"), "{answers:?}");
}

#[tokio::test]
async fn malformed_json_and_unknown_types_are_bad_messages_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (mut ws, _) = realtime(&alice, "").await;

    ws.send(Message::text("{not json")).await.unwrap();
    assert_eq!(next_error_code(&mut ws).await, "BAD_MESSAGE");
    send(&mut ws, json!({"type": "dance"})).await;
    assert_eq!(next_error_code(&mut ws).await, "BAD_MESSAGE");
    send(&mut ws, json!({"type": "subscribe"})).await;
    assert_eq!(next_error_code(&mut ws).await, "BAD_MESSAGE");

    send(&mut ws, json!({"type": "ping", "timestamp": 42})).await;
    assert_eq!(next_json(&mut ws).await, json!({"type": "pong", "timestamp": 42}));
}

#[tokio::test]
async fn an_oversized_message_gets_close_1009_every_time() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    // 1 MiB against a 64 KiB limit, through a small send buffer: the server stops reading at the
    // frame header while the client is still sending; the close frame must arrive anyway, not a reset.
    let huge = json!({"type": "ping", "timestamp": "x".repeat(1024 * 1024)}).to_string();

    for attempt in 1..=20 {
        let mut ws = alice.ws_small_send_buffer("/realtime/subscribe").await;
        let hello = next_json(&mut ws).await;
        ws.send(Message::text(huge.clone())).await.unwrap_or_else(|e| panic!("attempt {attempt}: {e}"));

        assert_eq!(close_code(&mut ws).await, Some(1009), "attempt {attempt}");
        let id = conn_id(&hello);
        eventually("the connection is unlisted", || async { app.listing(&id).await.is_none() }).await;
    }
}

#[tokio::test]
async fn malformed_frames_get_the_close_code_rfc_6455_asks_for() {
    let app = spawn_app().await;
    // first byte (FIN, RSV1-3, opcode), payload, expected close code
    let cases: [(&str, u8, &[u8], u16); 6] = [
        ("invalid UTF-8 in a text frame", 0x81, &[b'{', 0xc3, 0x28, b'}'], 1007),
        ("a reserved data opcode", 0x83, b"{}", 1002),
        ("RSV1 without an extension", 0xc1, b"{}", 1002),
        ("a continuation with nothing to continue", 0x80, b"{}", 1002),
        ("a close code not allowed on the wire (1005)", 0x88, &[0x03, 0xed], 1002),
        ("a well-formed close (1000), answered in kind", 0x88, &[0x03, 0xe8], 1000),
    ];

    for (what, head, payload, want) in cases {
        let mut raw = RawWs::connect(&app, "/realtime/subscribe").await;
        raw.send_frame(head, payload).await;
        assert_eq!(raw.close_code().await, Some(want), "{what}");
    }
}

// ---- delivery under churn ----

#[tokio::test]
async fn a_client_disconnecting_during_a_broadcast_does_not_affect_the_others() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let mut stayers = Vec::new();
    for _ in 0..2 {
        let (mut ws, _) = realtime(&alice, "").await;
        subscribe(&mut ws, "cards.*").await;
        stayers.push(ws);
    }
    let (mut leaver, _) = realtime(&alice, "").await;
    subscribe(&mut leaver, "cards.*").await;
    let first = app.seq() + 1;

    let writer = {
        let (http, url) = (alice.http.clone(), alice.url(&format!("/api/boards/{board}/cards")));
        tokio::spawn(async move {
            for i in 0..20 {
                let res = http.post(&url).json(&json!({"title": format!("c{i}")})).send().await.unwrap();
                assert_eq!(res.status(), 201);
            }
        })
    };
    next_json(&mut leaver).await;
    drop(leaver);
    writer.await.unwrap();

    for ws in &mut stayers {
        let got = record_events(ws, 20).await;
        assert_eq!(seqs(&got), (first..first + 20).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn several_concurrent_clients_see_the_same_ordered_stream() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, _) = alice.board("B").await;
    alice.add_member(board, "bob").await;
    let mut clients = Vec::new();
    for user in [&alice, &bob, &alice] {
        let (mut ws, _) = realtime(user, "").await;
        subscribe(&mut ws, "cards.*").await;
        clients.push(ws);
    }

    let writers: Vec<_> = [&alice, &bob]
        .into_iter()
        .map(|u| {
            let (http, url) = (u.http.clone(), u.url(&format!("/api/boards/{board}/cards")));
            tokio::spawn(async move {
                for i in 0..10 {
                    let res = http.post(&url).json(&json!({"title": format!("c{i}")})).send().await.unwrap();
                    assert_eq!(res.status(), 201);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }

    let mut streams = Vec::new();
    for ws in &mut clients {
        streams.push(seqs(&record_events(ws, 20).await));
    }
    assert!(streams[0].windows(2).all(|w| w[1] == w[0] + 1), "in order, no gap: {:?}", streams[0]);
    assert!(streams.iter().all(|s| *s == streams[0]), "{streams:?}");
}

// ---- replay and resync ----

/// Alice's board with a card, and the seq after it: the point a client "went away".
async fn board_with_a_card(app: &TestApp, alice: &User) -> (i64, Value, i64) {
    let (board, _) = alice.board("B").await;
    let card = alice.card(board, json!({"title": "seen"})).await;
    (board, card, app.seq())
}

#[tokio::test]
async fn a_client_reconnecting_with_since_gets_exactly_the_missed_events_then_live_ones() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, card, since) = board_with_a_card(&app, &alice).await;
    alice.patch_json(&format!("/api/cards/{}", id(&card)), json!({"title": "missed 1"})).await;
    alice.post_json(&format!("/api/boards/{board}/columns"), json!({"name": "not subscribed"})).await;
    alice.card(board, json!({"title": "missed 2"})).await;
    alice.delete(&format!("/api/cards/{}", id(&card))).await;

    let (mut ws, _) = realtime(&alice, &format!("?since={since}")).await;
    subscribe(&mut ws, "cards.*").await;
    let live = alice.card(board, json!({"title": "live"})).await;

    let got = record_events(&mut ws, 4).await;
    let seen: Vec<(&str, Option<&str>)> =
        got.iter().map(|e| (e["action"].as_str().unwrap(), e["record"]["title"].as_str())).collect();
    assert_eq!(
        seen,
        [("update", Some("missed 1")), ("create", Some("missed 2")), ("delete", None), ("create", Some("live"))]
    );
    assert_eq!(got[3]["record"]["id"], live["id"]);
    let s = seqs(&got);
    assert!(s.windows(2).all(|w| w[0] < w[1]) && s[0] > since, "{s:?}");
}

#[tokio::test]
async fn a_resume_message_replays_what_was_missed_without_duplicates() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, card, since) = board_with_a_card(&app, &alice).await;
    alice.patch_json(&format!("/api/cards/{}", id(&card)), json!({"title": "missed"})).await;
    let (mut ws, hello) = realtime(&alice, "").await;
    subscribe(&mut ws, "cards.*").await;
    alice.patch_json(&format!("/api/cards/{}", id(&card)), json!({"title": "live before resume"})).await;
    assert_eq!(next_json(&mut ws).await["record"]["title"], "live before resume");

    send(&mut ws, json!({"type": "resume", "since": since})).await;
    alice.card(board, json!({"title": "live after resume"})).await;

    let got = app.hub_barrier(&mut ws, &conn_id(&hello)).await;
    let titles: Vec<&str> = got.iter().map(|e| e["record"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["missed", "live after resume"]);
}

#[tokio::test]
async fn a_since_older_than_retention_gets_resync_required() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _, since) = board_with_a_card(&app, &alice).await;
    for i in 0..3 {
        alice.card(board, json!({"title": format!("missed {i}")})).await;
    }
    liveboard::repo::events::prune(&app.state.db, 1, Duration::from_secs(3600)).await.unwrap();

    let (mut ws, _) = realtime(&alice, &format!("?since={since}")).await;
    subscribe(&mut ws, "cards.*").await;

    let got = next_json(&mut ws).await;
    assert_eq!((got["type"].as_str(), got["reason"].as_str()), (Some("resync_required"), Some("too_old")), "{got}");
    assert_eq!(got["epoch"].as_str(), Some(app.state.hub.epoch()));
    let live = alice.card(board, json!({"title": "live"})).await;
    assert_eq!(next_json(&mut ws).await["record"]["id"], live["id"]);
}

#[tokio::test]
async fn a_since_from_another_epoch_gets_resync_required() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (_, _, since) = board_with_a_card(&app, &alice).await;

    let (mut ws, _) = realtime(&alice, &format!("?since={since}&epoch=some-other-database")).await;
    subscribe(&mut ws, "cards.*").await;

    let got = next_json(&mut ws).await;
    assert_eq!((got["type"].as_str(), got["reason"].as_str()), (Some("resync_required"), Some("epoch_changed")));
}

#[tokio::test]
async fn a_slow_reader_is_told_to_resync_while_a_normal_reader_gets_everything() {
    let app = spawn_app_with(|c| c.ws_queue = 8).await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let card = alice.card(board, json!({"title": "t"})).await;
    let mut slow = alice.ws_small_buffer("/realtime/subscribe").await;
    assert_eq!(next_json(&mut slow).await["type"], "connected");
    subscribe(&mut slow, "cards.*").await;
    let (mut normal, _) = realtime(&alice, "").await;
    subscribe(&mut normal, "cards.*").await;
    let first = app.seq() + 1;
    let mut normally_read = Vec::new();

    // Big updates (~10 KB each) while the slow client reads nothing, until its socket pushes back
    // and its queue of 8 overflows (loopback TCP buffers take a few megabytes first). The normal
    // reader reads each update as it comes.
    let long = "x".repeat(9_900);
    for i in 0.. {
        assert!(i < 3_000, "the slow reader's queue never overflowed");
        let (s, _) =
            alice.patch_json(&format!("/api/cards/{}", id(&card)), json!({"description": format!("{i}{long}")})).await;
        assert_eq!(s, 200);
        normally_read.extend(seqs(&record_events(&mut normal, 1).await));
        if app.state.metrics.dropped.get() > 0 {
            break;
        }
    }
    let latest = app.seq();

    assert_eq!(normally_read, (first..=latest).collect::<Vec<_>>(), "the normal reader got everything");
    let (resync, before) = until_json(&mut slow, |v| v["type"] != "record_event").await;
    assert_eq!((resync["type"].as_str(), resync["reason"].as_str()), (Some("resync_required"), Some("queue_overflow")));
    let resume_at = resync["seq"].as_i64().unwrap();
    assert!(seqs(&before).windows(2).all(|w| w[0] + 1 == w[1]), "what arrived before the resync has no gap");
    assert!(seqs(&before).last().is_some_and(|s| *s < resume_at), "and stops before the resync point");
    let mut rest = Vec::new();
    while rest.last().copied().unwrap_or(resume_at) < latest {
        rest.extend(seqs(&record_events(&mut slow, 1).await));
    }
    assert_eq!(rest, (resume_at + 1..=latest).collect::<Vec<_>>(), "after the resync point, live with no gap");
}

// ---- the handshake, membership and the session ----

#[tokio::test]
async fn a_cross_site_origin_is_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;

    let refused = alice.try_ws("/realtime/subscribe", Some("https://evil.example")).await;
    let own = alice.try_ws("/realtime/subscribe", Some(&app.base)).await;

    assert_eq!(refused.err(), Some(403));
    let mut own = own.expect("the app's own origin is allowed");
    assert_eq!(next_json(&mut own).await["type"], "connected");
    assert_eq!(app.connections().await.len(), 1, "the refused socket was never registered");
}

#[tokio::test]
async fn a_member_removed_while_connected_stops_receiving_at_once() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (shared, _) = alice.board("Shared").await;
    let (bobs, _) = bob.board("Bob's").await;
    alice.add_member(shared, "bob").await;
    let (mut ws, _) = realtime(&bob, "").await;
    subscribe_all(&mut ws, &["cards.*".into(), "members.*".into()]).await.unwrap();

    assert_eq!(alice.delete(&format!("/api/boards/{shared}/members/bob")).await, 204);
    alice.card(shared, json!({"title": "after bob left"})).await;
    let own = bob.card(bobs, json!({"title": "bob's own"})).await;

    let removal = next_json(&mut ws).await;
    assert_eq!((removal["collection"].as_str(), removal["action"].as_str()), (Some("members"), Some("delete")));
    let (_, me) = bob.get_json("/api/me").await;
    assert_eq!(removal["record"]["id"], me["id"], "{removal}");
    let next = next_json(&mut ws).await;
    assert_eq!(next["record"]["id"], own["id"], "nothing from the shared board after the removal: {next}");
}

#[tokio::test]
async fn logging_out_closes_the_sessions_sockets_with_4401() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (mut ws, hello) = realtime(&alice, "").await;

    assert_eq!(alice.form("/logout", &[]).await.status(), 303);

    assert_eq!(close_code(&mut ws).await, Some(4401));
    let id = conn_id(&hello);
    eventually("the connection is unlisted", || async { app.listing(&id).await.is_none() }).await;
}

// ---- metrics ----

#[tokio::test]
async fn metrics_count_connections_subscriptions_and_events() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, _) = alice.board("B").await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe_all(&mut ws, &["cards.*".into(), "columns.*".into()]).await.unwrap();
    let (mut other, _) = realtime(&alice, "").await;
    subscribe(&mut other, "cards.*").await;

    alice.card(board, json!({"title": "t"})).await;
    next_json(&mut ws).await;
    send(&mut ws, json!({"type": "dance"})).await;
    next_json(&mut ws).await;

    let text = reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    assert_eq!(app.metric("liveboard_ws_connections").await, 2.0, "{text}");
    assert_eq!(app.metric("liveboard_ws_subscriptions").await, 3.0, "{text}");
    assert_eq!(app.metric("liveboard_events_published_total").await, app.seq() as f64, "{text}");
    assert!(app.metric("liveboard_ws_messages_sent_total").await >= 2.0, "{text}");
    assert_eq!(app.metric("liveboard_ws_protocol_errors_total").await, 1.0, "{text}");

    drop(other);
    eventually("the closed connection leaves the gauges", || async {
        app.metric("liveboard_ws_connections").await == 1.0 && app.metric("liveboard_ws_subscriptions").await == 2.0
    })
    .await;
}

#[tokio::test]
async fn a_user_past_the_connection_cap_is_refused_until_one_closes() {
    let app = spawn_app_with(|c| c.ws_max_per_user = 2).await;
    let alice = app.signup("alice").await;
    let (first, _) = realtime(&alice, "").await;
    let (_second, _) = realtime(&alice, "").await;
    assert_eq!(alice.try_ws("/realtime/subscribe", None).await.err(), Some(429));

    drop(first);
    // The slot frees when the server sees the socket end.
    let mut reopened = None;
    for _ in 0..250 {
        if let Ok(ws) = alice.try_ws("/realtime/subscribe", None).await {
            reopened = Some(ws);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reopened.is_some(), "a freed slot can be used again");
}

#[tokio::test]
async fn shutting_down_closes_every_socket_with_1012_so_clients_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let config = liveboard::Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_path: dir.path().join("t.db"),
        ..liveboard::Config::default()
    };
    let app = liveboard::Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let alice = anonymous_at(&base);
    assert_eq!(alice.form("/signup", &[("username", "alice"), ("password", &password("alice"))]).await.status(), 303);
    let (mut ws, _) = realtime(&alice, "").await;

    stop.send(()).unwrap();

    assert_eq!(close_code(&mut ws).await, Some(1012));
    tokio::time::timeout(WAIT, server).await.expect("the server stops").unwrap().unwrap();
}

#[tokio::test]
async fn an_announcement_reaches_signed_in_sockets_but_not_anonymous_ones() {
    let app = spawn_app().await;
    let root = app.admin("root").await;
    let bob = app.signup("bob").await;
    let (mut bob_ws, _) = realtime(&bob, "").await;
    let (mut anon_ws, hello) = realtime(&app.anonymous(), "").await;
    let anon_id = hello["connection_id"].as_str().unwrap().to_owned();

    assert_eq!(root.form("/admin/announce", &[("message", "Deploy at six")]).await.status(), 303);
    let (msg, _) = until_json(&mut bob_ws, |v| v["type"] == "custom_event").await;
    assert_eq!(msg["data"]["announcement"], "Deploy at six");
    let before = app.hub_barrier(&mut anon_ws, &anon_id).await;
    assert!(before.is_empty(), "an anonymous socket got {before:?}");
}

#[tokio::test]
async fn a_flood_of_acks_is_rate_limited_like_other_client_messages() {
    let app = spawn_app().await;
    let bob = app.signup("bob").await;
    let (mut ws, _) = realtime(&bob, "").await;
    for _ in 0..100 {
        send(&mut ws, json!({"type": "ack", "seq": 0})).await;
    }
    assert_eq!(next_error_code(&mut ws).await, "RATE_LIMITED");
}

#[tokio::test]
async fn a_member_added_later_who_replays_from_zero_gets_nothing_from_before_they_joined() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, _) = alice.board("Private past").await;
    let card = alice.card(b, json!({"title": "plan", "description": "the secret plan"})).await["id"].as_i64().unwrap();
    let (_, comment) =
        alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "a secret remark"})).await;
    assert_eq!(alice.delete(&format!("/api/comments/{}", comment["id"])).await, 204);
    alice.patch_json(&format!("/api/cards/{card}"), json!({"description": "public text"})).await;
    alice.add_member(b, "bob").await;
    let joined = app.seq();

    let (mut ws, _) = realtime(&bob, "?since=0").await;
    subscribe_all(&mut ws, &["cards.*".into(), "comments.*".into(), "members.*".into()]).await.unwrap();
    let (_, after) = alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "welcome bob"})).await;
    let (live, before) = until_json(&mut ws, |v| v["type"] == "record_event" && v["record"]["id"] == after["id"]).await;
    assert_eq!(live["record"]["body"], "welcome bob");
    let replayed: Vec<&serde_json::Value> = before.iter().filter(|v| v["type"] == "record_event").collect();
    assert!(replayed.iter().all(|v| v["seq"].as_i64().unwrap() >= joined), "{replayed:?}");
    assert!(!before.iter().any(|v| v.to_string().contains("secret")), "{before:?}");
    assert_eq!(replayed.len(), 1, "only the event that made bob a member: {replayed:?}");
}
