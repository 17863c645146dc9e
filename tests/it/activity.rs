//! Activity and history from the event log, and "since your last visit": the activity page and
//! API, paging and bad input, the card's history, live entries on the board's socket and in
//! `record_event`, and the visit line with its marks.

use serde_json::{Value, json};

use crate::support::*;

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

async fn activity(user: &User, board: i64, query: &str) -> Value {
    let (s, page) = user.get_json(&format!("/api/boards/{board}/activity{query}")).await;
    assert_eq!(s, 200, "{page}");
    page
}

fn summaries(page: &Value) -> Vec<String> {
    page["entries"].as_array().unwrap().iter().map(|e| e["summary"].as_str().unwrap().to_owned()).collect()
}

async fn html(user: &User, path: &str) -> (u16, String) {
    let res = user.get(path).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn move_card(user: &User, card: i64, column: i64) {
    let (s, c) = user.patch_json(&format!("/api/cards/{card}"), json!({"column_id": column})).await;
    assert_eq!(s, 200, "{c}");
}

#[tokio::test]
async fn the_activity_lists_a_move_with_both_column_names() {
    let app = spawn_app().await;
    let bob = app.signup("bob").await;
    let (b, cols) = bob.board("Work").await;
    let card = id(&bob.card(b, json!({"title": "Fix login"})).await);

    move_card(&bob, card, cols[1]).await;

    let page = activity(&bob, b, "").await;
    let newest = &page["entries"][0];
    assert_eq!(newest["summary"], "bob moved “Fix login” from Todo to Doing");
    assert_eq!(newest["actor"], "bob");
    assert_eq!(newest["collection"], "cards");
    assert_eq!(newest["action"], "update");
    assert_eq!(newest["record_id"], card);
    assert!(newest["seq"].as_i64().unwrap() > 0 && newest["at"].is_string(), "{newest}");
    assert_eq!(summaries(&page)[1], "bob created card “Fix login” in Todo");
    // The page says the same, newest first, with a relative time the browser can refresh.
    let (s, body) = html(&bob, &format!("/boards/{b}/activity")).await;
    assert_eq!(s, 200);
    let moved = body.find("bob moved “Fix login” from Todo to Doing").expect("the move is listed");
    assert!(moved < body.find("bob created card “Fix login”").unwrap(), "newest first");
    assert!(body.contains("data-relative>just now</time>"), "{body}");
}

#[tokio::test]
async fn a_renamed_column_is_listed_with_its_old_and_new_name() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (b, cols) = alice.board("Work").await;

    let (s, c) = alice.patch_json(&format!("/api/columns/{}", cols[1]), json!({"name": "In progress"})).await;
    assert_eq!(s, 200, "{c}");

    assert_eq!(summaries(&activity(&alice, b, "").await)[0], "alice renamed column Doing to In progress");
    // The names are those of the moment: a later rename leaves the first sentence as it was.
    alice.patch_json(&format!("/api/columns/{}", cols[1]), json!({"name": "Busy"})).await;
    let all = summaries(&activity(&alice, b, "").await);
    assert_eq!(all[..2], ["alice renamed column In progress to Busy", "alice renamed column Doing to In progress"]);
}

#[tokio::test]
async fn pages_of_activity_go_back_in_time_without_overlap() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (b, _) = alice.board("Busy").await;
    for n in 0..5 {
        alice.card(b, json!({"title": format!("card {n}")})).await;
    }
    let everything = activity(&alice, b, "").await;
    let all: Vec<i64> = everything["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(everything["next_before"].is_null());

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = activity(&alice, b, &query).await;
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 2);
        seen.extend(entries.iter().map(|e| e["seq"].as_i64().unwrap()));
        match page["next_before"].as_i64() {
            Some(before) => query = format!("?limit=2&before={before}"),
            None => break,
        }
    }
    assert_eq!(seen, all, "every entry once, newest first");
    assert!(seen.windows(2).all(|w| w[0] > w[1]));
    // The HTML page pages the same way, with an "Older" link.
    let (_, first) = html(&alice, &format!("/boards/{b}/activity?limit=2")).await;
    assert!(first.contains(&format!("/boards/{b}/activity?before={}", all[1])), "{first}");
}

