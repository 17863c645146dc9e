//! A writer and two edges joined by a real Redis, each a real process: events reach every edge in
//! order, resumes work across nodes, presence is shared, and crashes lose nothing acknowledged.
//!
//! writes through any node → writer → Redis stream → edges → subscribers (asserted here).

use std::time::Duration;

use rand::Rng;
use serde_json::json;

use crate::{
    cluster_support::*,
    support::{User, WAIT, close_code, next_json, realtime, record_events, seqs, subscribe},
};

/// Creates `n` cards on `board`, each through a node picked at random, a few at a time.
async fn cards_through_random_nodes(users: &[User], board: i64, column: i64, n: usize) -> Vec<i64> {
    let mut created = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let posts = chunk.iter().map(|i| {
            let user = &users[rand::thread_rng().gen_range(0..users.len())];
            let body = json!({"title": format!("card {i}"), "column_id": column});
            async move { user.post_json(&format!("/api/boards/{board}/cards"), body).await }
        });
        for (status, card) in futures_util::future::join_all(posts).await {
            assert_eq!(status, 201, "{card}");
            created.push(card["id"].as_i64().unwrap());
        }
    }
    created
}

/// Alice, signed up through edge A, with a board made through edge B; her browser on each node.
async fn alice_with_a_board(c: &Cluster) -> (Vec<User>, i64, i64) {
    let alice = signup_at(&c.a, "alice").await;
    let on_b = at(&alice, &c.b);
    let (board, cols) = on_b.board("Scale").await;
    let users = vec![at(&alice, &c.writer), alice, on_b];
    (users, board, cols[0])
}

