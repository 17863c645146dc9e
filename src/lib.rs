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
/// Password hashing through a bounded gate.
pub mod passwords;
/// The realtime hub and the two wire protocols.
pub mod realtime;
/// Domain records into views; live fragments.
pub mod render;
/// Repositories: the only writers.
pub mod repo;
/// Demo data for `make dev`.
pub mod seed;
/// Serving connections: timeouts and a connection cap around hyper.
pub mod serve;
/// Log-in throttling per client address and per (address, account).
pub mod throttle;
/// Personal API tokens.
pub mod tokens;
/// HTML pages and forms.
pub mod web;

pub use app::{AppState, Application};
pub use config::Config;