#[tokio::test]
async fn a_before_that_is_not_a_number_is_a_400_json_error_and_nothing_is_written() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (b, _) = alice.board("Work").await;
    let seq = app.seq();

    let (s, err) = alice.get_json(&format!("/api/boards/{b}/activity?before=abc")).await;
    assert_eq!(s, 400, "{err}");
    assert_eq!(err["error"]["code"], "BAD_REQUEST");
    assert!(err["error"]["message"].as_str().unwrap().contains("before"), "{err}");
    let (s, err) = alice.get_json(&format!("/api/boards/{b}/activity?limit=ten")).await;
    assert_eq!((s, &err["error"]["code"]), (400, &json!("BAD_REQUEST")));
    let (s, page) = html(&alice, &format!("/boards/{b}/activity?before=abc")).await;
    assert_eq!(s, 400);
    assert!(page.contains("before"), "{page}");
    assert_eq!(app.seq(), seq, "no event was written");
}

#[tokio::test]
async fn a_non_member_gets_404_from_the_activity_page_and_the_api() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let mallory = app.signup("mallory").await;
    let (b, _) = alice.board("Private").await;
    let card = id(&alice.card(b, json!({"title": "secret"})).await);

    assert_eq!(mallory.get_json(&format!("/api/boards/{b}/activity")).await.0, 404);
    assert_eq!(html(&mallory, &format!("/boards/{b}/activity")).await.0, 404);
    assert_eq!(html(&mallory, &format!("/cards/{card}")).await.0, 404);
    assert_eq!(mallory.get_json("/api/boards/999999/activity").await.0, 404);
}

#[tokio::test]
async fn a_board_page_socket_receives_the_new_activity_entry_live() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, cols) = alice.board("Team").await;
    alice.add_member(b, "bob").await;
    let card = id(&alice.card(b, json!({"title": "Fix login"})).await);
    let mut watching = bob.live(b, "").await;

    move_card(&alice, card, cols[2]).await;

    let entry = watching.next_entry().await;
    assert_eq!((entry.action.as_str(), entry.parent.as_deref()), ("upsert", Some("activity")));
    assert_eq!(entry.target, format!("activity-{}", app.seq()));
    assert!(entry.html.contains("alice moved “Fix login” from Todo to Done"), "{}", entry.html);
    assert!(entry.html.contains("datetime="), "{}", entry.html);
    // It names its card, for the page to copy into that card's history when its editor is open:
    // the server sends each entry once, not once per list it may show in.
    assert!(entry.html.contains(&format!("data-card=\"{card}\"")), "{}", entry.html);
    // And the board's own change came in the same frame, as before, with no second entry.
    assert!(watching.next().await.is_card_upsert(card, cols[2]));
}

#[tokio::test]
async fn a_json_client_gets_the_summary_in_its_record_events() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (b, _) = alice.board("Work").await;
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe(&mut ws, "cards.*").await;

    alice.card(b, json!({"title": "Write docs"})).await;

    let ev = record_events(&mut ws, 1).await.remove(0);
    assert_eq!(ev["summary"], "alice created card “Write docs” in Todo", "{ev}");
}

#[tokio::test]
async fn a_cards_history_shows_its_comments_and_moves_and_nothing_of_other_cards() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (b, cols) = alice.board("Work").await;
    let card = id(&alice.card(b, json!({"title": "Fix login"})).await);
    let other = id(&alice.card(b, json!({"title": "Other"})).await);
    let (s, c) = alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "on it"})).await;
    assert_eq!(s, 201, "{c}");
    move_card(&alice, card, cols[1]).await;
    move_card(&alice, other, cols[2]).await;

    let (s, editor) = html(&alice, &format!("/cards/{card}")).await;
    assert_eq!(s, 200);
    let history = &editor[editor.find(&format!("id=\"card-{card}-history\"")).expect("a history list")..];
    let moved = history.find("alice moved “Fix login” from Todo to Doing").expect("the move");
    let commented = history.find("alice commented on “Fix login”").expect("the comment");
    assert!(moved < commented && history.contains("alice created card “Fix login”"), "{history}");
    assert!(!history.contains("Other"), "{history}");
}

