//! The live board socket (`/boards/{id}/live`) end to end: what each view is sent when cards enter,
//! change in and leave it, resume and reset, structure changes, authorization, convergence under
//! concurrent moves, shared renders, revocation and back-pressure.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use crate::support::*;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::{Value, json};

/// A board with its three columns.
struct Board {
    id: i64,
    todo: i64,
    doing: i64,
    done: i64,
}

async fn board(owner: &User, name: &str) -> Board {
    let (id, cols) = owner.board(name).await;
    Board { id, todo: cols[0], doing: cols[1], done: cols[2] }
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

async fn patch_card(user: &User, card: i64, body: Value) -> Value {
    let (s, c) = user.patch_json(&format!("/api/cards/{card}"), body).await;
    assert_eq!(s, 200, "{c}");
    c
}

/// Only the actions about card elements (not presence, activity, columns...).
fn card_actions(streams: &[Stream]) -> Vec<&Stream> {
    streams.iter().filter(|s| s.card_id().is_some()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_falls_between_rendering_the_page_and_subscribing_from_its_seq() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Roadmap").await;
    alice.card(b.id, json!({"title": "before the page"})).await;

    let (seq, epoch) = alice.page_position(b.id, "").await;
    // Cards keep being created while the socket connects and registers.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, http, base) = (stop.clone(), alice.http.clone(), alice.base.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0.. {
                let res = http
                    .post(format!("{base}/api/boards/{}/cards", b.id))
                    .json(&json!({"title": format!("racing {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                ids.push(id(&res.json::<Value>().await.unwrap()));
                if stop.load(Ordering::Relaxed) && n >= 3 {
                    break;
                }
            }
            ids
        })
    };
    let mut live = alice.live_from(b.id, seq, &epoch, "").await;
    stop.store(true, Ordering::Relaxed);
    let created = writer.await.unwrap();
    let marker = id(&alice.card(b.id, json!({"title": "marker"})).await);

    let (_, before) = live.until(|s| s.is_card(marker)).await;
    let upserted: Vec<i64> = card_actions(&before)
        .iter()
        .map(|s| {
            assert_eq!(s.action, "upsert", "{s:?}");
            s.card_id().unwrap()
        })
        .collect();
    assert_eq!(upserted, created, "every card created after the render arrives once, in order");
}

/// Drives one card through a filtered view: created outside it (nothing sent), enters (upsert into
/// its column), changes and stays (upsert), leaves (remove); later changes to it are not sent.
async fn a_card_enters_changes_in_and_leaves(
    query: &str,
    outside: impl Fn(&Board) -> Value,
    enter: impl Fn(&Board) -> Value,
    stay: impl Fn(&Board) -> Value,
    leave: impl Fn(&Board) -> Value,
    inside: impl Fn(&Board) -> Value,
) {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let b = board(&alice, "Filtered").await;
    alice.add_member(b.id, "bob").await;
    let mut live = alice.live(b.id, query).await;

    let x = alice.card(b.id, outside(&b)).await;
    let x = id(&x);

    let entered = patch_card(&alice, x, enter(&b)).await;
    let (s, before) = live.until(|s| s.card_id().is_some()).await;
    assert!(card_actions(&before).is_empty(), "{before:?}");
    let col = entered["column_id"].as_i64().unwrap();
    assert!(s.is_card_upsert(x, col), "[{query}] entering: {s:?}");
    assert_eq!(attr_values(&s.html, "data-version"), [entered["version"].to_string()]);

    let stayed = patch_card(&alice, x, stay(&b)).await;
    let s2 = live.next().await;
    let col = stayed["column_id"].as_i64().unwrap();
    assert!(s2.is_card_upsert(x, col), "[{query}] changing inside: {s2:?}");
    assert_eq!(attr_values(&s2.html, "data-version"), [stayed["version"].to_string()]);
    assert!(s2.seq > s.seq);

    patch_card(&alice, x, leave(&b)).await;
    let s3 = live.next().await;
    assert!(s3.is_card_remove(x), "[{query}] leaving: {s3:?}");

    // Out of the view again: its changes are not sent. A card created in the view still is.
    patch_card(&alice, x, json!({"description": "edited while out of view"})).await;
    let y = alice.card(b.id, inside(&b)).await;
    let s4 = live.next().await;
    assert!(s4.is_card_upsert(id(&y), y["column_id"].as_i64().unwrap()), "[{query}] {s4:?}");
}

#[tokio::test]
async fn hide_done_upserts_cards_leaving_done_and_removes_cards_moved_into_done() {
    a_card_enters_changes_in_and_leaves(
        "hide_done=1",
        |b| json!({"title": "A", "column_id": b.done}),
        |b| json!({"column_id": b.doing}),
        |b| json!({"column_id": b.todo}),
        |b| json!({"column_id": b.done}),
        |_| json!({"title": "B"}),
    )
    .await;
}

#[tokio::test]
async fn assignee_me_follows_cards_assigned_to_the_viewer() {
    a_card_enters_changes_in_and_leaves(
        "assignee=me",
        |_| json!({"title": "A"}),
        |_| json!({"assignee": "alice"}),
        |_| json!({"title": "A, renamed"}),
        |_| json!({"assignee": null}),
        |_| json!({"title": "B", "assignee": "alice"}),
    )
    .await;
}

#[tokio::test]
async fn assignee_none_follows_unassigned_cards() {
    a_card_enters_changes_in_and_leaves(
        "assignee=none",
        |_| json!({"title": "A", "assignee": "bob"}),
        |_| json!({"assignee": null}),
        |_| json!({"labels": ["later"]}),
        |_| json!({"assignee": "alice"}),
        |_| json!({"title": "B"}),
    )
    .await;
}

#[tokio::test]
async fn assignee_by_username_follows_that_members_cards() {
    a_card_enters_changes_in_and_leaves(
        "assignee=bob",
        |_| json!({"title": "A"}),
        |_| json!({"assignee": "bob"}),
        |b| json!({"column_id": b.done}),
        |_| json!({"assignee": "alice"}),
        |_| json!({"title": "B", "assignee": "bob"}),
    )
    .await;
}

#[tokio::test]
async fn a_label_view_follows_cards_with_that_label_in_any_case() {
    a_card_enters_changes_in_and_leaves(
        "label=bug",
        |_| json!({"title": "A"}),
        |_| json!({"labels": ["Bug"]}),
        |_| json!({"title": "A, renamed"}),
        |_| json!({"labels": ["feature"]}),
        |_| json!({"title": "B", "labels": ["ui", "BUG"]}),
    )
    .await;
}

#[tokio::test]
async fn a_search_view_follows_cards_whose_title_or_description_matches() {
    a_card_enters_changes_in_and_leaves(
        "q=login",
        |_| json!({"title": "Signup form"}),
        |_| json!({"title": "Login form"}),
        |_| json!({"description": "remember me"}),
        |_| json!({"title": "Sign-in form"}),
        |_| json!({"title": "B", "description": "fix the LOGIN redirect"}),
    )
    .await;
}

#[tokio::test]
async fn a_card_moved_across_columns_is_upserted_into_the_new_columns_list() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Moves").await;
    let first = id(&alice.card(b.id, json!({"title": "first", "column_id": b.doing})).await);
    let x = id(&alice.card(b.id, json!({"title": "mover"})).await);
    let mut live = alice.live(b.id, "").await;

    let moved = patch_card(&alice, x, json!({"column_id": b.doing, "before_id": first})).await;
    let s = live.next().await;
    assert!(s.is_card_upsert(x, b.doing), "{s:?}");
    assert_eq!(s.rank.as_deref(), moved["rank"].as_str());
    let first_rank = alice.get_json(&format!("/api/cards/{first}")).await.1["rank"].as_str().unwrap().to_owned();
    assert!(s.rank.as_deref().unwrap() < first_rank.as_str(), "placed before its neighbour");
}

#[tokio::test]
async fn a_change_on_another_board_never_arrives() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let mine = board(&alice, "Mine").await;
    let other = board(&alice, "Other").await;
    let mut live = alice.live(mine.id, "").await;

    let c = id(&alice.card(other.id, json!({"title": "elsewhere"})).await);
    patch_card(&alice, c, json!({"column_id": other.done})).await;
    alice.patch_json(&format!("/api/boards/{}", other.id), json!({"name": "Other, renamed"})).await;
    alice.post_json(&format!("/api/boards/{}/columns", other.id), json!({"name": "Extra"})).await;
    alice.post_json(&format!("/api/cards/{c}/comments"), json!({"body": "hi"})).await;

    let here = id(&alice.card(mine.id, json!({"title": "here"})).await);
    let (s, before) = live.until(|s| s.card_id().is_some()).await;
    assert!(s.is_card_upsert(here, mine.todo), "{s:?}");
    assert!(before.is_empty(), "only this board's changes arrive: {before:?}");
}

