//! Configuration: the one place every setting is read, each from the environment with a documented default.
//!
//! The README's configuration table documents every key; a test below keeps them in step.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

/// Everything the app can be told at start-up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address the HTTP server binds (`HOST` + `PORT`).
    pub addr: SocketAddr,
    /// SQLite database file (`DATABASE_URL`, `sqlite://path` or a plain path).
    pub database_path: PathBuf,
    /// Mark the session cookie `Secure` (`SECURE_COOKIES`); on in production, off for plain-http development.
    pub secure_cookies: bool,
    /// How long an idle session stays signed in (`SESSION_TTL_SECS`).
    pub session_ttl: Duration,
    /// Origins allowed to open WebSockets and post forms (`ALLOWED_ORIGINS`, comma separated).
    /// The server's own `http://host:port` origin is always allowed.
    pub allowed_origins: Vec<String>,
    /// Seed demo users and a board into an empty database (`SEED_DEMO`).
    pub seed_demo: bool,
    /// Events kept for replay: at most this many (`EVENTS_KEEP`) ...
    pub events_keep: i64,
    /// ... and none older than this (`EVENTS_MAX_AGE_SECS`).
    pub events_max_age: Duration,
    /// Notifications older than this are deleted, read or not (`NOTIFICATIONS_MAX_AGE_DAYS`).
    pub notifications_max_age: Duration,
    /// Server-to-client WebSocket ping interval (`WS_PING_SECS`).
    pub ws_ping_interval: Duration,
    /// A socket that has not answered for this long is closed (`WS_TIMEOUT_SECS`).
    pub ws_timeout: Duration,
    /// Largest WebSocket message accepted, in bytes (`WS_MAX_MESSAGE_BYTES`).
    pub ws_max_message: usize,
    /// Outgoing messages queued per connection before it is told to resync (`WS_QUEUE`).
    pub ws_queue: usize,
    /// Open WebSockets allowed per user (`WS_MAX_PER_USER`) ...
    pub ws_max_per_user: usize,
    /// ... and in total (`WS_MAX_TOTAL`).
    pub ws_max_total: usize,
    /// How long a user who closed their last tab stays in the presence bar (`PRESENCE_GRACE_MS`).
    pub presence_grace: Duration,
    /// How long an "is editing" lease lives unless renewed (`EDITING_TTL_MS`).
    pub editing_ttl: Duration,
    /// How long "is typing" shows after the last keystroke (`TYPING_TTL_MS`).
    pub typing_ttl: Duration,
    /// A request's head must arrive within this long of the connection opening or of the previous
    /// response (`HTTP_HEADER_TIMEOUT_SECS`), so it is also how long an idle keep-alive connection lives.
    pub http_header_timeout: Duration,
    /// A request must be answered within this long, its body included (`HTTP_REQUEST_TIMEOUT_SECS`).
    pub http_request_timeout: Duration,
    /// Open HTTP connections at most (`HTTP_MAX_CONNECTIONS`); a connection upgraded to a WebSocket
    /// leaves this count and is counted by `WS_MAX_TOTAL` instead.
    pub http_max_connections: usize,
    /// Password hashes computed at once (`PASSWORD_HASHES`, default twice the CPU cores) ...
    pub password_hashes: usize,
    /// ... and how many more may wait for one (`PASSWORD_QUEUE`); beyond, 503 with `Retry-After`.
    pub password_queue: usize,
    /// Password checks (log-ins and sign-ups) per client address per minute (`LOGIN_ATTEMPTS_PER_MINUTE`).
    pub login_attempts_per_minute: u32,
    /// The header a trusted reverse proxy puts the client's address in (`CLIENT_IP_HEADER`, e.g.
    /// `X-Forwarded-For`; its last entry is used). Unset: the TCP peer's address. Set it only when every
    /// request comes through that proxy, or clients can pick their own address.
    pub client_ip_header: Option<String>,
    /// Cards a board may hold (`BOARD_MAX_CARDS`; 0 for no limit).
    pub board_max_cards: i64,
    /// How long after a change its author may still undo it (`UNDO_WINDOW_SECS`; 0 turns undo off).
    pub undo_window: Duration,
    /// How this process takes part in a cluster (`LIVEBOARD_ROLE`, `REDIS_URL`, `WRITER_URL`, `NODE_ID`,
    /// `CLUSTER_SECRET`, `PRESENCE_NODE_TTL_MS`); see docs/SCALING.md.
    pub cluster: crate::cluster::settings::ClusterConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_path: PathBuf::from("data/liveboard.db"),
            secure_cookies: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            allowed_origins: Vec::new(),
            seed_demo: false,
            events_keep: 100_000,
            events_max_age: Duration::from_secs(7 * 24 * 3600),
            notifications_max_age: Duration::from_secs(90 * 24 * 3600),
            ws_ping_interval: Duration::from_secs(30),
            ws_timeout: Duration::from_secs(75),
            ws_max_message: 64 * 1024,
            ws_queue: 256,
            ws_max_per_user: 64,
            ws_max_total: 100_000,
            presence_grace: Duration::from_millis(4000),
            editing_ttl: Duration::from_millis(30_000),
            typing_ttl: Duration::from_millis(4000),
            http_header_timeout: Duration::from_secs(10),
            http_request_timeout: Duration::from_secs(30),
            http_max_connections: 4096,
            password_hashes: 2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            password_queue: 32,
            login_attempts_per_minute: 30,
            client_ip_header: None,
            board_max_cards: crate::domain::MAX_CARDS_PER_BOARD,
            undo_window: Duration::from_secs(600),
            cluster: crate::cluster::settings::ClusterConfig::default(),
        }
    }
}

