//! The app's state: cheap-to-clone handles every handler can reach. A leaf of the module tree:
//! handlers, sockets and middleware import it; it imports only the handles it holds (and the one
//! read every page's header makes, the unread count).

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    cluster::{Node, reads::Reads},
    config::Config,
    db::Db,
    hub::Hub,
    metrics::Metrics,
    passwords::Hashing,
    throttle::LoginThrottle,
};

/// Cheap-to-clone handles every handler can reach: one `Arc`, because axum clones the state for
/// every extractor of every request (a clone of the handles themselves was a dozen atomic
/// increments each time, a few per cent of the write path's CPU).
#[derive(Clone)]
pub struct AppState(Arc<Handles>);

impl AppState {
    pub fn new(handles: Handles) -> Self {
        Self(Arc::new(handles))
    }
}

impl std::ops::Deref for AppState {
    type Target = Handles;
    fn deref(&self) -> &Handles {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Handles {
    pub config: Arc<Config>,
    pub db: Db,
    pub hub: Hub,
    pub metrics: Arc<Metrics>,
    pub assets_version: Arc<str>,
    pub login_throttle: Arc<LoginThrottle>,
    pub passwords: Arc<Hashing>,
    /// What the realtime path reads through: this database, or on an edge the writer.
    pub reads: Reads,
    /// This process's role and name, and whether it reaches Redis.
    pub node: Arc<Node>,
}

impl Handles {
    /// What the page layout needs: for a signed-in user, also their unread count for the header
    /// badge (a point read of a partial index, so every page can afford it).
    pub fn ctx<'a>(&'a self, user: Option<&'a str>) -> liveboard_templates::Ctx<'a> {
        let unread = user.and_then(|name| match crate::repo::notifications::unread_for_name(&self.db, name) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "could not count unread notifications");
                None
            }
        });
        liveboard_templates::Ctx { user, assets_version: &self.assets_version, unread }
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(s: &AppState) -> Self {
        s.db.clone()
    }
}

impl FromRef<AppState> for Arc<Config> {
    fn from_ref(s: &AppState) -> Self {
        s.config.clone()
    }
}