#[tokio::test]
async fn only_signed_in_members_from_an_allowed_origin_can_open_the_socket() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let b = board(&alice, "Private").await;
    let path = format!("/boards/{}/live", b.id);

    assert_eq!(bob.try_ws(&path, None).await.err(), Some(404), "a non-member is refused before the upgrade");
    assert_eq!(app.anonymous().try_ws(&path, None).await.err(), Some(401), "an anonymous visitor must sign in");
    assert_eq!(
        alice.try_ws(&path, Some("https://evil.example")).await.err(),
        Some(403),
        "a cross-site page cannot ride alice's cookie"
    );
    let own = alice.base.clone();
    assert!(alice.try_ws(&path, Some(&own)).await.is_ok(), "the app's own origin is allowed");
}

#[tokio::test]
async fn resuming_from_an_older_seq_replays_exactly_what_the_view_missed_in_order() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Resume").await;
    let old = id(&alice.card(b.id, json!({"title": "already seen"})).await);
    let (since, epoch) = alice.page_position(b.id, "hide_done=1").await;

    // Missed while offline:
    let c1 = id(&alice.card(b.id, json!({"title": "c1"})).await);
    let c2 = id(&alice.card(b.id, json!({"title": "c2 (done)", "column_id": b.done})).await);
    patch_card(&alice, old, json!({"column_id": b.doing})).await;
    patch_card(&alice, c1, json!({"column_id": b.done})).await;
    let c3 = id(&alice.card(b.id, json!({"title": "c3"})).await);
    patch_card(&alice, c2, json!({"title": "c2, still done"})).await;

    let mut live = alice.live_from(b.id, since, &epoch, "hide_done=1").await;
    let after = id(&alice.card(b.id, json!({"title": "live again"})).await);
    let (_, replayed) = live.until(|s| s.is_card(after)).await;
    let got: Vec<(String, i64, Option<i64>)> =
        card_actions(&replayed).iter().map(|s| (s.action.clone(), s.card_id().unwrap(), s.column())).collect();
    let up = |c, col| ("upsert".to_owned(), c, Some(col));
    assert_eq!(
        got,
        [up(c1, b.todo), up(old, b.doing), ("remove".to_owned(), c1, None), up(c3, b.todo)],
        "c2 never entered this view; nothing from before `since`"
    );
    let seqs: Vec<i64> = replayed.iter().filter_map(|s| s.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs.iter().all(|s| *s > since), "{seqs:?}");
}

