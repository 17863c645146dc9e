//! The integration tests: one binary, so the app and its dependencies are linked once, not once per file.
//!
//! Each module starts the real app on port 0 with a fresh SQLite file (see `support`) and drives it
//! over real HTTP and real WebSockets, as a browser or a script would.

/// The app on port 0, cookie-keeping HTTP clients, WebSocket clients and their helpers.
mod support;

/// Activity and history from the event log, and "since your last visit".
mod activity;
/// Backups taken while the server runs, restores, and the resync they cause.
mod backup;
/// Checklist items on cards: forms, JSON, both sockets, non-members, bad input.
mod checklist;
/// A writer and two edges with Redis, as processes: order, resume across nodes, faults.
mod cluster;
/// Redis and `liveboard` processes on free ports for the cluster tests.
mod cluster_support;
/// Where the collaboration features meet: the inbox badge as cards, comments, boards and members go.
mod collaboration;
/// Hostile input: a full disk, login floods, throttles, stale rights, slow clients, probing ids.
mod hardening;
/// Auth, pages and forms, the JSON API, bad input, and the event outbox.
mod http;
/// App channels, @mentions, the inbox page and badge, the admin broadcast.
mod inbox;
/// The live board socket: fragments per view, resume and reset, authorization, back-pressure.
mod live;
/// The board page's forms keep refused text; page routes answer bad path values with the error page.
mod pages;
/// Presence, editing leases, typing indicators and live comments.
mod presence;
/// The JSON pub/sub protocol: patterns, custom events, limits, replay and resync, metrics.
mod realtime;
/// Undo: the inverse of a change as a new change, its rules, the notice and its plain form.
mod undo;
/// Named view subscriptions, acks, and API tokens for scripts.
mod views;
