//! Checklist items on cards end to end: the forms and the JSON API write through the repository,
//! each change's event reaches JSON subscribers of `checklist_items` (live and replayed) and board
//! pages (the item into the editor's list, the card's "done/total"), and only members see any of it.
//!
//! handler → repository → event source → hub → renderer → socket, all real.

use serde_json::{Value, json};

use crate::support::*;

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from events").fetch_one(&app.state.db.read).await.unwrap()
}

/// Alice's board with one card; returns (board, card).
async fn board_with_card(alice: &User) -> (i64, i64) {
    let (board, _) = alice.board("Launch").await;
    let card = alice.card(board, json!({"title": "Pack"})).await;
    (board, id(&card))
}

async fn add(user: &User, card: i64, text: &str) -> Value {
    let (s, item) = user.post_json(&format!("/api/cards/{card}/checklist"), json!({"text": text})).await;
    assert_eq!(s, 201, "{item}");
    item
}

async fn patch(user: &User, item: i64, body: Value) -> Value {
    let (s, v) = user.patch_json(&format!("/api/checklist/{item}"), body).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// The card's checklist texts in order, with a tick for done ones.
async fn listed(user: &User, card: i64) -> Vec<String> {
    let (s, items) = user.get_json(&format!("/api/cards/{card}/checklist")).await;
    assert_eq!(s, 200, "{items}");
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{}{}", if i["done"] == true { "x " } else { "" }, i["text"].as_str().unwrap()))
        .collect()
}

async fn counts(user: &User, card: i64) -> (i64, i64) {
    let (_, c) = user.get_json(&format!("/api/cards/{card}")).await;
    (c["checklist_done"].as_i64().unwrap(), c["checklist_total"].as_i64().unwrap())
}

fn location(res: &reqwest::Response) -> &str {
    res.headers().get("location").map(|l| l.to_str().unwrap()).unwrap_or("")
}

#[tokio::test]
async fn a_member_adds_ticks_unticks_reorders_and_deletes_items_with_plain_forms() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (board, card) = board_with_card(&alice).await;
    let back = format!("/cards/{card}");

    for text in ["tent", "stove", "map"] {
        let res = alice.form(&format!("/cards/{card}/checklist"), &[("text", text)]).await;
        assert_eq!((res.status().as_u16(), location(&res)), (303, back.as_str()));
    }
    let (_, items) = alice.get_json(&format!("/api/cards/{card}/checklist")).await;
    let ids: Vec<i64> = items.as_array().unwrap().iter().map(id).collect();
    let res = alice.form(&format!("/checklist/{}", ids[0]), &[("done", "1")]).await;
    assert_eq!((res.status().as_u16(), location(&res)), (303, back.as_str()));
    alice.form(&format!("/checklist/{}", ids[1]), &[("done", "1")]).await;
    alice.form(&format!("/checklist/{}", ids[1]), &[("done", "0")]).await;
    let res = alice.form(&format!("/checklist/{}/move", ids[2]), &[("direction", "up")]).await;
    assert_eq!((res.status().as_u16(), location(&res)), (303, back.as_str()));
    alice.form(&format!("/checklist/{}/move", ids[0]), &[("direction", "down")]).await;

    assert_eq!(listed(&alice, card).await, ["map", "x tent", "stove"]);
    let page = alice.get(&back).await.text().await.unwrap();
    assert!(page.contains(&format!("id=\"checklist-item-{}\"", ids[2])), "the editor page lists the items");
    assert!(page.contains("Untick tent") && page.contains("Tick stove"), "ticked and unticked: {page}");

    let res = alice.form(&format!("/checklist/{}/delete", ids[1]), &[]).await;
    assert_eq!((res.status().as_u16(), location(&res)), (303, back.as_str()));
    assert_eq!(listed(&alice, card).await, ["map", "x tent"]);
    let board_page = alice.get(&format!("/boards/{board}")).await.text().await.unwrap();
    assert!(board_page.contains("☑ 1/2"), "the card on the board shows done/total");
}