#[tokio::test]
async fn five_hundred_writes_through_random_nodes_reach_subscribers_on_both_edges_in_the_event_tables_order() {
    let c = Cluster::start().await;
    let (users, board, column) = alice_with_a_board(&c).await;
    let (mut on_a, _) = realtime(&at(&users[1], &c.a), "").await;
    let (mut on_b, _) = realtime(&at(&users[1], &c.b), "").await;
    subscribe(&mut on_a, "cards.*").await;
    subscribe(&mut on_b, "cards.*").await;

    cards_through_random_nodes(&users, board, column, 500).await;

    let want = c.table_seqs("cards", 0).await;
    assert_eq!(want.len(), 500);
    for ws in [&mut on_a, &mut on_b] {
        let got = seqs(&record_events(ws, 500).await);
        assert_eq!(got, want, "the same strictly increasing seq list as the events table");
    }
    assert!(want.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn a_json_subscriber_killed_on_edge_a_resumes_on_edge_b_with_since_and_gets_exactly_the_rest() {
    let c = Cluster::start().await;
    let (users, board, column) = alice_with_a_board(&c).await;
    let epoch = c.epoch().await;
    let (mut on_a, _) = realtime(&at(&users[1], &c.a), "").await;
    subscribe(&mut on_a, "cards.*").await;
    cards_through_random_nodes(&users, board, column, 30).await;
    let seen = seqs(&record_events(&mut on_a, 12).await);
    drop(on_a);
    cards_through_random_nodes(&users, board, column, 20).await;

    let last = *seen.last().unwrap();
    let (mut on_b, _) = realtime(&at(&users[1], &c.b), &format!("?since={last}&epoch={epoch}")).await;
    subscribe(&mut on_b, "cards.*").await;
    let want = c.table_seqs("cards", last).await;
    assert_eq!(want.len(), 38);
    assert_eq!(seqs(&record_events(&mut on_b, want.len()).await), want, "exactly the rest, in order");
    // And live events follow without a duplicate.
    cards_through_random_nodes(&users, board, column, 1).await;
    let next = record_events(&mut on_b, 1).await;
    assert_eq!(seqs(&next), c.table_seqs("cards", *want.last().unwrap()).await);
}

#[tokio::test]
async fn a_board_page_rendered_through_edge_a_resumes_its_live_socket_on_edge_b_from_its_data_seq() {
    let c = Cluster::start().await;
    let (users, board, column) = alice_with_a_board(&c).await;
    let alice_a = at(&users[1], &c.a);
    let (seq, epoch) = alice_a.page_position(board, "").await;
    let made = cards_through_random_nodes(&users, board, column, 5).await;

    let mut live = at(&users[1], &c.b).live_from(board, seq, &epoch, "").await;
    let mut upserted = Vec::new();
    while upserted.len() < made.len() {
        let frame = live.next().await;
        if let Some(id) = frame.card_id().filter(|_| frame.action == "upsert") {
            assert!(frame.seq.is_some_and(|s| s > seq), "replayed from after the page's data-seq");
            upserted.push(id);
        }
    }
    upserted.sort();
    assert_eq!(upserted, {
        let mut m = made.clone();
        m.sort();
        m
    });
    let quiet = live.barrier().await;
    assert!(quiet.iter().all(|s| made.iter().all(|id| !s.is_card_upsert(*id, column))), "no duplicate: {quiet:?}");
}

#[tokio::test]
async fn logging_out_through_the_writer_closes_the_sessions_sockets_on_every_edge() {
    let c = Cluster::start().await;
    let (users, _, _) = alice_with_a_board(&c).await;
    let (mut on_a, _) = realtime(&at(&users[1], &c.a), "").await;
    let (mut on_b, _) = realtime(&at(&users[1], &c.b), "").await;

    let res = users[0].form("/logout", &[]).await;
    assert_eq!(res.status(), 303);

    assert_eq!(close_code(&mut on_a).await, Some(4401));
    assert_eq!(close_code(&mut on_b).await, Some(4401));
}

#[tokio::test]
async fn an_edge_reports_its_role_and_node_id_and_whether_redis_answers() {
    let mut c = Cluster::start().await;
    let h = c.a.health().await;
    assert_eq!(
        (h["status"].as_str(), h["role"].as_str(), h["node_id"].as_str()),
        (Some("ok"), Some("edge"), Some("edge-a"))
    );
    let w = c.writer.health().await;
    assert_eq!((w["role"].as_str(), w["node_id"].as_str()), (Some("writer"), Some("writer")));
    wait_for("redis is up on edge A", || async { c.a.health().await["redis"] == true }).await;

    c.redis.kill();
    wait_for("edge A reports redis down", || async { c.a.health().await["redis"] == false }).await;
    assert_eq!(c.a.metric("liveboard_redis_up").await, 0.0);
}

#[tokio::test]
async fn an_edge_that_loses_redis_keeps_its_sockets_and_after_redis_restarts_empty_delivers_without_a_gap() {
    let mut c = Cluster::start().await;
    let (users, board, column) = alice_with_a_board(&c).await;
    let (mut on_a, _) = realtime(&at(&users[1], &c.a), "").await;
    subscribe(&mut on_a, "cards.*").await;
    cards_through_random_nodes(&users, board, column, 5).await;
    let before = seqs(&record_events(&mut on_a, 5).await);

    let port = c.redis.port;
    c.redis.kill();
    wait_for("edge A reports redis down", || async { c.a.health().await["redis"] == false }).await;
    // Writes go on while Redis is away: the writer owns them, the relay catches up later.
    cards_through_random_nodes(&users, board, column, 5).await;
    c.redis = Redis::start_on(port).await;
    cards_through_random_nodes(&users, board, column, 5).await;

    // Every event after the first five arrives, in order, with no gap; or the edge says resync.
    let want = c.table_seqs("cards", *before.last().unwrap()).await;
    let mut got = Vec::new();
    while got.len() < want.len() {
        let m = next_json(&mut on_a).await;
        match m["type"].as_str() {
            Some("record_event") => got.push(m["seq"].as_i64().unwrap()),
            Some("resync_required") => break,
            _ => {}
        }
    }
    if got.len() == want.len() {
        assert_eq!(got, want);
    } else {
        assert!(want.starts_with(&got), "what came before the resync has no gap: {got:?} vs {want:?}");
    }
    assert!(c.a.metric("liveboard_redis_up").await == 1.0);
}

#[tokio::test]
async fn kill_9_of_the_writer_mid_burst_then_restart_loses_no_acknowledged_write_and_duplicates_nothing_in_the_stream()
{
    let mut c = Cluster::start().await;
    let (users, board, column) = alice_with_a_board(&c).await;
    let (mut on_a, _) = realtime(&at(&users[1], &c.a), "").await;
    subscribe(&mut on_a, "cards.*").await;
    let through_a = at(&users[1], &c.a);

    // A burst through edge A; the writer dies in the middle of it.
    let burst = tokio::spawn({
        let u = at(&through_a, &c.a);
        async move {
            let mut acked = Vec::new();
            for i in 0..300 {
                let (s, card) = u
                    .post_json(
                        &format!("/api/boards/{board}/cards"),
                        json!({"title": format!("b{i}"), "column_id": column}),
                    )
                    .await;
                if s == 201 {
                    acked.push(card["id"].as_i64().unwrap());
                }
            }
            acked
        }
    });
    wait_for("some writes are in", || async { c.table_seqs("cards", 0).await.len() >= 50 }).await;
    c.writer.kill();
    c.restart_writer().await;
    let acked = burst.await.unwrap();
    assert!(!acked.is_empty());

    // Every acknowledged card is in the database...
    let (s, snap) = users[1].get_json(&format!("/api/boards/{board}")).await;
    assert_eq!(s, 200);
    let cards: Vec<i64> = snap["cards"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(acked.iter().all(|id| cards.contains(id)), "an acknowledged write was lost");
    // ...the stream holds every event of the table exactly once, in order...
    let epoch = c.epoch().await;
    let want = c.table_seqs("cards", 0).await;
    wait_for("the relay catches up", || async {
        let ids = c.redis.stream_ids(&epoch).await;
        ids.iter().any(|id| id == &format!("{}-0", want.last().unwrap()))
    })
    .await;
    let ids = c.redis.stream_ids(&epoch).await;
    let stream_seqs: Vec<i64> = ids.iter().filter_map(|id| id.strip_suffix("-0")).map(|s| s.parse().unwrap()).collect();
    assert!(stream_seqs.windows(2).all(|w| w[0] < w[1]), "no duplicate, no reorder");
    assert!(want.iter().all(|s| stream_seqs.contains(s)), "every committed card event reached the stream");
    // ...and the subscriber on the edge saw each exactly once.
    let got = seqs(&record_events(&mut on_a, want.len()).await);
    assert_eq!(got, want);
}

/// Waits until `cond` holds, checking every 50 ms, for at most 10 s.
async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut cond: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + 2 * WAIT;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A JSON connection following a board's presence; returns it once `presence_state` arrived.
async fn presence_feed(user: &User, board: i64) -> (crate::support::Ws, serde_json::Value) {
    let (mut ws, _) = realtime(user, "").await;
    crate::support::send(&mut ws, json!({"type": "subscribe", "presence": board})).await;
    let (state, _) = crate::support::until_json(&mut ws, |v| v["type"] == "presence_state").await;
    (ws, state)
}

/// The next presence event on a feed: (event, user, card).
async fn next_presence(ws: &mut crate::support::Ws) -> (String, String, Option<i64>) {
    let (v, _) = crate::support::until_json(ws, |v| v["type"] == "presence").await;
    (v["event"].as_str().unwrap().to_owned(), v["user"].as_str().unwrap().to_owned(), v["card_id"].as_i64())
}

/// Alice (signed up through A) and Bob (through B) on Alice's board, with a card.
async fn alice_and_bob(c: &Cluster) -> (User, User, i64, i64) {
    let alice = signup_at(&c.a, "alice").await;
    let bob = signup_at(&c.b, "bob").await;
    let (board, _) = alice.board("Team").await;
    alice.add_member(board, "bob").await;
    let card = alice.card(board, json!({"title": "shared"})).await["id"].as_i64().unwrap();
    (alice, bob, board, card)
}

#[tokio::test]
async fn alice_on_edge_a_appears_in_bobs_presence_on_edge_b_within_a_second() {
    let c = Cluster::start().await;
    let (alice, bob, board, _) = alice_and_bob(&c).await;
    let mut bob_page = bob.live(board, "").await;
    assert_eq!(bob_page.bar.present(), ["bob"]);

    let opened = std::time::Instant::now();
    let mut alice_page = alice.live(board, "").await;
    let (bar, _) = tokio::time::timeout(Duration::from_secs(1), bob_page.until(|s| s.target == "presence"))
        .await
        .expect("alice shows on edge B within 1 s");
    assert_eq!(bar.present(), ["alice", "bob"], "after {:?}", opened.elapsed());
    if alice_page.bar.present() != ["alice", "bob"] {
        let both = |s: &crate::support::Stream| s.target == "presence" && s.present() == ["alice", "bob"];
        tokio::time::timeout(Duration::from_secs(1), alice_page.until(both)).await.expect("and bob shows on edge A");
    }
}

#[tokio::test]
async fn after_kill_9_of_edge_a_its_users_leave_everyones_presence_within_the_node_ttl() {
    let ttl = Duration::from_millis(1500);
    let mut c = Cluster::start_with(&[("PRESENCE_NODE_TTL_MS", "1500")]).await;
    let (alice, bob, board, card) = alice_and_bob(&c).await;
    let (mut feed, _) = presence_feed(&bob, board).await;
    let mut alice_page = alice.live(board, "").await;
    assert_eq!(next_presence(&mut feed).await.0, "join");
    alice_page.send(json!({"type": "editing", "card_id": card})).await;
    assert_eq!(next_presence(&mut feed).await, ("editing".into(), "alice".into(), Some(card)));

    c.a.kill();
    let killed = std::time::Instant::now();
    let mut left = Vec::new();
    while left.len() < 2 {
        let (event, user, _) = next_presence(&mut feed).await;
        assert_eq!(user, "alice");
        left.push(event);
    }
    left.sort();
    assert_eq!(left, ["editing_stop", "leave"]);
    // The TTL, plus one refresh of the reader, plus the hub's presence tick.
    let bound = ttl + Duration::from_millis(1200);
    assert!(killed.elapsed() <= bound, "left after {:?}, more than {bound:?}", killed.elapsed());
}

#[tokio::test]
async fn a_user_with_tabs_on_two_edges_is_shown_once_and_leaves_only_when_both_are_gone() {
    let c = Cluster::start_with(&[("PRESENCE_GRACE_MS", "300")]).await;
    let (alice, bob, board, _) = alice_and_bob(&c).await;
    let (mut feed, _) = presence_feed(&at(&bob, &c.writer), board).await;
    let on_a = alice.live(board, "").await;
    assert_eq!(next_presence(&mut feed).await, ("join".into(), "alice".into(), None));
    let on_b = at(&alice, &c.b).live(board, "").await;
    assert_eq!(on_b.bar.present(), ["alice"], "shown once");

    on_a.close().await;
    // Past the grace period and a refresh: still there, through her tab on B.
    let quiet = tokio::time::timeout(Duration::from_millis(1500), next_presence(&mut feed)).await;
    assert!(quiet.is_err(), "no leave or re-join while a tab is open: {quiet:?}");

    on_b.close().await;
    assert_eq!(next_presence(&mut feed).await, ("leave".into(), "alice".into(), None));
}

#[tokio::test]
async fn typing_on_edge_a_shows_on_a_board_page_on_edge_b_and_stops_when_the_card_is_saved() {
    let c = Cluster::start().await;
    let (alice, bob, board, card) = alice_and_bob(&c).await;
    let mut bob_page = bob.live(board, "").await;
    let mut alice_page = alice.live(board, "").await;

    alice_page.send(json!({"type": "typing", "card_id": card})).await;
    let activity = format!("card-{card}-activity");
    let (s, _) = bob_page.until(|s| s.target == activity).await;
    assert_eq!(crate::support::attr_values(&s.html, "data-typing-user"), ["alice"]);

    let (status, _) = alice.patch_json(&format!("/api/cards/{card}"), json!({"title": "saved"})).await;
    assert_eq!(status, 200);
    let (s, _) = bob_page.until(|s| s.target == activity).await;
    assert!(crate::support::attr_values(&s.html, "data-typing-user").is_empty(), "{}", s.html);
}

/// Creates an API token on the settings page (through whatever node `user` talks to): (token, id).
async fn create_token(user: &User, name: &str) -> (String, i64) {
    let page = user.form("/settings/tokens", &[("name", name)]).await.text().await.unwrap();
    let token = page.split(r#"<code class="token" data-new-token>"#).nth(1).and_then(|r| r.split('<').next());
    let id = page.split(r#"action="/settings/tokens/"#).nth(1).and_then(|r| r.split('/').next());
    (token.expect("the new token").to_owned(), id.and_then(|i| i.parse().ok()).expect("its revoke form"))
}

#[tokio::test]
async fn revoking_a_token_through_edge_b_closes_its_sockets_on_edge_a_and_refuses_it_everywhere() {
    let c = Cluster::start().await;
    let (users, _, _) = alice_with_a_board(&c).await;
    let (token, id) = create_token(&at(&users[1], &c.b), "script").await;
    let script = crate::support::anonymous_at(&c.a.base);
    let (mut ws, hello) = realtime(&script, &format!("?token={token}")).await;
    assert!(hello["connection_id"].is_string());

    let res = at(&users[1], &c.b).form(&format!("/settings/tokens/{id}/delete"), &[]).await;
    assert_eq!(res.status(), 303);

    assert_eq!(close_code(&mut ws).await, Some(4401));
    for node in [&c.a, &c.b, &c.writer] {
        let script = crate::support::anonymous_at(&node.base);
        assert_eq!(script.try_ws(&format!("/realtime/subscribe?token={token}"), None).await.err(), Some(401));
    }
}

#[tokio::test]
async fn a_member_removed_through_the_writer_is_revoked_and_disconnected_on_edge_b() {
    let c = Cluster::start().await;
    let (alice, bob, board, _) = alice_and_bob(&c).await;
    let mut watching = bob.live(board, "").await;

    assert_eq!(at(&alice, &c.writer).delete(&format!("/api/boards/{board}/members/bob")).await, 204);
    let (revoked, _) = watching.until(|s| s.action == "revoked").await;
    assert_eq!(revoked.target, "board");
    assert_eq!(watching.close_code().await, Some(4403));
    assert_eq!(bob.try_ws(&format!("/boards/{board}/live"), None).await.err(), Some(404));
}

#[tokio::test]
async fn a_view_subscription_on_an_edge_starts_from_the_writers_snapshot_with_no_gap_or_duplicate() {
    let c = Cluster::start().await;
    let (users, board, column) = alice_with_a_board(&c).await;
    cards_through_random_nodes(&users, board, column, 3).await;
    let (mut ws, _) = realtime(&at(&users[1], &c.b), "").await;
    crate::support::send(&mut ws, json!({"type": "subscribe", "view": "active_cards", "board_id": board})).await;
    let (ack, _) = crate::support::until_json(&mut ws, |v| v["type"] == "subscribed").await;
    assert_eq!(ack["initial"].as_array().map(Vec::len), Some(3), "{ack}");

    let made = cards_through_random_nodes(&users, board, column, 4).await;
    let mut entered = Vec::new();
    while entered.len() < made.len() {
        let m = next_json(&mut ws).await;
        assert_eq!((m["type"].as_str(), m["operation"].as_str()), (Some("event"), Some("insert")), "{m}");
        entered.push(m["data"]["id"].as_i64().unwrap());
    }
    entered.sort();
    let mut want = made.clone();
    want.sort();
    assert_eq!(entered, want, "each new card once");
}

#[tokio::test]
async fn an_edge_that_missed_entries_trimmed_from_the_stream_fills_the_gap_from_the_writers_log() {
    let c = Cluster::start().await;
    let (users, board, column) = alice_with_a_board(&c).await;
    let epoch = c.epoch().await;
    let (mut on_a, _) = realtime(&at(&users[1], &c.a), "").await;
    subscribe(&mut on_a, "cards.*").await;
    cards_through_random_nodes(&users, board, column, 2).await;
    let seen = seqs(&record_events(&mut on_a, 2).await);

    // Edge A is frozen while five events are relayed and then cut from the stream.
    c.a.pause();
    let writer_only = [at(&users[1], &c.writer)];
    cards_through_random_nodes(&writer_only, board, column, 5).await;
    let cut = c.table_seqs("cards", 0).await;
    wait_for("the five are in the stream", || async {
        c.redis.stream_ids(&epoch).await.contains(&format!("{}-0", cut.last().unwrap()))
    })
    .await;
    c.redis.trim(&epoch, 0).await;
    cards_through_random_nodes(&writer_only, board, column, 3).await;
    c.a.resume();

    let want = c.table_seqs("cards", *seen.last().unwrap()).await;
    assert_eq!(want.len(), 8);
    assert_eq!(seqs(&record_events(&mut on_a, 8).await), want, "the gap filled, in order, once");
    assert!(c.a.metric("liveboard_cluster_gap_fills_total").await >= 1.0);
}

#[tokio::test]
async fn a_writer_or_edge_refuses_to_start_without_its_cluster_settings() {
    let run = |env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_liveboard"));
        cmd.env_clear().env("PORT", "0").env("DATABASE_URL", "sqlite://unused.db");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("the binary runs");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = run(&[("LIVEBOARD_ROLE", "writer"), ("CLUSTER_SECRET", "s")]);
    assert!(!ok && err.contains("REDIS_URL"), "{err}");
    let (ok, err) = run(&[("LIVEBOARD_ROLE", "edge"), ("REDIS_URL", "redis://127.0.0.1:1/0")]);
    assert!(!ok && err.contains("CLUSTER_SECRET"), "{err}");
    let (ok, err) = run(&[("LIVEBOARD_ROLE", "edge"), ("REDIS_URL", "redis://127.0.0.1:1/0"), ("CLUSTER_SECRET", "s")]);
    assert!(!ok && err.contains("WRITER_URL"), "{err}");
}

#[tokio::test]
async fn an_admins_announcement_posted_through_edge_a_reaches_json_sockets_on_edge_b_and_the_writer() {
    let c = Cluster::start().await;
    // The operator's CLI, against the writer's database while it runs.
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_liveboard"))
        .args(["create-user", "root", "--admin"])
        .env("DATABASE_URL", c.database())
        .env("LIVEBOARD_PASSWORD", crate::support::password("root"))
        .output()
        .expect("the CLI runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let mut root = crate::support::anonymous_at(&c.a.base);
    let pw = crate::support::password("root");
    assert_eq!(root.form("/login", &[("username", "root"), ("password", &pw)]).await.status(), 303);
    root.name = "root".into();
    let bob = signup_at(&c.b, "bob").await;
    let (mut on_b, _) = realtime(&bob, "").await;
    let (mut on_writer, _) = realtime(&at(&bob, &c.writer), "").await;

    assert_eq!(root.form("/admin/announce", &[("message", "Deploy at six")]).await.status(), 303);

    for ws in [&mut on_b, &mut on_writer] {
        let (msg, _) = crate::support::until_json(ws, |v| v["type"] == "custom_event").await;
        assert_eq!(msg["data"]["announcement"], "Deploy at six");
    }
}

#[tokio::test]
async fn origin_checks_hold_through_an_edge_for_forwarded_forms_and_its_own_sockets() {
    let c = Cluster::start().await;
    let (users, board, _) = alice_with_a_board(&c).await;
    let alice_a = at(&users[1], &c.a);
    let evil = "http://evil.example";

    let forged = alice_a
        .http
        .post(alice_a.url(&format!("/boards/{board}")))
        .header("origin", evil)
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "pwned")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "the writer refuses a cross-site form forwarded by the edge");
    assert_eq!(alice_a.try_ws("/realtime/subscribe", Some(evil)).await.err(), Some(403));
    assert_eq!(alice_a.try_ws(&format!("/boards/{board}/live"), Some(evil)).await.err(), Some(403));
    // The same requests from the edge's own origin pass.
    assert!(alice_a.try_ws("/realtime/subscribe", Some(&c.a.base)).await.is_ok());
    let (_, snap) = alice_a.get_json(&format!("/api/boards/{board}")).await;
    assert_eq!(snap["board"]["name"], "Scale", "the forged rename changed nothing: {snap}");
    assert_eq!(alice_a.form(&format!("/boards/{board}"), &[("name", "Renamed")]).await.status(), 303);
    let (_, snap) = alice_a.get_json(&format!("/api/boards/{board}")).await;
    assert_eq!(snap["board"]["name"], "Renamed", "{snap}");
}

#[tokio::test]
async fn a_mention_written_through_edge_a_reaches_the_mentioned_users_socket_on_edge_b_only() {
    let c = Cluster::start().await;
    let (users, board, _) = alice_with_a_board(&c).await;
    let alice_a = at(&users[1], &c.a);
    let bob = signup_at(&c.b, "bob").await;
    let carol = signup_at(&c.a, "carol").await;
    for name in ["bob", "carol"] {
        let (s, m) = alice_a.post_json(&format!("/api/boards/{board}/members"), json!({ "username": name })).await;
        assert_eq!(s, 201, "{m}");
    }
    let (s, card) = alice_a.post_json(&format!("/api/boards/{board}/cards"), json!({"title": "Across"})).await;
    assert_eq!(s, 201, "{card}");
    let card = card["id"].as_i64().unwrap();
    let (mut bob_b, _) = realtime(&bob, "").await;
    subscribe(&mut bob_b, "notifications.*").await;
    let (mut carol_a, _) = realtime(&carol, "").await;
    subscribe(&mut carol_a, "notifications.*").await;

    let comment = |body: &'static str| {
        let alice_a = &alice_a;
        async move { alice_a.post_json(&format!("/api/cards/{card}/comments"), json!({ "body": body })).await.0 }
    };
    assert_eq!(comment("@bob across the cluster").await, 201);
    assert_eq!(comment("now @carol").await, 201);

    let (msg, _) = crate::support::until_json(&mut bob_b, |v| v["type"] == "custom_event").await;
    assert_eq!(msg["data"]["notification"]["excerpt"], "@bob across the cluster");
    // Carol's first channel message is her own: Bob's, sent before it in the same stream, never reached her.
    let (msg, _) = crate::support::until_json(&mut carol_a, |v| v["type"] == "custom_event").await;
    assert_eq!(msg["data"]["notification"]["excerpt"], "now @carol");
}
