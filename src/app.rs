//! Building the app: routes and middleware around the state, bound to a listener. `main` and the tests both
//! start the app through [`Application::build`], so tests run the real thing on port 0.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, State},
    http::{HeaderValue, StatusCode, header},
    middleware,
    response::IntoResponse,
    routing::get,
};
use tokio::net::TcpListener;
use tower_http::{set_header::SetResponseHeaderLayer, timeout::TimeoutLayer, trace::TraceLayer};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};
use tower_sessions_sqlx_store::SqliteStore;

use crate::{
    api, assets, auth,
    cluster::{
        self, Node, Role,
        reads::{Reads, WriterClient},
    },
    config::Config,
    db::Db,
    events::EventBus,
    hub::Hub,
    metrics::Metrics,
    passwords::Hashing,
    realtime,
    repo::events,
    serve,
    state::AppState,
    web,
};

/// Presence shared with every other node through Redis.
fn shared_presence(config: &Config) -> anyhow::Result<cluster::presence::SharedPresence> {
    let c = &config.cluster;
    let timing = crate::hub::presence::Timing::of(config);
    Ok(cluster::presence::SharedPresence::start(timing, c.node_id.clone(), redis_client(config)?, c.presence_node_ttl))
}

/// The Redis client of a writer or edge (the URL is checked at start-up: see `ClusterConfig::checked`).
fn redis_client(config: &Config) -> anyhow::Result<redis::Client> {
    let url = config.cluster.redis_url.as_deref().unwrap_or_default();
    redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL={url:?}: {e}"))
}

/// Largest request body accepted (forms and JSON).
pub const MAX_BODY: usize = 64 * 1024;