#[tokio::test]
async fn the_json_api_adds_ticks_unticks_edits_moves_and_deletes_items() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (_, card) = board_with_card(&alice).await;

    let a = add(&alice, card, "  tent  ").await;
    assert_eq!(
        (a["text"].clone(), a["done"].clone(), a["card_id"].clone(), a["version"].clone()),
        (json!("tent"), json!(false), json!(card), json!(1))
    );
    let b = add(&alice, card, "stove").await;
    let c = add(&alice, card, "map").await;
    assert_eq!(counts(&alice, card).await, (0, 3));

    let ticked = patch(&alice, id(&a), json!({"done": true})).await;
    assert_eq!((ticked["done"].clone(), ticked["version"].clone()), (json!(true), json!(2)));
    assert_eq!(counts(&alice, card).await, (1, 3));
    patch(&alice, id(&b), json!({"done": true})).await;
    patch(&alice, id(&b), json!({"done": false, "text": "gas stove", "version": 2})).await;
    patch(&alice, id(&c), json!({"move": "first"})).await;
    patch(&alice, id(&a), json!({"move": "down"})).await;
    assert_eq!(listed(&alice, card).await, ["map", "gas stove", "x tent"]);

    assert_eq!(alice.delete(&format!("/api/checklist/{}?version=2", id(&c))).await, 204);
    assert_eq!(listed(&alice, card).await, ["gas stove", "x tent"]);
    assert_eq!(counts(&alice, card).await, (1, 2));
    let (_, card_now) = alice.get_json(&format!("/api/cards/{card}")).await;
    assert_eq!(card_now["version"], 1, "a checklist change is not an edit of the card: no conflict with its editor");
}

#[tokio::test]
async fn setting_an_item_to_the_state_it_has_writes_nothing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (_, card) = board_with_card(&alice).await;
    let a = add(&alice, card, "tent").await;
    let before = event_count(&app).await;

    let same = patch(&alice, id(&a), json!({"done": false, "move": "up"})).await;
    alice.form(&format!("/checklist/{}", id(&a)), &[("done", "0")]).await;

    assert_eq!(same["version"], 1);
    assert_eq!(event_count(&app).await, before);
}

#[tokio::test]
async fn a_second_members_socket_on_checklist_items_gets_each_change_in_seq_order_and_a_replay() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, card) = board_with_card(&alice).await;
    alice.add_member(board, "bob").await;
    let since = app.seq();
    let (mut ws, _) = realtime(&bob, "").await;
    subscribe(&mut ws, "checklist_items.*").await;

    let a = add(&alice, card, "tent").await;
    let b = add(&alice, card, "stove").await;
    patch(&alice, id(&a), json!({"done": true})).await;
    patch(&alice, id(&a), json!({"done": false})).await;
    patch(&alice, id(&b), json!({"move": "up"})).await;
    alice.delete(&format!("/api/checklist/{}", id(&a))).await;

    let got = record_events(&mut ws, 6).await;
    let seen: Vec<(&str, &str, i64, Value)> = got
        .iter()
        .map(|e| {
            (
                e["collection"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["record"]["id"].as_i64().unwrap(),
                e["record"]["done"].clone(),
            )
        })
        .collect();
    let (a, b) = (id(&a), id(&b));
    assert_eq!(
        seen,
        [
            ("checklist_items", "create", a, json!(false)),
            ("checklist_items", "create", b, json!(false)),
            ("checklist_items", "update", a, json!(true)),
            ("checklist_items", "update", a, json!(false)),
            ("checklist_items", "update", b, json!(false)),
            ("checklist_items", "delete", a, Value::Null),
        ]
    );
    let s = seqs(&got);
    assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");

    // A client that was away gets the same changes replayed from the seq it had.
    let (mut late, _) = realtime(&bob, &format!("?since={since}")).await;
    subscribe(&mut late, &format!("checklist_items.{b}")).await;
    let replayed = record_events(&mut late, 2).await;
    let actions: Vec<&str> = replayed.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "update"], "only item {b}'s events, in order");
    assert_eq!(seqs(&replayed), [s[1], s[4]]);
    assert!(replayed.iter().all(|e| e["record"]["id"] == b), "{replayed:?}");
}

