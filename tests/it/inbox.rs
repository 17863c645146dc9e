//! App channels and the inbox: channel patterns and their access rules on the JSON socket, the
//! admin broadcast, @mentions turned into notifications, the live unread count on both sockets,
//! the `/notifications` page and its forms, the JSON API, and delivery only after commit.

use serde_json::{Value, json};

use crate::support::*;

/// The user's id, as `/api/me` says.
async fn id_of(u: &User) -> i64 {
    let (s, me) = u.get_json("/api/me").await;
    assert_eq!(s, 200, "{me}");
    me["id"].as_i64().unwrap()
}

/// Alice's board with Bob and Carol as members, and one card on it.
async fn board_of_three(app: &TestApp) -> (User, User, User, i64, i64) {
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let (board, _) = alice.board("Team").await;
    alice.add_member(board, "bob").await;
    alice.add_member(board, "carol").await;
    let card = alice.card(board, json!({"title": "Fix login"})).await["id"].as_i64().unwrap();
    (alice, bob, carol, board, card)
}

async fn comment(u: &User, card: i64, body: &str) -> Value {
    let (s, c) = u.post_json(&format!("/api/cards/{card}/comments"), json!({ "body": body })).await;
    assert_eq!(s, 201, "{c}");
    c
}

/// A JSON socket of `u` subscribed to `pattern`, with its connection id.
async fn on(u: &User, pattern: &str) -> (Ws, String) {
    let (mut ws, hello) = realtime(u, "").await;
    subscribe(&mut ws, pattern).await;
    (ws, hello["connection_id"].as_str().unwrap().to_owned())
}

async fn inbox(u: &User) -> Value {
    let (s, v) = u.get_json("/api/notifications").await;
    assert_eq!(s, 200, "{v}");
    v
}

// ---- mentions ----

#[tokio::test]
async fn bob_mentioned_by_alice_gets_one_notification_live_and_carol_gets_nothing() {
    let app = spawn_app().await;
    let (alice, bob, carol, board, card) = board_of_three(&app).await;
    let bob_id = id_of(&bob).await;
    let (mut bob_ws, _) = on(&bob, "notifications.*").await;
    let (mut carol_ws, carol_conn) = on(&carol, "notifications.*").await;

    let c = comment(&alice, card, "@bob can you look at this? Thanks @Bob.").await;

    let msg = next_json(&mut bob_ws).await;
    assert_eq!((msg["type"].as_str(), msg["collection"].as_str()), (Some("custom_event"), Some("notifications")));
    assert_eq!(msg["id"], bob_id);
    assert_eq!(msg["data"]["kind"], "new");
    assert_eq!(msg["data"]["unread"], 1);
    let n = &msg["data"]["notification"];
    assert_eq!((n["by"].as_str(), n["source"].as_str()), (Some("alice"), Some("comment")));
    assert_eq!((n["card_id"].as_i64(), n["board_id"].as_i64()), (Some(card), Some(board)));
    assert_eq!(n["comment_id"], c["id"]);
    assert_eq!(n["card_title"], "Fix login");
    assert!(n["read_at"].is_null());
    assert!(app.hub_barrier(&mut carol_ws, &carol_conn).await.is_empty(), "Carol is not mentioned");

    let listed = inbox(&bob).await;
    assert_eq!(listed["unread"], 1);
    assert_eq!(listed["notifications"].as_array().unwrap().len(), 1, "two mentions of bob, one notification");
    assert_eq!(inbox(&carol).await["unread"], 0);
}

#[tokio::test]
async fn a_self_mention_unknown_names_and_non_members_create_nothing() {
    let app = spawn_app().await;
    let (alice, _bob, _carol, _board, card) = board_of_three(&app).await;
    let dave = app.signup("dave").await;
    let (mut alice_ws, alice_conn) = on(&alice, "notifications.*").await;
    let (mut dave_ws, dave_conn) = on(&dave, "notifications.*").await;

    comment(&alice, card, "note to self @alice; @dave is not on this board; @nobody exists; mail alice@example.com")
        .await;

    assert!(app.hub_barrier(&mut alice_ws, &alice_conn).await.is_empty());
    assert!(app.hub_barrier(&mut dave_ws, &dave_conn).await.is_empty());
    assert_eq!(inbox(&alice).await["unread"], 0);
    assert_eq!(inbox(&dave).await["unread"], 0);
    let (n,): (i64,) =
        sqlx::query_as("select count(*) from notifications").fetch_one(&app.state.db.read).await.unwrap();
    assert_eq!(n, 0, "nothing written");
}

