//! Where the collaboration features meet each other and the rest of the app: the inbox badge when
//! a mention's card, comment, board or membership goes (and an undo brings a card back), and the
//! bad input of the activity and inbox pages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// Alice's board shared with Bob, and one card: (alice, bob, board, card).
async fn shared(app: &TestApp) -> (User, User, i64, i64) {
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, _) = alice.board("Team").await;
    alice.add_member(board, "bob").await;
    let card = alice.card(board, json!({"title": "Fix login"})).await["id"].as_i64().unwrap();
    (alice, bob, board, card)
}

async fn comment(u: &User, card: i64, body: &str) -> i64 {
    let (s, c) = u.post_json(&format!("/api/cards/{card}/comments"), json!({ "body": body })).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_i64().unwrap()
}

/// Bob's JSON socket on his `notifications` channel, after Alice mentioned him once.
async fn bob_mentioned(bob: &User, alice: &User, card: i64) -> (Ws, i64) {
    let (mut ws, _) = realtime(bob, "").await;
    subscribe(&mut ws, "notifications.*").await;
    let comment = comment(alice, card, "@bob can you look?").await;
    let new = next_json(&mut ws).await;
    assert_eq!((new["data"]["kind"].as_str(), new["data"]["unread"].as_i64()), (Some("new"), Some(1)), "{new}");
    (ws, comment)
}

/// The next message on Bob's channel says his unread count is now 0, and the inbox agrees.
async fn badge_back_to_zero(ws: &mut Ws, bob: &User) {
    let msg = next_json(ws).await;
    assert_eq!(msg["collection"], "notifications", "{msg}");
    assert_eq!((msg["data"]["kind"].as_str(), msg["data"]["unread"].as_i64()), (Some("removed"), Some(0)), "{msg}");
    let (_, inbox) = bob.get_json("/api/notifications").await;
    assert_eq!(inbox["unread"], 0, "{inbox}");
}

