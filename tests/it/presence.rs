//! Presence, editing leases and typing indicators (memory only, stamped by the server), and live
//! comments: what other members of a board see, on the board socket and the JSON protocol.

use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::{Value, json};

const SHORT: Duration = Duration::from_millis(300);

/// A board owned by alice, with `members` added; returns its id and a card on it.
async fn board_with(alice: &User, members: &[&str]) -> (i64, i64) {
    let (b, _) = alice.board("Team").await;
    for m in members {
        alice.add_member(b, m).await;
    }
    let card = alice.card(b, json!({"title": "shared card"})).await["id"].as_i64().unwrap();
    (b, card)
}

/// A JSON connection subscribed to a board's presence; returns it with the `presence_state`.
async fn presence_feed(user: &User, board: i64) -> (Ws, Value) {
    let (mut ws, _) = realtime(user, "").await;
    send(&mut ws, json!({"type": "subscribe", "presence": board})).await;
    let (state, skipped) = until_json(&mut ws, |v| v["type"] == "presence_state" || v["type"] == "error").await;
    assert_eq!(state["type"], "presence_state", "{state} after {skipped:?}");
    (ws, state)
}

/// The next presence event: (event, user, card).
async fn next_presence(ws: &mut Ws) -> (String, String, Option<i64>) {
    let (v, _) = until_json(ws, |v| v["type"] == "presence").await;
    (v["event"].as_str().unwrap().to_owned(), v["user"].as_str().unwrap().to_owned(), v["card_id"].as_i64())
}

fn ev(event: &str, user: &str, card: Option<i64>) -> (String, String, Option<i64>) {
    (event.to_owned(), user.to_owned(), card)
}

/// Waits until the hub has unregistered closed sockets (the open-connection gauge reaches `n`).
async fn connections_drop_to(app: &TestApp, n: f64) {
    eventually("closed sockets are unregistered", || async { app.metric("liveboard_ws_connections").await == n }).await;
}

/// The next activity frame of `card` on a board socket: (editing users, typing users).
async fn next_activity(live: &mut Live, card: i64) -> (Vec<String>, Vec<String>) {
    let (s, _) = live.until(|s| s.target == format!("card-{card}-activity")).await;
    assert_eq!(s.action, "update");
    (attr_values(&s.html, "data-editing"), attr_values(&s.html, "data-typing-user"))
}

#[tokio::test]
async fn a_member_joining_is_shown_at_once_and_leaving_only_after_the_grace_period() {
    let app = spawn_app_with(|c| c.presence_grace = SHORT).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, _) = board_with(&alice, &["bob"]).await;
    let mut alice_page = alice.live(b, "").await;
    assert_eq!(alice_page.bar.present(), ["alice"]);
    let (mut feed, state) = presence_feed(&alice, b).await;
    assert_eq!(state["users"], json!(["alice"]));

    let bob_page = bob.live(b, "").await;
    assert_eq!(bob_page.bar.present(), ["alice", "bob"]);
    let (bar, _) = alice_page.until(|s| s.target == "presence").await;
    assert_eq!((bar.action.as_str(), bar.present()), ("replace", vec!["alice".to_owned(), "bob".to_owned()]));
    assert_eq!(next_presence(&mut feed).await, ev("join", "bob", None));

    let closed = Instant::now();
    bob_page.close().await;
    let (bar, _) = alice_page.until(|s| s.target == "presence").await;
    assert_eq!(bar.present(), ["alice"]);
    assert!(closed.elapsed() >= SHORT, "left after {:?}, before the grace period", closed.elapsed());
    assert_eq!(next_presence(&mut feed).await, ev("leave", "bob", None));
}

#[tokio::test]
async fn one_user_with_two_tabs_counts_once_and_leaves_when_the_last_tab_closes() {
    let app = spawn_app_with(|c| c.presence_grace = SHORT).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let (b, _) = board_with(&alice, &["bob", "carol"]).await;
    let (mut feed, _) = presence_feed(&bob, b).await;

    let tab1 = alice.live(b, "").await;
    let tab2 = alice.live(b, "").await;
    assert_eq!(tab2.bar.present(), ["alice"], "the second tab sees the bar, alice once");
    let carol_page = carol.live(b, "").await;
    assert_eq!(carol_page.bar.present(), ["alice", "carol"]);
    assert_eq!(next_presence(&mut feed).await, ev("join", "alice", None));
    assert_eq!(next_presence(&mut feed).await, ev("join", "carol", None), "one join for two tabs");

    tab1.close().await;
    connections_drop_to(&app, 3.0).await;
    // Carol's leave comes a grace period after tab 1 closed; a leave of alice would come first.
    carol_page.close().await;
    assert_eq!(next_presence(&mut feed).await, ev("leave", "carol", None), "alice still has a tab open");

    tab2.close().await;
    assert_eq!(next_presence(&mut feed).await, ev("leave", "alice", None));
}