#[tokio::test]
async fn a_deleted_card_is_one_entry_and_so_is_its_undo_not_one_per_item_or_comment() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (b, _) = alice.board("Work").await;
    let card = id(&alice.card(b, json!({"title": "Groceries"})).await);
    for text in ["Milk", "Eggs"] {
        let (s, i) = alice.post_json(&format!("/api/cards/{card}/checklist"), json!({"text": text})).await;
        assert_eq!(s, 201, "{i}");
    }
    let (s, c) = alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "Oat milk"})).await;
    assert_eq!(s, 201, "{c}");
    let mut watching = alice.live(b, "").await;

    let deleted = alice.http.delete(alice.url(&format!("/api/cards/{card}"))).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    let seq = deleted.headers()["liveboard-undo"].to_str().unwrap().to_owned();

    let entry = watching.next_entry().await;
    assert!(entry.html.contains("alice deleted card “Groceries” from Todo"), "{}", entry.html);
    let all = summaries(&activity(&alice, b, "").await);
    assert_eq!(all[0], "alice deleted card “Groceries” from Todo");
    assert_eq!(all[1], "alice commented on “Groceries”", "no entry per removed item or comment: {all:?}");

    let (s, undone) = alice.post_json(&format!("/api/events/{seq}/undo"), json!({})).await;
    assert_eq!(s, 200, "{undone}");
    let entry = watching.next_entry().await;
    assert!(entry.html.contains("alice restored card “Groceries” to Todo"), "{}", entry.html);
    let all = summaries(&activity(&alice, b, "").await);
    assert_eq!(all[0], "alice restored card “Groceries” to Todo");
    assert_eq!(all[1], "alice deleted card “Groceries” from Todo", "no entry per item or comment back: {all:?}");
}

/// Alice's board with Bob as a member and three cards: (board, columns, [a, b, c]).
async fn team(app: &TestApp) -> (User, User, i64, Vec<i64>, Vec<i64>) {
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (b, cols) = alice.board("Team").await;
    alice.add_member(b, "bob").await;
    let mut cards = Vec::new();
    for t in ["Alpha", "Beta", "Gamma"] {
        cards.push(id(&alice.card(b, json!({"title": t})).await));
    }
    (alice, bob, b, cols, cards)
}

#[tokio::test]
async fn a_first_visit_of_a_board_shows_no_since_line() {
    let app = spawn_app().await;
    let (_alice, bob, b, _, _) = team(&app).await;

    let (s, page) = html(&bob, &format!("/boards/{b}")).await;
    assert_eq!(s, 200);
    assert!(!page.contains("since your last visit"), "{page}");
    assert!(!page.contains("card changed"));
}