#[tokio::test]
async fn deleting_a_card_takes_its_mention_off_the_badge_at_once_and_undo_does_not_notify_twice() {
    let app = spawn_app().await;
    let (alice, bob, board, card) = shared(&app).await;
    let (mut ws, _) = bob_mentioned(&bob, &alice, card).await;
    let mut page = bob.live(board, "").await;

    let res = alice.http.request(Method::DELETE, alice.url(&format!("/api/cards/{card}"))).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let seq: i64 = res.headers()["liveboard-undo"].to_str().unwrap().parse().unwrap();
    badge_back_to_zero(&mut ws, &bob).await;
    let (badge, _) = page.until(|s| s.target == "inbox-badge").await;
    assert!(badge.html.contains(r#"data-unread="0""#), "{}", badge.html);

    let (s, undone) = alice.post_json(&format!("/api/events/{seq}/undo"), json!({})).await;
    assert_eq!(s, 200, "{undone}");
    let (_, comments) = bob.get_json(&format!("/api/cards/{card}/comments")).await;
    assert_eq!(comments.as_array().map(Vec::len), Some(1), "the comment is back: {comments}");
    // Nothing new reached Bob's channel before this barrier, and his inbox holds no second copy.
    let skipped: Vec<Value> = barrier(&mut ws).await;
    assert!(skipped.iter().all(|m| m["data"]["kind"] != "new"), "{skipped:?}");
    let (_, inbox) = bob.get_json("/api/notifications").await;
    assert!(inbox["notifications"].as_array().unwrap().len() <= 1, "{inbox}");
    assert_eq!(inbox["unread"].as_i64(), Some(inbox["notifications"].as_array().unwrap().len() as i64));
}

#[tokio::test]
async fn deleting_the_mentioning_comment_takes_it_off_the_badge_at_once() {
    let app = spawn_app().await;
    let (alice, bob, _board, card) = shared(&app).await;
    let (mut ws, comment) = bob_mentioned(&bob, &alice, card).await;

    assert_eq!(alice.delete(&format!("/api/comments/{comment}")).await, 204);
    badge_back_to_zero(&mut ws, &bob).await;
}

#[tokio::test]
async fn a_member_removed_from_the_board_sees_their_badge_drop_at_once() {
    let app = spawn_app().await;
    let (alice, bob, board, card) = shared(&app).await;
    let (mut ws, _) = bob_mentioned(&bob, &alice, card).await;

    assert_eq!(alice.delete(&format!("/api/boards/{board}/members/bob")).await, 204);
    badge_back_to_zero(&mut ws, &bob).await;
}

#[tokio::test]
async fn deleting_a_column_or_the_board_takes_their_mentions_off_the_badge_at_once() {
    let app = spawn_app().await;
    let (alice, bob, board, card) = shared(&app).await;
    let (mut ws, _) = bob_mentioned(&bob, &alice, card).await;
    let (_, snap) = alice.get_json(&format!("/api/boards/{board}")).await;
    let column = snap["cards"][0]["column_id"].as_i64().unwrap();
    assert_eq!(alice.delete(&format!("/api/columns/{column}")).await, 204);
    badge_back_to_zero(&mut ws, &bob).await;

    let card = alice.card(board, json!({"title": "Another"})).await["id"].as_i64().unwrap();
    comment(&alice, card, "@bob again").await;
    assert_eq!(next_json(&mut ws).await["data"]["unread"], 1);
    assert_eq!(alice.delete(&format!("/api/boards/{board}")).await, 204);
    badge_back_to_zero(&mut ws, &bob).await;
}

/// A page's answer: status, content type, body.
async fn page(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

#[tokio::test]
async fn the_activity_and_inbox_pages_answer_values_that_are_not_numbers_with_an_html_page() {
    let app = spawn_app().await;
    let (alice, _bob, board, _card) = shared(&app).await;
    let seq = app.seq();
    for path in [
        format!("/boards/{board}/activity?before=abc"),
        "/boards/abc/activity".into(),
        "/notifications?before=x".into(),
    ] {
        let (s, kind, body) = page(alice.get(&path).await).await;
        assert_eq!(s, 400, "{path}: {body}");
        assert!(kind.starts_with("text/html"), "{path}: {kind} {body}");
    }
    let (s, kind, body) = page(alice.form("/notifications/abc/read", &[]).await).await;
    assert_eq!((s, kind.starts_with("text/html")), (400, true), "{kind} {body}");
    assert_eq!(app.seq(), seq, "nothing was written");
}

#[tokio::test]
async fn a_mark_read_form_whose_back_holds_a_control_character_returns_to_the_inbox() {
    let app = spawn_app().await;
    let (alice, bob, _board, card) = shared(&app).await;
    comment(&alice, card, "@bob here").await;
    let res = bob.form("/notifications/read-all", &[("back", "/notifications\r\nSet-Cookie: x=1")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/notifications");
    let res = bob.form("/notifications/read-all", &[("back", "/notifications?before=5")]).await;
    assert_eq!(res.headers()["location"], "/notifications?before=5", "a page of the inbox is kept");
}
#[tokio::test]
async fn an_activity_limit_outside_1_to_200_is_a_400_naming_the_bounds() {
    let app = spawn_app().await;
    let (alice, _bob, board, _card) = shared(&app).await;
    for limit in ["0", "-1", "201"] {
        let (s, err) = alice.get_json(&format!("/api/boards/{board}/activity?limit={limit}")).await;
        assert_eq!((s, err["error"]["code"].as_str()), (400, Some("BAD_REQUEST")), "{limit}: {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains("1 to 200"), "{err}");
    }
    let (s, page) = alice.get_json(&format!("/api/boards/{board}/activity?limit=200")).await;
    assert_eq!(s, 200, "{page}");
}

#[tokio::test]
async fn a_description_that_drops_a_mention_and_names_them_again_notifies_once() {
    let app = spawn_app().await;
    let (alice, bob, _board, card) = shared(&app).await;
    let describe = |text: &'static str| {
        let alice = &alice;
        async move {
            let (s, c) = alice.patch_json(&format!("/api/cards/{card}"), json!({ "description": text })).await;
            assert_eq!(s, 200, "{c}");
        }
    };
    describe("@bob please look").await;
    describe("please look").await;
    describe("please look, @bob").await;

    let (_, inbox) = bob.get_json("/api/notifications").await;
    assert_eq!(inbox["notifications"].as_array().map(Vec::len), Some(1), "{inbox}");
    assert_eq!(inbox["unread"], 1);
}