#[tokio::test]
async fn a_description_edit_that_keeps_a_mention_does_not_notify_again() {
    let app = spawn_app().await;
    let (alice, bob, carol, board, _) = board_of_three(&app).await;
    let (mut bob_ws, bob_conn) = on(&bob, "notifications.*").await;
    let card = alice.card(board, json!({"title": "Spec", "description": "draft for @bob"})).await;
    let id = card["id"].as_i64().unwrap();
    let first = next_json(&mut bob_ws).await;
    assert_eq!(first["data"]["notification"]["source"], "description");

    let (s, _) = alice.patch_json(&format!("/api/cards/{id}"), json!({"description": "final for @bob"})).await;
    assert_eq!(s, 200);
    assert!(app.hub_barrier(&mut bob_ws, &bob_conn).await.is_empty(), "bob was mentioned already");
    let (s, _) =
        alice.patch_json(&format!("/api/cards/{id}"), json!({"description": "final for @bob and @carol"})).await;
    assert_eq!(s, 200);

    assert_eq!(inbox(&bob).await["unread"], 1);
    assert_eq!(inbox(&carol).await["unread"], 1, "a name the edit adds is notified");
}

#[tokio::test]
async fn a_removed_members_notifications_are_no_longer_listed_and_the_card_behind_one_is_404() {
    let app = spawn_app().await;
    let (alice, bob, _carol, board, card) = board_of_three(&app).await;
    comment(&alice, card, "@bob please").await;
    let listed = inbox(&bob).await;
    let nid = listed["notifications"][0]["id"].as_i64().unwrap();
    assert_eq!(bob.get(&format!("/cards/{card}")).await.status(), 200);

    assert_eq!(alice.delete(&format!("/api/boards/{board}/members/bob")).await, 204);

    let listed = inbox(&bob).await;
    assert_eq!((listed["unread"].as_i64(), listed["notifications"].as_array().map(Vec::len)), (Some(0), Some(0)));
    assert_eq!(bob.get(&format!("/cards/{card}")).await.status(), 404);
    let (s, e) = bob.post_json(&format!("/api/notifications/{nid}/read"), json!({})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
    comment(&alice, card, "@bob are you there?").await;
    assert_eq!(inbox(&bob).await["unread"], 0, "a removed member is not mentionable");
}

// ---- reading them ----

#[tokio::test]
async fn marking_read_by_form_and_json_moves_the_count_on_every_socket_of_the_reader() {
    let app = spawn_app().await;
    let (alice, bob, carol, board, card) = board_of_three(&app).await;
    let mut page = bob.live(board, "").await;
    let (mut bob_ws, _) = on(&bob, "notifications.*").await;
    comment(&alice, card, "@bob one").await;
    comment(&alice, card, "@bob two").await;
    for unread in [1, 2] {
        assert_eq!(next_json(&mut bob_ws).await["data"]["unread"], unread);
        let (badge, _) = page.until(|s| s.target == "inbox-badge").await;
        assert_eq!(badge.action, "replace");
        assert!(badge.html.contains(&format!("data-unread=\"{unread}\"")), "{}", badge.html);
    }
    let listed = inbox(&bob).await;
    let newest = listed["notifications"][0]["id"].as_i64().unwrap();

    // Someone else's, and one that does not exist: 404, nothing changes.
    let (s, _) = carol.post_json(&format!("/api/notifications/{newest}/read"), json!({})).await;
    assert_eq!(s, 404);
    assert_eq!(carol.form(&format!("/notifications/{newest}/read"), &[]).await.status(), 404);
    let (s, _) = bob.post_json("/api/notifications/999999/read", json!({})).await;
    assert_eq!(s, 404);

    let res = bob.form(&format!("/notifications/{newest}/read"), &[("back", "/notifications")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/notifications");
    let read = next_json(&mut bob_ws).await;
    assert_eq!((read["data"]["kind"].clone(), read["data"]["ids"].clone()), (json!("read"), json!([newest])));
    assert_eq!(read["data"]["unread"], 1);
    let (badge, _) = page.until(|s| s.target == "inbox-badge").await;
    assert!(badge.html.contains("data-unread=\"1\""), "{}", badge.html);

    let (s, v) = bob.post_json("/api/notifications/read-all", json!({})).await;
    assert_eq!((s, v["unread"].as_i64()), (200, Some(0)));
    let all = next_json(&mut bob_ws).await;
    assert_eq!((all["data"]["all"].as_bool(), all["data"]["unread"].as_i64()), (Some(true), Some(0)));
    let listed = inbox(&bob).await;
    assert!(listed["notifications"].as_array().unwrap().iter().all(|n| n["read_at"].is_string()));
}

#[tokio::test]
async fn the_inbox_page_links_to_the_card_and_the_badge_counts_on_every_page() {
    let app = spawn_app().await;
    let (alice, bob, _carol, board, card) = board_of_three(&app).await;
    comment(&alice, card, "@bob see <this>").await;

    let page = bob.get("/notifications").await.text().await.unwrap();
    assert!(page.contains(&format!("href=\"/cards/{card}\"")), "{page}");
    assert!(page.contains("see &lt;this&gt;"), "the excerpt is escaped");
    assert!(page.contains("alice"));
    for path in ["/", "/notifications", "/settings", &format!("/boards/{board}"), &format!("/cards/{card}")] {
        let html = bob.get(path).await.text().await.unwrap();
        assert!(html.contains(r#"id="inbox-badge""#) && html.contains(r#"data-unread="1""#), "{path}");
    }
    assert!(
        bob.form("/notifications/read-all", &[("back", "https://evil.example/")]).await.headers()["location"]
            == "/notifications"
    );
    let html = bob.get("/").await.text().await.unwrap();
    assert!(html.contains(r#"data-unread="0""#));
    let (s, _) = bob.get_json("/api/notifications?before=abc").await;
    assert_eq!(s, 400);
}

// ---- channels ----

#[tokio::test]
async fn another_users_id_on_a_user_channel_is_forbidden_and_the_connection_stays_open() {
    let app = spawn_app().await;
    let (_alice, bob, carol, _board, _card) = board_of_three(&app).await;
    let carol_id = id_of(&carol).await;
    let (mut ws, _) = realtime(&bob, "").await;

    send(&mut ws, json!({"type": "subscribe", "pattern": format!("notifications.{carol_id}")})).await;
    assert_eq!(next_error_code(&mut ws).await, "FORBIDDEN");
    let _ = barrier(&mut ws).await;
    subscribe(&mut ws, &format!("notifications.{}", id_of(&bob).await)).await;
    let subs = app.connections().await.into_iter().find(|c| c.user.as_deref() == Some("bob")).unwrap();
    assert_eq!(subs.subscriptions, vec![format!("notifications.{}", id_of(&bob).await)], "nothing of Carol's");
}

#[tokio::test]
async fn an_unknown_channel_is_an_invalid_pattern_over_the_socket_and_over_http() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let bob = app.signup("bob").await;
    let (mut ws, _) = realtime(&bob, "").await;
    send(&mut ws, json!({"type": "subscribe", "pattern": "newz.*"})).await;
    assert_eq!(next_error_code(&mut ws).await, "INVALID_PATTERN");

    let (s, e) = admin.post_json("/api/admin/broadcast", json!({"channel": "newz", "data": {}})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("INVALID_PATTERN")));
    let (s, e) = admin.post_json("/api/admin/broadcast", json!({"channel": "notifications", "data": {}})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("BAD_REQUEST")));
    assert!(e["error"]["message"].as_str().unwrap().contains("needs an id"), "{e}");
    let (s, _) = admin.post_json("/api/admin/broadcast", json!({"channel": "news"})).await;
    assert_eq!(s, 400, "data is required");
    let (s, e) = bob.post_json("/api/admin/broadcast", json!({"channel": "news", "data": {}})).await;
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("FORBIDDEN")));
}

#[tokio::test]
async fn an_admin_broadcast_to_news_reaches_news_subscribers_and_nobody_else() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let (_alice, bob, carol, _board, _card) = board_of_three(&app).await;
    let (mut news, news_conn) = on(&bob, "news.*").await;
    let (mut cards, cards_conn) = on(&carol, "cards.*").await;
    let (mut mine, mine_conn) = on(&carol, "notifications.*").await;
    let (mut everything, all_conn) = on(&admin, "*").await;

    let (s, _) = admin.post_json("/api/admin/broadcast", json!({"channel": "news", "data": {"v": "1.2"}})).await;
    assert_eq!(s, 202);

    assert_eq!(next_json(&mut news).await, json!({"type": "custom_event", "collection": "news", "data": {"v": "1.2"}}));
    assert!(app.hub_barrier(&mut news, &news_conn).await.is_empty());
    assert!(app.hub_barrier(&mut cards, &cards_conn).await.is_empty());
    assert!(app.hub_barrier(&mut mine, &mine_conn).await.is_empty());
    assert!(app.hub_barrier(&mut everything, &all_conn).await.is_empty(), "\"*\" is records only");

    let (s, _) = admin.post_json("/api/admin/broadcast", json!({"data": {"hello": "all"}})).await;
    assert_eq!(s, 202);
    for ws in [&mut news, &mut cards, &mut mine, &mut everything] {
        assert_eq!(next_json(ws).await, json!({"type": "custom_event", "collection": null, "data": {"hello": "all"}}));
    }
}

#[tokio::test]
async fn board_notices_reach_that_boards_members_only_and_stop_when_one_is_removed() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let (alice, bob, carol, board, _card) = board_of_three(&app).await;
    let dave = app.signup("dave").await;
    let (mut bob_ws, _) = on(&bob, &format!("board_notices.{board}")).await;
    let (mut carol_ws, carol_conn) = on(&carol, "board_notices.*").await;
    let (mut dave_ws, dave_conn) = on(&dave, "board_notices.*").await;
    let (mut probe, _) = realtime(&dave, "").await;
    send(&mut probe, json!({"type": "subscribe", "pattern": format!("board_notices.{board}")})).await;
    assert_eq!(next_error_code(&mut probe).await, "FORBIDDEN");

    let notice = json!({"channel": "board_notices", "id": board, "data": {"text": "standup"}});
    assert_eq!(admin.post_json("/api/admin/broadcast", notice.clone()).await.0, 202);
    let expected =
        json!({"type": "custom_event", "collection": "board_notices", "id": board, "data": {"text": "standup"}});
    assert_eq!(next_json(&mut bob_ws).await, expected);
    assert_eq!(next_json(&mut carol_ws).await, expected);
    assert!(app.hub_barrier(&mut dave_ws, &dave_conn).await.is_empty(), "not a member");

    // Checked per message, not only at subscribe: Carol keeps her pattern but not the board.
    assert_eq!(alice.delete(&format!("/api/boards/{board}/members/carol")).await, 204);
    assert_eq!(admin.post_json("/api/admin/broadcast", notice).await.0, 202);
    assert_eq!(next_json(&mut bob_ws).await, expected);
    let after = app.hub_barrier(&mut carol_ws, &carol_conn).await;
    assert!(after.iter().all(|m| m["type"] != "custom_event"), "{after:?}");
}