#[tokio::test]
async fn a_since_older_than_the_retention_gets_a_reset_with_the_whole_board() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Pruned").await;
    let (since, epoch) = alice.page_position(b.id, "").await;
    let c1 = id(&alice.card(b.id, json!({"title": "kept in the board"})).await);
    let c2 = id(&alice.card(b.id, json!({"title": "in done", "column_id": b.done})).await);
    let deleted = liveboard::repo::events::prune(&app.state.db, 0, Duration::from_secs(3600)).await.unwrap();
    assert!(deleted > 0);

    let mut live = alice.live_from(b.id, since, &epoch, "").await;
    let reset = live.next().await;
    assert_eq!(reset.action, "reset", "{reset:?}");
    assert_whole_board(&reset, &b, &[c1, c2]);
}

#[tokio::test]
async fn a_since_from_another_epoch_gets_a_reset_with_the_whole_board() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Epochs").await;
    let c1 = id(&alice.card(b.id, json!({"title": "one"})).await);
    let (since, _) = alice.page_position(b.id, "").await;

    let mut live = alice.live_from(b.id, since, "some-other-database", "").await;
    let reset = live.next().await;
    assert_eq!(reset.action, "reset", "{reset:?}");
    assert_whole_board(&reset, &b, &[c1]);
}

