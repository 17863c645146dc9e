//! Demo data for `make dev`: two users and a board, written through the repositories (so the
//! seed produces events like any other change). Only ever seeds an empty database.

use crate::{
    auth::create_user,
    db::Db,
    domain::*,
    error::Result,
    repo::{self, cards::NewCard},
};

/// The demo users and their development passwords (printed at start-up and in the README).
pub use crate::config::DEMO_USERS;

/// Seeds the demo, unless the database already has users. Returns whether it seeded.
pub async fn seed_demo(db: &Db) -> Result<bool> {
    if repo::users::any(&db.read).await? {
        return Ok(false);
    }
    let alice = create_user(db, DEMO_USERS[0].0, DEMO_USERS[0].1, true).await?;
    let bob = create_user(db, DEMO_USERS[1].0, DEMO_USERS[1].1, false).await?;
    let board = repo::boards::create(db, alice.id, &BoardName::parse("Launch plan")?).await?;
    repo::boards::add_member(db, alice.id, board.id, &bob.username).await?;
    let snap = repo::boards::snapshot(&db.read, board.id, alice.id).await?;
    let (todo, doing, done) = (snap.columns[0].id, snap.columns[1].id, snap.columns[2].id);
    let cards: &[(&str, ColumnId, Option<&str>, &[&str])] = &[
        ("Write the landing page copy", todo, Some("alice"), &["marketing"]),
        ("Pick a pricing model", todo, None, &["business"]),
        ("Set up error tracking", todo, Some("bob"), &["ops"]),
        ("Invite beta testers", todo, Some("alice"), &["marketing", "beta"]),
        ("Fix login redirect loop", doing, Some("bob"), &["bug", "auth"]),
        ("Design the onboarding email", doing, Some("alice"), &["marketing"]),
        ("Load test the board socket", doing, Some("bob"), &["ops", "perf"]),
        ("Keyboard shortcuts for cards", doing, None, &["ux"]),
        ("Choose a name", done, Some("alice"), &["business"]),
        ("Set up CI", done, Some("bob"), &["ops"]),
        ("Sketch the board layout", done, Some("alice"), &["ux"]),
        ("Draft the privacy policy", done, None, &["legal"]),
    ];
    for (title, column, assignee, labels) in cards {
        let new = NewCard {
            title: CardTitle::parse(title)?,
            description: Description::parse("")?,
            column_id: Some(*column),
            assignee: assignee.map(str::to_owned),
            labels: Labels::parse(labels.iter().copied())?,
            place: Place::Last,
        };
        let card = repo::cards::create(db, alice.id, board.id, new).await?.record;
        if *title == "Invite beta testers" {
            seed_checklist(db, alice.id, card.id).await?;
        }
    }
    Ok(true)
}

/// A checklist with one item ticked, so the demo shows the editor's checklist and the card's count.
async fn seed_checklist(db: &Db, actor: UserId, card: CardId) -> Result<()> {
    for (text, done) in
        [("Write the invitation", true), ("Pick twenty testers", false), ("Set up a feedback form", false)]
    {
        let item = repo::checklist::create(db, actor, card, &ChecklistText::parse(text)?).await?;
        if done {
            let tick = repo::checklist::ChecklistPatch { done: Some(true), ..Default::default() };
            repo::checklist::update(db, actor, item.id, tick).await?;
        }
    }
    Ok(())
}
