//! Liveboard: a starter template for collaborative, server-rendered Rust web apps.
//!
//! Read it along the spine: HTTP handler → repository (the only writer; change + event row in one
//! transaction, publish after commit) → event bus → hub (authorization and view filter per event)
//! → renderer (once per event and view variant) → WebSocket.

/// The JSON API under `/api`.
pub mod api;
/// Building the app: state, routes, middleware, serving and shutdown.
pub mod app;
/// Static assets embedded in the binary.
pub mod assets;
/// Sign-up, login, logout, the current-user extractor, CSRF and Origin checks.
pub mod auth;
/// `backup` and `restore`: a consistent copy of the live database, and putting one back.
pub mod backup;
/// Configuration from the environment, every key with a default.
pub mod config;
/// SQLite pools and the write transaction that records events.
pub mod db;
/// Ids, records, and parsed inputs.
pub mod domain;
/// The one error type.
pub mod error;
/// Events: the outbox rows and the in-process bus.
pub mod events;
/// Prometheus metrics.
pub mod metrics;
/// The realtime hub and the two wire protocols.
pub mod realtime;
/// Domain records into views; live fragments.
pub mod render;
/// Repositories: the only writers.
pub mod repo;
/// Demo data for `make dev`.
pub mod seed;
/// Personal API tokens.
pub mod tokens;
/// HTML pages and forms.
pub mod web;

pub use app::{AppState, Application};
pub use config::Config;