#[tokio::test]
async fn since_your_last_visit_counts_others_changes_not_mine_and_marks_the_changed_cards() {
    let app = spawn_app().await;
    let (alice, bob, b, cols, cards) = team(&app).await;
    let (_, first) = html(&alice, &format!("/boards/{b}")).await;
    assert!(!first.contains("since your last visit"));
    let seen = attr_values(&first, "data-seq")[0].parse::<i64>().unwrap();

    move_card(&bob, cards[0], cols[1]).await;
    let (s, _) = bob.post_json(&format!("/api/cards/{}/comments", cards[1]), json!({"body": "hello"})).await;
    assert_eq!(s, 201);
    move_card(&alice, cards[2], cols[2]).await;

    let (_, back) = html(&alice, &format!("/boards/{b}")).await;
    assert!(
        back.contains(&format!("href=\"/boards/{b}/activity?since={seen}\">2 changes since your last visit")),
        "{back}"
    );
    for (card, changed) in [(cards[0], true), (cards[1], true), (cards[2], false)] {
        assert_eq!(back.contains(&format!("class=\"card changed\" id=\"card-{card}\"")), changed, "card {card}");
    }
    assert!(back.contains("(changed since your last visit)</span>"), "a mark screen readers announce");
    // The link shows just those changes (and Alice's own, which were not news to her).
    let (_, since) = html(&alice, &format!("/boards/{b}/activity?since={seen}")).await;
    assert!(since.contains("bob moved “Alpha” from Todo to Doing") && since.contains("bob commented on “Beta”"));
    assert!(!since.contains("created card"), "nothing from before the visit: {since}");
    let (s, json) = alice.get_json(&format!("/api/boards/{b}/activity?since={seen}")).await;
    assert_eq!((s, json["entries"].as_array().unwrap().len()), (200, 3));
    // Seen now: the next visit has nothing new.
    let (_, again) = html(&alice, &format!("/boards/{b}")).await;
    assert!(!again.contains("since your last visit"), "{again}");
}

#[tokio::test]
async fn what_a_live_page_showed_is_not_news_at_the_next_visit() {
    let app = spawn_app().await;
    let (alice, bob, b, cols, cards) = team(&app).await;
    let mut watching = alice.live(b, "").await;

    move_card(&bob, cards[0], cols[1]).await;
    assert!(watching.next_entry().await.html.contains("bob moved"));
    watching.close().await;

    let moved = app.seq();
    eventually("the closed page's visit is remembered", || async {
        let (_, visit) = alice.get_json(&format!("/api/boards/{b}/visit")).await;
        visit["last_seen_seq"].as_i64() >= Some(moved)
    })
    .await;
    let (_, visit) = alice.get_json(&format!("/api/boards/{b}/visit")).await;
    assert_eq!(visit["changes"], 0, "{visit}");
    let (_, page) = html(&alice, &format!("/boards/{b}")).await;
    assert!(!page.contains("since your last visit"), "{page}");
}

#[tokio::test]
async fn a_json_client_reads_what_changed_since_the_last_visit_without_making_one() {
    let app = spawn_app().await;
    let (alice, bob, b, cols, cards) = team(&app).await;
    assert_eq!(alice.get_json(&format!("/api/boards/{b}/visit")).await, (200, Value::Null));
    let (seq, _) = alice.page_position(b, "").await;

    move_card(&bob, cards[1], cols[2]).await;

    for _ in 0..2 {
        let (s, visit) = alice.get_json(&format!("/api/boards/{b}/visit")).await;
        assert_eq!(s, 200);
        assert_eq!(visit, json!({"last_seen_seq": seq, "changes": 1, "cards": [cards[1]]}));
    }
    let mallory = app.signup("mallory").await;
    assert_eq!(mallory.get_json(&format!("/api/boards/{b}/visit")).await.0, 404);
}

#[tokio::test]
async fn an_entry_written_on_the_writer_reaches_a_board_page_and_a_json_client_on_an_edge() {
    use crate::cluster_support::{Cluster, signup_at};
    let c = Cluster::start().await;
    let alice = signup_at(&c.a, "alice").await;
    let bob = signup_at(&c.b, "bob").await;
    let (b, cols) = alice.board("Team").await;
    alice.add_member(b, "bob").await;
    let card = id(&alice.card(b, json!({"title": "shared"})).await);
    let mut page = bob.live(b, "").await;
    let (mut ws, _) = realtime(&bob, "").await;
    subscribe(&mut ws, "cards.*").await;

    move_card(&alice, card, cols[1]).await;

    let entry = page.next_entry().await;
    assert!(entry.html.contains("alice moved “shared” from Todo to Doing"), "{}", entry.html);
    let ev = record_events(&mut ws, 1).await.remove(0);
    assert_eq!(ev["summary"], "alice moved “shared” from Todo to Doing");
    assert_eq!(summaries(&activity(&bob, b, "").await)[0], "alice moved “shared” from Todo to Doing");
}