fn assert_whole_board(reset: &Stream, b: &Board, cards: &[i64]) {
    let ids = attr_values(&reset.html, "id");
    for col in [b.todo, b.doing, b.done] {
        assert!(ids.contains(&format!("column-{col}")), "column {col} in {ids:?}");
    }
    for c in cards {
        assert!(ids.contains(&format!("card-{c}")), "card {c} in {ids:?}");
    }
    assert_eq!(attr_values(&reset.html, "data-board"), [b.id.to_string()]);
}

#[tokio::test]
async fn column_board_and_member_changes_reach_the_board() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    app.signup("bob").await;
    let b = board(&alice, "Structure").await;
    let mut live = alice.live(b.id, "hide_done=1").await;

    let (s, col) = alice.post_json(&format!("/api/boards/{}/columns", b.id), json!({"name": "Review"})).await;
    assert_eq!(s, 201);
    let col = id(&col);
    let f = live.next().await;
    assert_eq!(
        (f.action.as_str(), f.target.clone(), f.parent.as_deref()),
        ("upsert", format!("column-{col}"), Some("columns"))
    );
    assert_eq!(attr_values(&f.html, "id").iter().filter(|i| **i == format!("column-{col}-cards")).count(), 1);

    alice.patch_json(&format!("/api/columns/{col}"), json!({"name": "QA"})).await;
    let (head, _) = live.until(|s| s.target == format!("column-{col}-head")).await;
    assert_eq!(head.action, "replace");
    assert!(head.html.contains("QA"), "{head:?}");

    let card = id(&alice.card(b.id, json!({"title": "in QA", "column_id": col})).await);
    assert!(live.next().await.is_card_upsert(card, col));
    assert_eq!(alice.delete(&format!("/api/columns/{col}")).await, 204);
    assert!(live.next().await.is_card_remove(card));
    let gone = live.next().await;
    assert_eq!((gone.action.as_str(), gone.target.clone()), ("remove", format!("column-{col}")));

    alice.patch_json(&format!("/api/boards/{}", b.id), json!({"name": "Structure v2"})).await;
    let title = live.next().await;
    assert_eq!((title.action.as_str(), title.target.as_str()), ("replace", "board-title"));
    assert!(title.html.contains("Structure v2"));

    alice.add_member(b.id, "bob").await;
    let members = live.next().await;
    assert_eq!((members.action.as_str(), members.target.as_str()), ("replace", "members"));
    assert_eq!(attr_values(&members.html, "data-member"), ["alice", "bob"]);

    assert_eq!(alice.delete(&format!("/api/boards/{}/members/bob", b.id)).await, 204);
    let members = live.next().await;
    assert_eq!(members.target, "members");
    assert_eq!(attr_values(&members.html, "data-member"), ["alice"]);
}