#[tokio::test]
async fn a_reconnect_within_the_grace_period_shows_no_leave_at_all() {
    let grace = Duration::from_millis(1000);
    let app = spawn_app_with(|c| c.presence_grace = grace).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let (b, _) = board_with(&alice, &["bob", "carol"]).await;
    let (mut feed, _) = presence_feed(&bob, b).await;
    let page = alice.live(b, "").await;
    assert_eq!(next_presence(&mut feed).await, ev("join", "alice", None));

    let closed = Instant::now();
    page.close().await;
    connections_drop_to(&app, 1.0).await;
    let reloaded = alice.live(b, "").await;
    assert!(closed.elapsed() < grace, "the reload took longer than the grace period");
    assert_eq!(reloaded.bar.present(), ["alice"], "a reload still gets the bar");

    let carol_page = carol.live(b, "").await;
    carol_page.close().await;
    assert_eq!(next_presence(&mut feed).await, ev("join", "carol", None), "no leave or re-join of alice");
    assert_eq!(next_presence(&mut feed).await, ev("leave", "carol", None), "no leave of alice");
}

#[tokio::test]
async fn an_editing_lease_lasts_while_renewed_and_expires_when_not() {
    let app = spawn_app_with(|c| c.editing_ttl = SHORT).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let mut bob_page = bob.live(b, "").await;
    let mut alice_page = alice.live(b, "").await;
    let (mut feed, _) = presence_feed(&bob, b).await;

    alice_page.send(json!({"type": "editing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("editing", "alice", Some(card)));
    assert_eq!(next_activity(&mut bob_page, card).await, (vec!["alice".to_owned()], vec![]));

    // The editor renews its lease every 100 ms for twice the lease's length (a client's cadence).
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        alice_page.send(json!({"type": "editing", "card_id": card})).await;
    }
    let renewed = Instant::now();
    assert_eq!(next_presence(&mut feed).await, ev("editing_stop", "alice", Some(card)));
    assert!(renewed.elapsed() >= SHORT, "the lease ended {:?} after its last renewal", renewed.elapsed());
    assert_eq!(next_activity(&mut bob_page, card).await, (vec![], vec![]));
    assert!(alice_page.json.is_empty(), "renewals are not rate limited: {:?}", alice_page.json);
}

#[tokio::test]
async fn typing_starts_stops_and_expires() {
    let app = spawn_app_with(|c| c.typing_ttl = SHORT).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let mut bob_page = bob.live(b, "").await;
    let mut alice_page = alice.live(b, "").await;
    let (mut feed, _) = presence_feed(&bob, b).await;

    alice_page.send(json!({"type": "typing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));
    assert_eq!(next_activity(&mut bob_page, card).await, (vec![], vec!["alice".to_owned()]));
    alice_page.send(json!({"type": "typing_stop", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("typing_stop", "alice", Some(card)));
    assert_eq!(next_activity(&mut bob_page, card).await, (vec![], vec![]));

    let typed = Instant::now();
    alice_page.send(json!({"type": "typing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));
    assert_eq!(next_presence(&mut feed).await, ev("typing_stop", "alice", Some(card)), "typing expires");
    assert!(typed.elapsed() >= SHORT, "expired after {:?}", typed.elapsed());
    assert_eq!(next_activity(&mut bob_page, card).await, (vec![], vec!["alice".to_owned()]));
    assert_eq!(next_activity(&mut bob_page, card).await, (vec![], vec![]));
}

#[tokio::test]
async fn typing_clears_at_once_when_the_typist_saves_the_card_but_not_when_someone_else_does() {
    let app = spawn_app_with(|c| c.typing_ttl = Duration::from_secs(60)).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let mut bob_page = bob.live(b, "").await;
    let mut alice_page = alice.live(b, "").await;
    let (mut feed, _) = presence_feed(&bob, b).await;
    alice_page.send(json!({"type": "typing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));

    // Bob's save leaves alice typing: the next signal arrives with nothing before it.
    let (s, _) = bob.patch_json(&format!("/api/cards/{card}"), json!({"title": "bob's title"})).await;
    assert_eq!(s, 200);
    assert!(bob_page.until(|s| s.card_id() == Some(card)).await.0.action == "upsert");
    alice_page.send(json!({"type": "editing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("editing", "alice", Some(card)));

    let (s, _) = alice.patch_json(&format!("/api/cards/{card}"), json!({"title": "alice's title"})).await;
    assert_eq!(s, 200);
    assert_eq!(next_presence(&mut feed).await, ev("typing_stop", "alice", Some(card)), "cleared by her save");
    let (upsert, _) = bob_page.until(|s| s.card_id() == Some(card)).await;
    assert!(upsert.html.contains("alice's title"), "{upsert:?}");
    assert_eq!(next_activity(&mut bob_page, card).await, (vec!["alice".to_owned()], vec![]), "still editing");
}

#[tokio::test]
async fn typing_signalled_over_the_json_protocol_also_clears_when_the_typist_saves() {
    let app = spawn_app_with(|c| c.typing_ttl = Duration::from_secs(60)).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let (mut feed, _) = presence_feed(&bob, b).await;
    let (mut script, _) = realtime(&alice, "").await;
    send(&mut script, json!({"type": "typing", "board_id": b, "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));

    let (s, _) = alice.patch_json(&format!("/api/cards/{card}"), json!({"description": "saved"})).await;
    assert_eq!(s, 200);
    assert_eq!(next_presence(&mut feed).await, ev("typing_stop", "alice", Some(card)));
}

#[tokio::test]
async fn a_forged_identity_is_ignored_and_the_sender_is_shown() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let mut bob_page = bob.live(b, "").await;
    let mut alice_page = alice.live(b, "").await;
    let (mut feed, _) = presence_feed(&bob, b).await;

    alice_page.send(json!({"type": "typing", "card_id": card, "user": "bob"})).await;
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));
    assert_eq!(next_activity(&mut bob_page, card).await, (vec![], vec!["alice".to_owned()]));

    let (mut alice_json, _) = realtime(&alice, "").await;
    send(&mut alice_json, json!({"type": "editing", "board_id": b, "card_id": card, "user": "bob"})).await;
    assert_eq!(next_presence(&mut feed).await, ev("editing", "alice", Some(card)));
}

#[tokio::test]
async fn a_non_member_can_neither_see_nor_signal_presence() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let mallory = app.signup("mallory").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let (mut feed, _) = presence_feed(&bob, b).await;

    let (mut outsider, _) = realtime(&mallory, "").await;
    send(&mut outsider, json!({"type": "subscribe", "presence": b})).await;
    let (err, _) = until_json(&mut outsider, |v| v["type"] == "error").await;
    assert_eq!(err["code"], "FORBIDDEN");
    send(&mut outsider, json!({"type": "typing", "board_id": b, "card_id": card})).await;
    assert!(barrier(&mut outsider).await.is_empty());

    let mut alice_page = alice.live(b, "").await;
    alice_page.send(json!({"type": "typing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("join", "alice", None), "mallory's signal was dropped");
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));
    assert!(barrier(&mut outsider).await.is_empty(), "mallory receives nothing of the board");
}

#[tokio::test]
async fn too_many_signals_are_answered_with_rate_limited() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (b, card) = board_with(&alice, &[]).await;
    let mut page = alice.live(b, "").await;
    for n in 0..40 {
        let kind = if n % 2 == 0 { "typing" } else { "typing_stop" };
        page.send(json!({"type": kind, "card_id": card})).await;
    }
    let err = page.next_json().await;
    assert_eq!((err["type"].as_str(), err["code"].as_str()), (Some("error"), Some("RATE_LIMITED")), "{err}");

    let (mut ws, _) = realtime(&alice, "").await;
    for _ in 0..40 {
        send(&mut ws, json!({"type": "editing", "board_id": b, "card_id": card})).await;
    }
    let (err, _) = until_json(&mut ws, |v| v["type"] == "error").await;
    assert_eq!(err["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn presence_is_never_written_to_the_database() {
    let app = spawn_app_with(|c| {
        c.presence_grace = SHORT;
        c.typing_ttl = SHORT;
    })
    .await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let events = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from events").fetch_one(&app.state.db.read).await.unwrap()
    };
    let before = events().await;

    let (mut feed, _) = presence_feed(&bob, b).await;
    let mut page = alice.live(b, "").await;
    page.send(json!({"type": "editing", "card_id": card})).await;
    page.send(json!({"type": "typing", "card_id": card})).await;
    page.send(json!({"type": "editing_stop", "card_id": card})).await;
    page.close().await;
    let mut seen = vec![];
    while seen.last().map(|(e, _, _): &(String, String, Option<i64>)| e.as_str()) != Some("leave") {
        seen.push(next_presence(&mut feed).await);
    }
    assert_eq!(
        seen,
        [
            ev("join", "alice", None),
            ev("editing", "alice", Some(card)),
            ev("typing", "alice", Some(card)),
            ev("editing_stop", "alice", Some(card)),
            ev("typing_stop", "alice", Some(card)),
            ev("leave", "alice", None)
        ]
    );
    assert_eq!(events().await, before, "presence leaves no event rows");
}

#[tokio::test]
async fn comments_added_and_deleted_reach_other_members_pages() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let mut bob_page = bob.live(b, "hide_done=1").await;

    let (s, comment) = alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "Looks <good>"})).await;
    assert_eq!(s, 201, "{comment}");
    let id = comment["id"].as_i64().unwrap();
    let added = bob_page.next().await;
    assert_eq!(
        (added.action.as_str(), added.target.clone(), added.parent.clone()),
        ("upsert", format!("comment-{id}"), Some(format!("card-{card}-comments")))
    );
    assert!(added.html.contains("Looks &lt;good&gt;"), "escaped: {}", added.html);
    assert_eq!(attr_values(&added.html, "data-author"), ["alice"]);

    assert_eq!(alice.delete(&format!("/api/comments/{id}")).await, 204);
    let removed = bob_page.next().await;
    assert_eq!((removed.action.as_str(), removed.target.clone()), ("remove", format!("comment-{id}")));
}

#[tokio::test]
async fn a_member_opening_the_board_sees_who_is_already_editing_and_typing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let mut alice_page = alice.live(b, "").await;
    let (mut feed, _) = presence_feed(&alice, b).await;
    alice_page.send(json!({"type": "editing", "card_id": card})).await;
    alice_page.send(json!({"type": "typing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("editing", "alice", Some(card)));
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));

    // Bob's first tab: the page renders no activity, so the socket must bring it.
    let mut bob_page = bob.live(b, "").await;
    assert_eq!(next_activity(&mut bob_page, card).await, (vec!["alice".to_owned()], vec!["alice".to_owned()]));
}

#[tokio::test]
async fn an_editor_whose_page_disconnects_stops_showing_at_once() {
    // Leases far longer than the test: only the disconnect can end them.
    let app = spawn_app_with(|c| {
        c.editing_ttl = Duration::from_secs(60);
        c.typing_ttl = Duration::from_secs(60);
    })
    .await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let mut bob_page = bob.live(b, "").await;
    let mut alice_page = alice.live(b, "").await;
    let (mut feed, _) = presence_feed(&bob, b).await;
    alice_page.send(json!({"type": "editing", "card_id": card})).await;
    alice_page.send(json!({"type": "typing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("editing", "alice", Some(card)));
    assert_eq!(next_presence(&mut feed).await, ev("typing", "alice", Some(card)));

    alice_page.close().await;

    assert_eq!(next_presence(&mut feed).await, ev("editing_stop", "alice", Some(card)));
    assert_eq!(next_presence(&mut feed).await, ev("typing_stop", "alice", Some(card)));
    let (editing, typing) = loop {
        let activity = next_activity(&mut bob_page, card).await;
        if activity.0.is_empty() {
            break activity;
        }
    };
    assert!(editing.is_empty() && typing.is_empty());
}

#[tokio::test]
async fn a_json_client_that_unsubscribes_from_presence_receives_no_more_presence() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let (mut feed, _) = presence_feed(&bob, b).await;
    let id = app.connections().await.into_iter().find(|c| c.user.as_deref() == Some("bob")).unwrap().id;

    send(&mut feed, json!({"type": "unsubscribe", "presence": b})).await;
    let (ack, _) = until_json(&mut feed, |v| v["type"] == "unsubscribed").await;
    assert_eq!(ack["presence"], b);
    let mut page = alice.live(b, "").await;
    page.send(json!({"type": "typing", "card_id": card})).await;
    page.barrier().await;

    let before = app.hub_barrier(&mut feed, &id).await;
    assert!(before.iter().all(|v| v["type"] != "presence" && v["type"] != "presence_state"), "{before:?}");
    assert!(app.listing(&id).await.unwrap().subscriptions.is_empty());
}

#[tokio::test]
async fn a_member_removed_from_the_board_leaves_its_presence_at_once() {
    // A grace period far longer than the test: only the removal can end bob's presence.
    let app = spawn_app_with(|c| {
        c.presence_grace = Duration::from_secs(60);
        c.editing_ttl = Duration::from_secs(60);
    })
    .await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, card) = board_with(&alice, &["bob"]).await;
    let (mut feed, _) = presence_feed(&alice, b).await;
    let mut bob_page = bob.live(b, "").await;
    bob_page.send(json!({"type": "editing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ev("join", "bob", None));
    assert_eq!(next_presence(&mut feed).await, ev("editing", "bob", Some(card)));

    assert_eq!(alice.delete(&format!("/api/boards/{b}/members/bob")).await, 204);

    assert_eq!(next_presence(&mut feed).await, ev("editing_stop", "bob", Some(card)));
    assert_eq!(next_presence(&mut feed).await, ev("leave", "bob", None));
    assert_eq!(bob_page.close_code().await, Some(4403));
}