impl Config {
    /// Reads the environment over the defaults; a malformed value is an error, never silently ignored.
    pub fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        let host: std::net::IpAddr = env("HOST", d.addr.ip())?;
        let port: u16 = env("PORT", d.addr.port())?;
        let database_path = match std::env::var("DATABASE_URL") {
            Ok(url) => parse_database_url(&url),
            Err(_) => d.database_path,
        };
        let origins = std::env::var("ALLOWED_ORIGINS").unwrap_or_default();
        Ok(Self {
            addr: SocketAddr::new(host, port),
            database_path,
            secure_cookies: env("SECURE_COOKIES", d.secure_cookies)?,
            session_ttl: Duration::from_secs(env("SESSION_TTL_SECS", d.session_ttl.as_secs())?),
            allowed_origins: origins
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            seed_demo: env("SEED_DEMO", d.seed_demo)?,
            events_keep: env("EVENTS_KEEP", d.events_keep)?,
            events_max_age: Duration::from_secs(env("EVENTS_MAX_AGE_SECS", d.events_max_age.as_secs())?),
            notifications_max_age: Duration::from_secs(
                env("NOTIFICATIONS_MAX_AGE_DAYS", d.notifications_max_age.as_secs() / 86_400)?.saturating_mul(86_400),
            ),
            ws_ping_interval: Duration::from_secs(env("WS_PING_SECS", d.ws_ping_interval.as_secs())?),
            ws_timeout: Duration::from_secs(env("WS_TIMEOUT_SECS", d.ws_timeout.as_secs())?),
            ws_max_message: env("WS_MAX_MESSAGE_BYTES", d.ws_max_message)?,
            ws_queue: env("WS_QUEUE", d.ws_queue)?,
            ws_max_per_user: env("WS_MAX_PER_USER", d.ws_max_per_user)?,
            ws_max_total: env("WS_MAX_TOTAL", d.ws_max_total)?,
            presence_grace: Duration::from_millis(env("PRESENCE_GRACE_MS", d.presence_grace.as_millis() as u64)?),
            editing_ttl: Duration::from_millis(env("EDITING_TTL_MS", d.editing_ttl.as_millis() as u64)?),
            typing_ttl: Duration::from_millis(env("TYPING_TTL_MS", d.typing_ttl.as_millis() as u64)?),
            http_header_timeout: Duration::from_secs(env("HTTP_HEADER_TIMEOUT_SECS", d.http_header_timeout.as_secs())?),
            http_request_timeout: Duration::from_secs(env(
                "HTTP_REQUEST_TIMEOUT_SECS",
                d.http_request_timeout.as_secs(),
            )?),
            http_max_connections: env("HTTP_MAX_CONNECTIONS", d.http_max_connections)?,
            password_hashes: env("PASSWORD_HASHES", d.password_hashes)?.max(1),
            password_queue: env("PASSWORD_QUEUE", d.password_queue)?,
            login_attempts_per_minute: env("LOGIN_ATTEMPTS_PER_MINUTE", d.login_attempts_per_minute)?,
            board_max_cards: env("BOARD_MAX_CARDS", d.board_max_cards)?,
            undo_window: Duration::from_secs(env("UNDO_WINDOW_SECS", d.undo_window.as_secs())?),
            client_ip_header: std::env::var("CLIENT_IP_HEADER")
                .ok()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
            cluster: crate::cluster::settings::ClusterConfig {
                role: env("LIVEBOARD_ROLE", d.cluster.role)?,
                redis_url: optional("REDIS_URL"),
                writer_url: optional("WRITER_URL").map(|u| u.trim_end_matches('/').to_owned()),
                node_id: optional("NODE_ID").unwrap_or(d.cluster.node_id),
                secret: optional("CLUSTER_SECRET"),
                presence_node_ttl: Duration::from_millis(env(
                    "PRESENCE_NODE_TTL_MS",
                    d.cluster.presence_node_ttl.as_millis() as u64,
                )?),
            }
            .checked()?,
        })
    }
}

/// `sqlite://data/x.db`, `sqlite:data/x.db` and `data/x.db` all name the file `data/x.db`.
pub fn parse_database_url(url: &str) -> PathBuf {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// A setting with no default: unset or blank is `None`.
fn optional(key: &str) -> Option<String> {
    std::env::var(key).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn env<T: FromStr>(key: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(key) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e| anyhow::anyhow!("{key}={v:?} is not valid: {e}")),
        _ => Ok(default),
    }
}

/// The demo accounts `make dev` seeds (`SEED_DEMO=true`), and the log-in page of such a server lists.
pub const DEMO_USERS: &[(&str, &str)] = &[("alice", "alice-password"), ("bob", "bob-password")];

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_read_from_the_environment_is_documented_in_the_readme() {
        let readme = include_str!("../README.md");
        let code = include_str!("config.rs");
        let code = &code[..code.find("#[cfg(test)]").unwrap()];
        // Every `env("KEY"` and `var("KEY"` call in the code above.
        let keys: Vec<&str> = code
            .split("env(\"")
            .chain(code.split("var(\"").skip(1))
            .chain(code.split("optional(\"").skip(1))
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(keys.len() >= 18, "found only {keys:?}");
        for key in keys {
            assert!(readme.contains(&format!("| `{key}` |")), "README's configuration table misses {key}");
        }
    }
}