/// Applies card upserts and removes to a model: card → (column, rank).
fn apply(model: &mut HashMap<i64, (i64, String)>, s: &Stream) {
    let Some(card) = s.card_id() else { return };
    match s.action.as_str() {
        "upsert" => {
            model.insert(card, (s.column().expect("an upsert names its column"), s.rank.clone().expect("and a rank")));
        }
        "remove" => {
            model.remove(&card);
        }
        other => panic!("unexpected card action {other}"),
    }
}

/// Column → card ids in rank order (ties by id), as the page would show them.
fn order(model: &HashMap<i64, (i64, String)>) -> HashMap<i64, Vec<i64>> {
    let mut cards: Vec<(&i64, &(i64, String))> = model.iter().collect();
    cards.sort_by(|(a, (_, ra)), (b, (_, rb))| ra.cmp(rb).then(a.cmp(b)));
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, (col, _)) in cards {
        out.entry(*col).or_default().push(*id);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_random_moves_converge_to_the_database_order() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Busy").await;
    let mut movers = vec![];
    for name in ["bob", "carol", "dave"] {
        movers.push(app.signup(name).await);
        alice.add_member(b.id, name).await;
    }
    let mut all = alice.live(b.id, "").await;
    let mut active = alice.live(b.id, "hide_done=1").await;
    for n in 0..12 {
        let col = [b.todo, b.doing, b.done][n % 3];
        alice.card(b.id, json!({"title": format!("card {n}"), "column_id": col})).await;
    }

    let seed: u64 = rand::random();
    eprintln!("random moves seeded with {seed}");
    let tasks: Vec<_> = movers
        .into_iter()
        .enumerate()
        .map(|(i, user)| {
            let cols = [b.todo, b.doing, b.done];
            let board = b.id;
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed + i as u64);
                for _ in 0..15 {
                    let (_, snap) = user.get_json(&format!("/api/boards/{board}")).await;
                    let cards: Vec<(i64, i64)> = snap["cards"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| (id(c), c["column_id"].as_i64().unwrap()))
                        .collect();
                    let (card, _) = *cards.choose(&mut rng).unwrap();
                    let (other, other_col) = *cards.choose(&mut rng).unwrap();
                    let body = match rng.gen_range(0..4) {
                        0 => json!({"column_id": cols.choose(&mut rng), "place": "first"}),
                        1 => json!({"column_id": cols.choose(&mut rng), "place": "last"}),
                        2 => json!({"column_id": other_col, "after_id": other}),
                        _ => json!({"column_id": other_col, "before_id": other}),
                    };
                    let (status, res) = user.patch_json(&format!("/api/cards/{card}"), body).await;
                    // A neighbour that moved meanwhile (or the card itself) is refused cleanly.
                    assert!(status == 200 || status == 400, "{status} {res}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // A last change both views receive: every frame before it has arrived.
    alice.patch_json(&format!("/api/boards/{}", b.id), json!({"name": "Busy, done"})).await;

    let (_, snap) = alice.get_json(&format!("/api/boards/{}", b.id)).await;
    let mut db: HashMap<i64, Vec<i64>> = HashMap::new();
    for c in snap["cards"].as_array().unwrap() {
        db.entry(c["column_id"].as_i64().unwrap()).or_default().push(id(c));
    }
    for (live, hide_done) in [(&mut all, false), (&mut active, true)] {
        let (_, frames) = live.until(|s| s.target == "board-title").await;
        let seqs: Vec<i64> = frames.iter().filter_map(|s| s.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "frames arrive in seq order: {seqs:?}");
        let mut model = HashMap::new();
        for s in &frames {
            apply(&mut model, s);
        }
        let mut expected = db.clone();
        if hide_done {
            expected.remove(&b.done);
        }
        expected.retain(|_, v| !v.is_empty());
        assert_eq!(order(&model), expected, "hide_done={hide_done}");
    }
}

#[tokio::test]
async fn renders_grow_per_distinct_fragment_not_per_connection() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Shared").await;
    let card = id(&alice.card(b.id, json!({"title": "watched"})).await);
    const RENDERS: &str = "liveboard_fragment_renders_total";

    let mut sockets = vec![alice.live(b.id, "").await];
    let before = app.metric(RENDERS).await;
    patch_card(&alice, card, json!({"title": "watched by one"})).await;
    assert!(sockets[0].next().await.is_card_upsert(card, b.todo));
    let by_one = app.metric(RENDERS).await - before;

    for _ in 1..20 {
        sockets.push(alice.live(b.id, "").await);
    }
    let before = app.metric(RENDERS).await;
    patch_card(&alice, card, json!({"title": "watched by twenty"})).await;
    for s in &mut sockets {
        assert!(s.next().await.is_card_upsert(card, b.todo));
    }
    let by_twenty = app.metric(RENDERS).await - before;
    assert_eq!(by_one, 1.0, "one event, one fragment");
    assert_eq!(by_twenty, by_one, "twenty sockets on one view share the render");

    // Two views that see the change differently: one upsert and one remove, whatever the socket count.
    let mut hiding = vec![alice.live(b.id, "hide_done=1").await, alice.live(b.id, "hide_done=1").await];
    let before = app.metric(RENDERS).await;
    patch_card(&alice, card, json!({"column_id": b.done})).await;
    for s in &mut sockets {
        assert!(s.next().await.is_card_upsert(card, b.done));
    }
    for s in &mut hiding {
        assert!(s.next().await.is_card_remove(card));
    }
    assert_eq!(app.metric(RENDERS).await - before, 2.0);
}

#[tokio::test]
async fn a_member_removed_while_watching_is_revoked_and_disconnected() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let b = board(&alice, "Team").await;
    alice.add_member(b.id, "bob").await;
    let mut watching = bob.live(b.id, "").await;

    assert_eq!(alice.delete(&format!("/api/boards/{}/members/bob", b.id)).await, 204);
    let (revoked, _) = watching.until(|s| s.action == "revoked").await;
    assert_eq!(revoked.target, "board");
    assert_eq!(watching.close_code().await, Some(4403));

    // And the board's later changes do not reach him through a new socket either.
    assert_eq!(bob.try_ws(&format!("/boards/{}/live", b.id), None).await.err(), Some(404));
}

#[tokio::test]
async fn a_slow_connection_gets_a_reset_instead_of_a_silent_gap() {
    let app = spawn_app_with(|c| c.ws_queue = 8).await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "Firehose").await;
    let mut slow = alice.live(b.id, "").await;
    let resyncs = app.metric("liveboard_ws_resyncs_total").await;

    // The socket is not read while many changes happen, the last ones in one burst (a column's
    // deletion: an event per card, published together). The hub outpaces the socket's task only
    // when it takes several events in one turn, so bursts repeat until the queue has overflowed.
    let (mut col, mut kept) = (0, 0);
    for round in 0.. {
        assert!(round < 20, "the slow socket's queue never overflowed");
        let (_, c) = alice.post_json(&format!("/api/boards/{}/columns", b.id), json!({"name": "Bulk"})).await;
        col = id(&c);
        for n in 0..30 {
            alice.card(b.id, json!({"title": format!("bulk {n}"), "column_id": col})).await;
        }
        assert_eq!(alice.delete(&format!("/api/columns/{col}")).await, 204);
        kept = id(&alice.card(b.id, json!({"title": format!("after burst {round}")})).await);
        if app.state.metrics.dropped.get() > 0 {
            break;
        }
    }

    let (reset, _) = slow.until(|s| s.action == "reset").await;
    let ids = attr_values(&reset.html, "id");
    assert!(!ids.contains(&format!("column-{col}")), "the reset shows the board as it is now");
    assert!(ids.contains(&format!("column-{}", b.todo)));
    assert!(app.metric("liveboard_ws_resyncs_total").await > resyncs);

    // Still live after the reset: `later` arrives, as its own frame, or inside a further reset when
    // the queue overflowed again while the first was on its way. Either way each change reaches
    // the page once: what the last reset shows is not sent again, and what it lacks comes after it.
    let later = id(&alice.card(b.id, json!({"title": "later"})).await);
    let holds =
        |s: &Stream, card: i64| s.action == "reset" && attr_values(&s.html, "id").contains(&format!("card-{card}"));
    let (s, mut frames) = slow.until(|s| s.is_card(later) || holds(s, later)).await;
    if s.action != "reset" {
        assert!(s.is_card_upsert(later, b.todo));
    }
    frames.insert(0, reset);
    frames.push(s);
    let last = frames.iter().rposition(|f| f.action == "reset").expect("the first reset is there");
    for card in [kept, later] {
        let sent = card_actions(&frames[last + 1..]).iter().filter(|f| f.card_id() == Some(card)).count();
        assert_eq!(sent + holds(&frames[last], card) as usize, 1, "card {card} reaches the page once");
    }
}