/// The app, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens the database (migrating it), starts the hub, and binds `config.addr` (port 0 picks a free one).
    /// An edge (`LIVEBOARD_ROLE=edge`) opens no database: see [`Application::build_edge`].
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.cluster.role == Role::Edge {
            return Self::build_edge(config).await;
        }
        let config = Arc::new(config);
        let bus = EventBus::new(16 * 1024);
        let mut db = Db::open(&config.database_path, bus.clone()).await?;
        db.max_cards_per_board = config.board_max_cards;
        bus.set_latest(events::latest_seq(&db.read).await?);
        if config.seed_demo && crate::seed::seed_demo(&db).await? {
            tracing::info!("seeded demo data");
        }

        let sqlite_store = SqliteStore::new(db.read.clone());
        sqlite_store.migrate().await?;
        let store = crate::sessions::CachedStore::new(sqlite_store);
        tokio::spawn(tower_sessions::session_store::ExpiredDeletion::continuously_delete_expired(
            store.clone(),
            tokio::time::Duration::from_secs(3600),
        ));
        let sessions = SessionManagerLayer::new(store)
            .with_name("liveboard_session")
            .with_secure(config.secure_cookies)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_expiry(Expiry::OnInactivity(time::Duration::seconds(config.session_ttl.as_secs() as i64)));

        let metrics = Arc::new(Metrics::new());
        let epoch = events::stream_info(&db.read).await?.epoch;
        let reads = Reads::Local(db.read.clone());
        let node = Arc::new(Node::new(&config.cluster));
        let mut hub = if config.cluster.role == Role::Writer {
            // The writer serves sockets too: its presence is shared with the edges'.
            let events = bus.subscribe();
            let access = crate::hub::access::BoardAccess::read(&reads).await?;
            let presence = Box::new(shared_presence(&config)?);
            Hub::start_with(&bus, events, access, reads.clone(), presence, epoch.clone(), metrics.clone(), &config)?
        } else {
            Hub::start(&bus, reads.clone(), epoch.clone(), metrics.clone(), &config).await?
        };
        if config.cluster.role == Role::Writer {
            // A writer also relays every committed event, and what its hub is asked to send or
            // close, to the Redis stream the edges read.
            let (outbox, controls) = tokio::sync::mpsc::unbounded_channel();
            hub = hub.with_outbox(outbox);
            let relay = cluster::relay::Relay {
                client: redis_client(&config)?,
                pool: db.read.clone(),
                epoch,
                keep: config.events_keep,
                node: node.clone(),
                metrics: metrics.clone(),
            };
            relay.spawn(&bus, controls);
        }
        // Channel messages queued in a write (a notification) go to the hub once it has committed.
        let to_hub = hub.clone();
        db.on_commit_broadcast(move |msg| to_hub.send_channel(msg));
        let state = AppState::new(crate::state::Handles {
            config: config.clone(),
            db,
            hub,
            metrics,
            assets_version: assets::version().into(),
            login_throttle: Default::default(),
            passwords: Arc::new(Hashing::new(config.password_hashes, config.password_queue)),
            reads,
            node,
        });

        spawn_pruning(state.clone());
        spawn_rights_check(state.clone());

        let mut router = Router::new()
            .merge(auth::router())
            .merge(web::router())
            .merge(api::router())
            .merge(realtime::router())
            .merge(assets::router());
        if config.cluster.role == Role::Writer {
            router = router.merge(cluster::internal::router());
        }
        let router = router
            .route("/health", get(health))
            .route("/metrics", get(metrics_text))
            .layer(middleware::from_fn(run_writes_to_completion))
            .layer(middleware::from_fn_with_state(state.clone(), auth::csrf_guard))
            .layer(sessions)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, config.http_request_timeout))
            .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
            .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
            // Spans name the path only: a query string may hold a WebSocket token, which is never logged.
            .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }))
            .with_state(state.clone());

        let listener = TcpListener::bind(config.addr).await?;
        Ok(Self { listener, router, state })
    }

    /// An edge: the same hub and socket endpoints, fed from the writer's Redis stream; board access
    /// and every other read from the writer; every other request forwarded to the writer.
    async fn build_edge(config: Config) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let writer_url = config.cluster.writer_url.clone().unwrap_or_default();
        let writer = Arc::new(WriterClient::new(&writer_url, config.cluster.secret.as_deref().unwrap_or_default()));
        let reads = Reads::Remote(writer.clone());
        // The writer may still be starting: wait for it a while rather than fail the deployment.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let info = loop {
            match reads.stream_info().await {
                Ok(info) => break info,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::info!(error = %e, writer = %writer_url, "waiting for the writer");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => anyhow::bail!("the writer at {writer_url} does not answer: {e}"),
            }
        };
        let bus = EventBus::new(16 * 1024);
        // Subscribed before access is read: events after its seq are applied on top (idempotently).
        let events = bus.subscribe();
        let rows = reads.access().await?;
        bus.set_latest(rows.seq);
        let access = crate::hub::access::BoardAccess::from_rows(rows.members, rows.done);
        let metrics = Arc::new(Metrics::new());
        let node = Arc::new(Node::new(&config.cluster));
        let presence = Box::new(shared_presence(&config)?);
        let hub = Hub::start_with(
            &bus,
            events,
            access,
            reads.clone(),
            presence,
            info.epoch.clone(),
            metrics.clone(),
            &config,
        )?;
        cluster::stream::EdgeStream {
            client: redis_client(&config)?,
            writer,
            bus: bus.clone(),
            hub: hub.clone(),
            epoch: info.epoch,
            from: rows.seq,
            node: node.clone(),
            metrics: metrics.clone(),
        }
        .spawn();
        // `AppState` holds a database handle; an edge's is a private, empty in-memory one that
        // nothing reads (every read of the socket path goes through `reads`), never the writer's file.
        let db = Db::open(std::path::Path::new(":memory:"), bus).await?;
        let state = AppState::new(crate::state::Handles {
            config: config.clone(),
            db,
            hub,
            metrics,
            assets_version: assets::version().into(),
            login_throttle: Default::default(),
            passwords: Arc::new(Hashing::new(1, 0)),
            reads,
            node,
        });
        spawn_rights_check(state.clone());
        let proxy = cluster::proxy::Proxy::new(&writer_url);
        let router = Router::new()
            .merge(realtime::router())
            .route("/health", get(health))
            .route("/metrics", get(metrics_text))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }))
            .with_state(state.clone())
            .fallback(move |req: axum::extract::Request| cluster::proxy::forward(proxy.clone(), req));
        let listener = TcpListener::bind(config.addr).await?;
        Ok(Self { listener, router, state })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The app's state, for tests and operators (e.g. the hub's custom-event API).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then closes every WebSocket with 1012 and waits for them (5 s at most).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let hub = self.state.hub.clone();
        let config = &self.state.config;
        let limits =
            serve::Limits { header_timeout: config.http_header_timeout, max_connections: config.http_max_connections };
        serve::serve(self.listener, self.router, limits, {
            let hub = hub.clone();
            async move {
                shutdown.await;
                // Upgraded connections are the sockets' own: ask them to close ourselves.
                hub.shutdown();
            }
        })
        .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while hub.open_connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