#[tokio::test]
async fn a_channel_message_of_a_write_that_rolled_back_is_never_sent() {
    use liveboard::{channels::Channel, error::Error};
    let app = spawn_app().await;
    let bob = app.signup("bob").await;
    let (mut ws, _) = on(&bob, "news.*").await;

    let failed: Result<(), Error> = app
        .state
        .db
        .write(None, |w| {
            w.broadcast(Channel::News, None, json!({"kept": false}))?;
            Err(Error::Conflict("refused".into()))
        })
        .await;
    assert!(failed.is_err());
    app.state.db.write(None, |w| w.broadcast(Channel::News, None, json!({"kept": true}))).await.unwrap();

    assert_eq!(next_json(&mut ws).await["data"], json!({"kept": true}), "the rolled-back message never came");
}

#[tokio::test]
async fn the_admin_pages_news_form_reaches_news_subscribers_only() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let bob = app.signup("bob").await;
    let (mut news, _) = on(&bob, "news.*").await;
    let (mut quiet, quiet_conn) = on(&bob, "boards.*").await;

    assert_eq!(admin.form("/admin/news", &[("message", "v1.2 is out")]).await.status(), 303);
    assert_eq!(bob.form("/admin/news", &[("message", "not mine to send")]).await.status(), 403);
    assert_eq!(admin.form("/admin/news", &[("message", "  ")]).await.status(), 400);

    assert_eq!(next_json(&mut news).await["data"], json!({"message": "v1.2 is out"}));
    assert!(app.hub_barrier(&mut quiet, &quiet_conn).await.is_empty());
}

#[tokio::test]
async fn old_notifications_are_pruned_by_age_read_or_not() {
    let app = spawn_app().await;
    let (alice, bob, _carol, _board, card) = board_of_three(&app).await;
    comment(&alice, card, "@bob first").await;
    comment(&alice, card, "@bob second").await;
    let first = inbox(&bob).await["notifications"][1]["id"].as_i64().unwrap();
    assert_eq!(bob.post_json(&format!("/api/notifications/{first}/read"), json!({})).await.0, 200);

    let kept = liveboard::repo::notifications::prune(&app.state.db, std::time::Duration::from_secs(3600)).await;
    assert_eq!(kept.unwrap(), 0, "younger than the limit");
    let pruned = liveboard::repo::notifications::prune(&app.state.db, std::time::Duration::ZERO).await;
    assert_eq!(pruned.unwrap(), 2);
    assert_eq!(inbox(&bob).await["notifications"], json!([]));
}