#[tokio::test]
async fn deleting_the_board_revokes_every_watcher() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let b = board(&alice, "Doomed").await;
    alice.add_member(b.id, "bob").await;
    let mut pages = [alice.live(b.id, "").await, bob.live(b.id, "hide_done=1").await];

    assert_eq!(alice.delete(&format!("/api/boards/{}", b.id)).await, 204);
    for page in &mut pages {
        page.until(|s| s.action == "revoked").await;
        assert_eq!(page.close_code().await, Some(4403));
    }
}

#[tokio::test]
async fn deleting_the_done_column_resets_filtered_views_and_updates_the_others() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let b = board(&alice, "No more done").await;
    let open = id(&alice.card(b.id, json!({"title": "open"})).await);
    let finished = id(&alice.card(b.id, json!({"title": "finished", "column_id": b.done})).await);
    let mut all = alice.live(b.id, "").await;
    let mut active = alice.live(b.id, "hide_done=1").await;

    assert_eq!(alice.delete(&format!("/api/columns/{}", b.done)).await, 204);
    assert!(all.next().await.is_card_remove(finished));
    let gone = all.next().await;
    assert_eq!((gone.action.as_str(), gone.target.clone()), ("remove", format!("column-{}", b.done)));

    // "Hide done" means something else now: the filtered page is re-rendered whole.
    let (reset, _) = active.until(|s| s.action == "reset").await;
    let ids = attr_values(&reset.html, "id");
    assert!(ids.contains(&format!("card-{open}")) && !ids.contains(&format!("column-{}", b.done)), "{ids:?}");
    let later = id(&alice.card(b.id, json!({"title": "later", "column_id": b.doing})).await);
    assert!(active.next().await.is_card_upsert(later, b.doing));
}

#[tokio::test]
async fn a_member_added_later_who_resumes_from_the_start_gets_the_board_as_it_is_not_its_deleted_past() {
    let app = spawn_app().await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let b = board(&alice, "Private past").await;
    let (_, epoch) = alice.page_position(b.id, "").await;
    let card = id(&alice.card(b.id, json!({"title": "plan", "description": "the secret plan"})).await);
    let (_, comment) =
        alice.post_json(&format!("/api/cards/{card}/comments"), json!({"body": "a secret remark"})).await;
    assert_eq!(alice.delete(&format!("/api/comments/{}", comment["id"])).await, 204);
    let (s, _) = alice.patch_json(&format!("/api/cards/{card}"), json!({"description": "public text"})).await;
    assert_eq!(s, 200);
    alice.add_member(b.id, "bob").await;

    let mut live = bob.live_from(b.id, 0, &epoch, "").await;
    let reset = live.next().await;
    assert_eq!(reset.action, "reset", "a page from before bob joined is re-rendered, not replayed: {reset:?}");
    assert!(reset.html.contains("plan") && !reset.html.contains("secret"), "{}", reset.html);
    for s in live.barrier().await {
        assert!(!s.html.contains("secret"), "replayed what bob never could see: {s:?}");
    }
}