#[tokio::test]
async fn a_board_page_gets_the_item_fragment_and_the_cards_new_count() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let (board, card) = board_with_card(&alice).await;
    alice.add_member(board, "bob").await;
    let mut live = bob.live(board, "").await;

    let item = add(&alice, card, "tent").await;
    let item = id(&item);
    let target = format!("checklist-item-{item}");
    let list = format!("card-{card}-checklist");
    let (s, _) = live.until(|s| s.target == target).await;
    assert_eq!((s.action.as_str(), s.parent.as_deref()), ("upsert", Some(list.as_str())));
    assert!(s.html.contains("tent") && s.html.contains("Tick tent"), "{}", s.html);
    let (s, _) = live.until(|s| s.is_card(card)).await;
    assert_eq!(s.action, "upsert");
    assert!(s.html.contains("☑ 0/1"), "{}", s.html);

    alice.form(&format!("/checklist/{item}"), &[("done", "1")]).await;
    let (s, _) = live.until(|s| s.target == target).await;
    assert!(s.html.contains("Untick tent"), "{}", s.html);
    let (s, _) = live.until(|s| s.is_card(card)).await;
    assert!(s.html.contains("☑ 1/1"), "{}", s.html);

    alice.form(&format!("/checklist/{item}/delete"), &[]).await;
    let (s, _) = live.until(|s| s.target == target).await;
    assert_eq!(s.action, "remove");
    let (s, _) = live.until(|s| s.is_card(card)).await;
    assert!(!s.html.contains("checklist-count"), "no count on a card without a checklist: {}", s.html);
}