/// A state-changing request runs in its own task, so a client that goes away mid-request cannot
/// cancel a write halfway (leaving a transaction open, or committing without publishing).
async fn run_writes_to_completion(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    if req.method().is_safe() {
        return next.run(req).await;
    }
    match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The Content-Security-Policy: no inline script or style, nothing from elsewhere, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

fn header_layer(name: header::HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// How often open sockets are checked against their users' rights.
const RIGHTS_CHECK: Duration = Duration::from_secs(2);

/// A socket keeps the rights its user had when it connected; a demotion or deletion (the CLI runs
/// in another process, so no event reaches this one) closes that user's sockets within
/// [`RIGHTS_CHECK`], and they reconnect with their rights as they are now, or not at all.
fn spawn_rights_check(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RIGHTS_CHECK);
        loop {
            every.tick().await;
            let connected = state.hub.connected_users().await;
            if connected.is_empty() {
                continue;
            }
            let mut ids: Vec<crate::domain::UserId> = connected.iter().map(|(id, ..)| *id).collect();
            ids.dedup();
            match state.reads.rights(&ids).await {
                Ok(now) => {
                    for (id, was_admin, generation) in connected {
                        // Demoted, deleted, or (for a session's socket) a password reset since it connected.
                        let still = now.get(&id).is_some_and(|r| {
                            r.is_admin == was_admin && generation.is_none_or(|g| g == r.session_generation)
                        });
                        if !still {
                            state.hub.close_user(id);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "checking open sockets' rights failed"),
            }
        }
    });
}

/// Prunes the event log every ten minutes (and once at start).
fn spawn_pruning(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            match events::prune(&state.db, state.config.events_keep, state.config.events_max_age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned old events"),
                Err(e) => tracing::warn!(error = %e, "pruning events failed"),
            }
            match crate::repo::notifications::prune(&state.db, state.config.notifications_max_age).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned old notifications"),
                Err(e) => tracing::warn!(error = %e, "pruning notifications failed"),
            }
        }
    });
}

/// `GET /health`: 200 `{"status":"ok"}` when the database answers reads and the writer can write;
/// otherwise 503 with the reason, so a load balancer stops sending writes to a server that cannot make them.
/// A writer and an edge add their `role`, `node_id` and whether `redis` answers; an edge is healthy
/// while it can serve its sockets, so a Redis outage shows in `redis` without failing the check.
async fn health(State(state): State<AppState>) -> axum::response::Response {
    let node = &state.node;
    let cluster = |mut body: serde_json::Value| {
        if node.role != Role::Single {
            body["role"] = node.role.as_str().into();
            body["node_id"] = node.id.clone().into();
            body["redis"] = node.redis_up().into();
        }
        axum::Json(body)
    };
    let unavailable = |reason: String| {
        (StatusCode::SERVICE_UNAVAILABLE, cluster(serde_json::json!({ "status": "unavailable", "reason": reason })))
            .into_response()
    };
    if node.role == Role::Edge {
        return (StatusCode::OK, cluster(serde_json::json!({ "status": "ok" }))).into_response();
    }
    let db = &state.db;
    if sqlx::query_scalar::<_, i64>("select 1").fetch_one(&db.read).await.is_err() {
        return unavailable("the database does not answer reads".into());
    }
    match db.check_writer(Duration::from_secs(2)).await {
        Ok(()) => (StatusCode::OK, cluster(serde_json::json!({ "status": "ok" }))).into_response(),
        Err(reason) => unavailable(reason),
    }
}

/// `GET /metrics`: Prometheus text format.
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}
