//! Liveboard: a starter template for collaborative, server-rendered Rust web apps.
//!
//! Read it along the spine: HTTP handler → repository (the only writer; change + event row in one
//! transaction, publish after commit) → event bus → hub (authorization and view filter per event)
//! → renderer (once per event and view variant) → WebSocket.

/// Activity: each change in plain words, written with its event.
pub mod activity;
/// The JSON API under `/api`.
pub mod api;
/// Building the app: routes, middleware, serving and shutdown.
pub mod app;
/// Static assets embedded in the binary.
pub mod assets;
/// Sign-up, login, logout, the current-user extractor, CSRF and Origin checks.
pub mod auth;
/// `backup` and `restore`: a consistent copy of the live database, and putting one back.
pub mod backup;
/// App channels: declared streams of application messages, each with who may receive it.
pub mod channels;
/// Several processes: a writer, edges, and Redis between them (docs/SCALING.md).
pub mod cluster;
/// Configuration from the environment, every key with a default.
pub mod config;
/// The SQLite read pool and the writer thread, through which every change and its events pass.
pub mod db;
/// Ids, records, and parsed inputs.
pub mod domain;
/// The one error type.
pub mod error;
/// Events: records, collections, and the in-process bus.
pub mod events;
/// The hub: routes committed events to the connections that may and want to see them; presence.
pub mod hub;
/// `@username` mentions found in comments and card descriptions.
pub mod mentions;
/// Prometheus metrics.
pub mod metrics;
/// The TCP listener: no Nagle delay, and a lingering close so the last bytes written arrive.
pub mod net;
/// Password hashing through a bounded gate.
pub mod passwords;
/// Every message of both wire protocols, as typed structs.
pub mod protocol;
/// The two WebSocket endpoints (JSON pub/sub, live board fragments) and their socket loop.
pub mod realtime;
/// Domain records into template props; live fragments and JSON view events.
pub mod render;
/// Repositories: the only writers.
pub mod repo;
/// Demo data for `make dev`.
pub mod seed;
/// Serving connections: timeouts and a connection cap around hyper.
pub mod serve;
/// The session store: SQLite with an in-memory cache in front.
pub mod sessions;
/// The app's state: the handles every handler can reach.
pub mod state;
/// Log-in throttling per client address and per (address, account).
pub mod throttle;
/// Personal API tokens.
pub mod tokens;
/// Views: which cards a subscription or page filter shows; enter / stay / leave.
pub mod views;
/// HTML pages and forms.
pub mod web;

pub use app::Application;
pub use config::Config;
pub use state::AppState;