#[tokio::test]
async fn deleting_a_card_records_a_delete_for_each_of_its_items_before_the_cards_own() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (_, card) = board_with_card(&alice).await;
    let a = id(&add(&alice, card, "tent").await);
    let b = id(&add(&alice, card, "stove").await);
    let (mut ws, _) = realtime(&alice, "").await;
    subscribe_all(&mut ws, &["checklist_items.*".into(), "cards.*".into()]).await.unwrap();

    assert_eq!(alice.delete(&format!("/api/cards/{card}")).await, 204);

    let got = record_events(&mut ws, 3).await;
    let seen: Vec<(&str, &str, i64)> = got
        .iter()
        .map(|e| {
            (e["collection"].as_str().unwrap(), e["action"].as_str().unwrap(), e["record"]["id"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(seen, [("checklist_items", "delete", a), ("checklist_items", "delete", b), ("cards", "delete", card)]);
    assert_eq!(alice.get_json(&format!("/api/cards/{card}/checklist")).await.0, 404);
}

#[tokio::test]
async fn a_non_member_is_refused_everywhere_and_receives_nothing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let mallory = app.signup("mallory").await;
    let (board, card) = board_with_card(&alice).await;
    let item = id(&add(&alice, card, "tent").await);
    let (mut ws, hello) = realtime(&mallory, "").await;
    subscribe(&mut ws, "checklist_items.*").await;
    let before = event_count(&app).await;

    let refusals = [
        mallory.get_json(&format!("/api/cards/{card}/checklist")).await,
        mallory.post_json(&format!("/api/cards/{card}/checklist"), json!({"text": "mine"})).await,
        mallory.patch_json(&format!("/api/checklist/{item}"), json!({"done": true})).await,
    ];
    for (status, body) in &refusals {
        assert_eq!((*status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{body}");
    }
    assert_eq!(mallory.delete(&format!("/api/checklist/{item}")).await, 404);
    assert_eq!(mallory.form(&format!("/cards/{card}/checklist"), &[("text", "mine")]).await.status(), 404);
    assert_eq!(mallory.form(&format!("/checklist/{item}"), &[("done", "1")]).await.status(), 404);
    assert_eq!(mallory.form(&format!("/checklist/{item}/move"), &[("direction", "up")]).await.status(), 404);
    assert_eq!(mallory.form(&format!("/checklist/{item}/delete"), &[]).await.status(), 404);
    assert_eq!(mallory.form(&format!("/cards/{card}/checklist"), &[("text", "")]).await.status(), 404);
    assert_eq!(event_count(&app).await, before, "no refused request wrote anything");

    patch(&alice, item, json!({"done": true})).await;
    add(&alice, card, "stove").await;
    let leaked = app.hub_barrier(&mut ws, hello["connection_id"].as_str().unwrap()).await;
    assert!(leaked.is_empty(), "a non-member got {leaked:?}");
    send(&mut ws, json!({"type": "subscribe", "pattern": format!("checklist_items.{item}")})).await;
    assert_eq!(next_error_code(&mut ws).await, "FORBIDDEN");
    assert_eq!(mallory.try_ws(&format!("/boards/{board}/live"), None).await.err(), Some(404));
    assert!(barrier(&mut ws).await.is_empty(), "nothing more reached the non-member");
}

#[tokio::test]
async fn bad_input_answers_a_clear_error_and_writes_nothing() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let (_, card) = board_with_card(&alice).await;
    let item = id(&add(&alice, card, "tent").await);
    let before = event_count(&app).await;
    let long = "x".repeat(201);

    let cases = [
        (alice.post_json(&format!("/api/cards/{card}/checklist"), json!({"text": "   "})).await, 400, "VALIDATION"),
        (alice.post_json(&format!("/api/cards/{card}/checklist"), json!({"text": long})).await, 400, "VALIDATION"),
        (alice.post_json(&format!("/api/cards/{card}/checklist"), json!({"txt": "typo"})).await, 400, "BAD_REQUEST"),
        (alice.post_json("/api/cards/999999/checklist", json!({"text": "ok"})).await, 404, "NOT_FOUND"),
        (alice.patch_json("/api/checklist/999999", json!({"done": true})).await, 404, "NOT_FOUND"),
        (alice.patch_json(&format!("/api/checklist/{item}"), json!({"text": ""})).await, 400, "VALIDATION"),
        (alice.patch_json(&format!("/api/checklist/{item}"), json!({"move": "sideways"})).await, 400, "VALIDATION"),
        (alice.patch_json(&format!("/api/checklist/{item}"), json!({"done": "yes"})).await, 400, "BAD_REQUEST"),
        (
            alice.patch_json(&format!("/api/checklist/{item}"), json!({"done": true, "version": 7})).await,
            409,
            "CONFLICT",
        ),
    ];
    for ((status, body), want_status, want_code) in &cases {
        assert_eq!((*status, body["error"]["code"].as_str()), (*want_status, Some(*want_code)), "{body}");
        assert!(!body["error"]["message"].as_str().unwrap_or("").is_empty(), "{body}");
    }
    assert_eq!(cases[0].0.1["error"]["field"], "text");
    assert_eq!(cases[1].0.1["error"]["message"], "Checklist item is too long (at most 200 characters)");
    assert_eq!(alice.delete("/api/checklist/999999").await, 404);
    assert_eq!(alice.delete(&format!("/api/checklist/{item}?version=9")).await, 409);

    // A refused form shows the editor again, with the message and the text as typed.
    let res = alice.form(&format!("/cards/{card}/checklist"), &[("text", &long)]).await;
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("Checklist item is too long"), "{page}");
    assert!(page.contains(&format!("value=\"{long}\"")), "the typed text is kept");
    let res = alice.form(&format!("/cards/{card}/checklist"), &[("text", "  ")]).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("be empty"), "empty text is explained");
    assert_eq!(alice.form("/checklist/999999", &[("done", "1")]).await.status(), 404);
    assert_eq!(alice.form(&format!("/checklist/{item}/move"), &[("direction", "sideways")]).await.status(), 400);

    assert_eq!(event_count(&app).await, before, "no refused request wrote an event");
    assert_eq!(listed(&alice, card).await, ["tent"]);
}
