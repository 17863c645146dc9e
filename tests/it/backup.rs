//! Backups and restores (`liveboard backup` / `liveboard restore`, in `src/backup.rs`): a copy taken
//! while the server runs, put back while it is stopped, and clients that saw newer events are told
//! to resync instead of being shown a silent gap.

use liveboard::backup;
use serde_json::json;

use crate::support::*;

/// Logs an existing user in on another server (the same database, restarted).
async fn login_at(base: &str, name: &str) -> User {
    let mut u = anonymous_at(base);
    let res = u.form("/login", &[("username", name), ("password", &password(name))]).await;
    assert_eq!(res.status(), 303, "login of {name} failed");
    u.name = name.to_owned();
    u
}

#[tokio::test]
async fn a_signed_in_session_survives_a_restart_of_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let first = start_app_at(&db).await;
    let alice = first.app.signup("alice").await;
    let cookie = alice.cookie().expect("a session cookie");
    first.stop().await;

    let second = start_app_at(&db).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/me", second.app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sessions are written to SQLite, not only kept in memory");
    second.stop().await;
}

#[tokio::test]
async fn a_restored_backup_brings_back_its_data_and_clients_that_saw_newer_events_resync() {
    let dir = tempfile::tempdir().unwrap();
    let (db, copy) = (dir.path().join("app.db"), dir.path().join("backup.db"));
    let first = start_app_at(&db).await;
    let alice = first.app.signup("alice").await;
    let (board, _) = alice.board("Plans").await;
    let kept = alice.card(board, json!({"title": "in the backup"})).await;
    backup::backup(&db, &copy).await.expect("a backup while the server runs");
    let lost = alice.card(board, json!({"title": "after the backup"})).await;
    let (ws, hello) = realtime(&alice, "").await;
    let seen = hello["seq"].as_i64().unwrap();
    let epoch = hello["epoch"].as_str().unwrap().to_owned();
    let refused = backup::restore(&db, &copy).await.expect_err("the database of a running server is not replaced");
    assert!(format!("{refused:#}").contains("stop the server"), "{refused:#}");
    drop(ws);
    first.stop().await;

    backup::restore(&db, &copy).await.expect("a restore while the server is stopped");
    let second = start_app_at(&db).await;

    let alice = login_at(&second.app.base, "alice").await;
    assert_eq!(alice.get_json(&format!("/api/cards/{}", kept["id"])).await.0, 200, "what the backup holds is back");
    assert_eq!(alice.get_json(&format!("/api/cards/{}", lost["id"])).await.0, 404, "what came after it is gone");

    let (mut ws, _) = realtime(&alice, &format!("?since={seen}&epoch={epoch}")).await;
    subscribe(&mut ws, "cards.*").await;
    let got = next_json(&mut ws).await;
    assert_eq!(
        (got["type"].as_str(), got["reason"].as_str()),
        (Some("resync_required"), Some("epoch_changed")),
        "{got}"
    );

    // A script that sends no epoch resyncs too: the restored sequence starts past every seq it can hold.
    let (mut ws, _) = realtime(&alice, &format!("?since={seen}")).await;
    subscribe(&mut ws, "cards.*").await;
    let got = next_json(&mut ws).await;
    assert_eq!((got["type"].as_str(), got["reason"].as_str()), (Some("resync_required"), Some("too_old")), "{got}");
    let live = alice.card(board, json!({"title": "after the restore"})).await;
    assert_eq!(next_json(&mut ws).await["record"]["id"], live["id"], "and then gets new events live");
    assert!(second.app.seq() > seen, "new events never reuse a seq the old stream published");
    second.stop().await;
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("backup.db");
    std::fs::write(&dest, b"an older backup").unwrap();

    let result = backup::backup(&app.state.config.database_path, &dest).await;

    assert!(result.is_err());
    assert_eq!(std::fs::read(&dest).unwrap(), b"an older backup");
}
