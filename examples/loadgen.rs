//! Load generator for `make bench`: drives a running Liveboard over real HTTP and real WebSockets and
//! writes docs/BENCHMARKS.md with what it measured.
//!
//! bench/run.sh (builds, starts the release server) → **loadgen** → HTTP writes and WebSocket
//! subscribers on 127.0.0.x → latencies, server RSS (/proc/PID/status) and /metrics → docs/BENCHMARKS.md.
//!
//! Usage: `loadgen --base http://127.0.0.1:PORT --pid PID --out docs/BENCHMARKS.md
//! [--peer-base http://127.0.0.1:PORT2 --peer-pid PID2]`, with the user in `BENCH_USER` /
//! `LIVEBOARD_PASSWORD` (the Node peer of bench/peer/ creates the same user). With a peer, the write
//! throughput runs side by side (`throughput-peer`: Liveboard, Node, Liveboard, Node, … for
//! `BENCH_ROUNDS` rounds at 0 and at 100 subscribers) and `held` runs against both servers.
//! Knobs (environment): `BENCH_QUICK=1` (small N, short runs), `BENCH_SCENARIOS` (comma separated:
//! `held,fanout-json,fanout-html,throughput,throughput-peer,views`), `BENCH_FANOUT_N` (e.g. `100,1000`),
//! `BENCH_SECS` (fanout write phase), `BENCH_HELD_MAX`, `BENCH_HELD_STEPS`, `BENCH_TP_SECS` (one
//! throughput round), `BENCH_ROUNDS`, `BENCH_WARMUP_SECS`, `BENCH_MAX_SECS` (watchdog for the whole
//! run). Every loop is bounded in count and time.

use std::{
    fmt::Write as _,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures_util::{SinkExt, StreamExt, stream};
use serde_json::{Value, json};
use tokio::{
    net::{TcpSocket, TcpStream},
    sync::watch,
    task::JoinHandle,
};
use tokio_tungstenite::{
    WebSocketStream, client_async_with_config,
    tungstenite::{Message, client::IntoClientRequest, protocol::WebSocketConfig},
};

type Ws = WebSocketStream<TcpStream>;
type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Marks a card title with its send time, so every subscriber can compute its own latency.
const MARK: &str = "lbt=";
/// Client sockets are spread over this many loopback source addresses (127.0.0.2 ..), so that
/// tens of thousands of connections never run out of ephemeral ports on one address.
const SOURCE_IPS: usize = 16;
/// Handshakes in flight at once (below the server's listen backlog).
const CONNECT_CONCURRENCY: usize = 200;

// ---------------------------------------------------------------- settings

struct Settings {
    quick: bool,
    scenarios: Vec<String>,
    fanout_n: Vec<usize>,
    fanout_secs: f64,
    rate: f64,
    held_steps: Vec<usize>,
    held_max: usize,
    tp_secs: f64,
    tp_writers: usize,
    tp_subs: Vec<usize>,
    /// Side-by-side rounds per subscriber count (each round: one Liveboard run, then one Node run).
    rounds: usize,
    /// Closed-loop warm-up of each server before its first side-by-side round (not counted).
    warmup_secs: f64,
    view_subs: usize,
    view_writes: usize,
}

impl Settings {
    /// `peer`: a Node peer was given, so the default run includes the side-by-side comparison.
    fn from_env(peer: bool) -> Self {
        let quick = env_flag("BENCH_QUICK");
        let list = |key: &str, default: &str| -> Vec<usize> {
            std::env::var(key)
                .unwrap_or_else(|_| default.into())
                .split(',')
                .filter_map(|s| s.trim().replace('_', "").parse().ok())
                .collect()
        };
        let num = |key: &str, default: f64| -> f64 {
            std::env::var(key).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
        };
        Self {
            quick,
            scenarios: std::env::var("BENCH_SCENARIOS")
                .unwrap_or_else(|_| {
                    let peer = if peer { ",throughput-peer" } else { "" };
                    format!("held,fanout-json,fanout-html,throughput{peer},views")
                })
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            fanout_n: list("BENCH_FANOUT_N", if quick { "100,1000" } else { "100,1000,5000,10000" }),
            fanout_secs: num("BENCH_SECS", if quick { 3.0 } else { 15.0 }),
            rate: num("BENCH_RATE", 50.0),
            held_steps: list("BENCH_HELD_STEPS", if quick { "1000" } else { "10000" }),
            held_max: num("BENCH_HELD_MAX", if quick { 2000.0 } else { 50_000.0 }) as usize,
            tp_secs: num("BENCH_TP_SECS", if quick { 3.0 } else { 10.0 }),
            tp_writers: 32,
            tp_subs: vec![0, 100],
            rounds: (num("BENCH_ROUNDS", 3.0) as usize).max(1),
            warmup_secs: num("BENCH_WARMUP_SECS", if quick { 1.0 } else { 2.0 }),
            view_subs: num("BENCH_VIEW_SUBS", if quick { 200.0 } else { 1000.0 }) as usize,
            view_writes: num("BENCH_VIEW_WRITES", if quick { 30.0 } else { 200.0 }) as usize,
        }
    }
    fn wants(&self, s: &str) -> bool {
        self.scenarios.iter().any(|x| x == s)
    }
}

fn env_flag(key: &str) -> bool {
    std::env::var(key).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
}

// ---------------------------------------------------------------- the server under test

/// The server under test: its address, one logged-in HTTP client, and its PID for RSS.
struct Target {
    base: String,
    addr: SocketAddr,
    http: reqwest::Client,
    /// `liveboard_session=…`, sent on every request and every WebSocket handshake.
    cookie: String,
    pid: u32,
    next_ip: AtomicUsize,
}

impl Target {
    async fn login(base: &str, pid: u32, user: &str, password: &str) -> Res<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Long enough that an overloaded server's answer still arrives: the generator never cancels a write.
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(64)
            .build()?;
        let resp =
            http.post(format!("{base}/login")).form(&[("username", user), ("password", password)]).send().await?;
        let cookie = resp
            .cookies()
            .find(|c| c.name() == "liveboard_session")
            .map(|c| format!("{}={}", c.name(), c.value()))
            .ok_or_else(|| format!("login as {user} failed: HTTP {}", resp.status()))?;
        let host = base.trim_start_matches("http://").trim_end_matches('/');
        let addr: SocketAddr = host.parse().map_err(|e| format!("--base must be http://IP:PORT ({e})"))?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), addr, http, cookie, pid, next_ip: AtomicUsize::new(0) })
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Res<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).header("cookie", &self.cookie);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            return Err(format!("{path}: HTTP {status}: {}", text.chars().take(200).collect::<String>()).into());
        }
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }

    /// A fresh board (its id and done column), so each scenario starts from an empty board.
    async fn board(&self, name: &str) -> Res<(i64, i64)> {
        let b = self.api(reqwest::Method::POST, "/api/boards", Some(json!({ "name": name }))).await?;
        let id = b["id"].as_i64().ok_or("board without id")?;
        Ok((id, b["done_column_id"].as_i64().unwrap_or(0)))
    }

    /// The board's snapshot seq: a board socket opened with `since=<seq>` needs no re-render.
    async fn seq(&self, board: i64) -> Res<i64> {
        let s = self.api(reqwest::Method::GET, &format!("/api/boards/{board}"), None).await?;
        Ok(s["seq"].as_i64().ok_or("snapshot without seq")?)
    }

    /// Cards on a board: the events a scenario really committed (a write that timed out may still commit).
    async fn card_count(&self, board: i64) -> Res<u64> {
        let s = self.api(reqwest::Method::GET, &format!("/api/boards/{board}"), None).await?;
        Ok(s["cards"].as_array().map_or(0, |c| c.len() as u64))
    }

    /// Creates a card titled with the send time; returns the card.
    async fn create_card(&self, board: i64, extra: Value) -> Res<Value> {
        let mut body = json!({ "title": format!("{MARK}{} bench", now_ns()) });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        self.api(reqwest::Method::POST, &format!("/api/boards/{board}/cards"), Some(body)).await
    }

    async fn metrics(&self) -> Res<String> {
        Ok(self.http.get(format!("{}/metrics", self.base)).send().await?.text().await?)
    }

    async fn metric(&self, name: &str) -> f64 {
        match self.metrics().await {
            Ok(text) => metric(&text, name).unwrap_or(f64::NAN),
            Err(_) => f64::NAN,
        }
    }

    /// Server RSS in KiB, from /proc/PID/status.
    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }

    /// CPU time (user + system) the server has used so far, in seconds.
    fn cpu_secs(&self) -> f64 {
        cpu_secs(&format!("/proc/{}/stat", self.pid))
    }

    /// The server's open-files soft limit: the ceiling on how many sockets it can hold.
    fn server_nofile(&self) -> Option<usize> {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.pid)).ok()?;
        limits.lines().find(|l| l.starts_with("Max open files"))?.split_whitespace().nth(3)?.parse().ok()
    }

    /// Opens a WebSocket from the next loopback source address, authenticated by the session cookie.
    async fn open_ws(&self, path: &str) -> Res<Ws> {
        let i = self.next_ip.fetch_add(1, Ordering::Relaxed);
        let ip = Ipv4Addr::new(127, 0, 0, 2 + (i % SOURCE_IPS) as u8);
        let sock = TcpSocket::new_v4()?;
        sock.set_reuseaddr(true)?;
        sock.bind(SocketAddr::new(ip.into(), 0))?;
        let mut req = format!("ws://{}{path}", self.addr).into_client_request()?;
        req.headers_mut().insert("cookie", self.cookie.parse()?);
        // Small client buffers: the generator holds as many sockets as the server does.
        let cfg = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let ws = tokio::time::timeout(Duration::from_secs(30), async move {
            let stream = sock.connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (ws, _) = client_async_with_config(req, stream, Some(cfg)).await?;
            Res::Ok(ws)
        })
        .await
        .map_err(|_| "WebSocket handshake timed out")??;
        Ok(ws)
    }

    /// A JSON-protocol socket subscribed to `cards.*` (returns after the server's `subscribed`).
    async fn json_sub(&self) -> Res<Ws> {
        let mut ws = self.open_ws("/realtime/subscribe").await?;
        expect(&mut ws, "connected").await?;
        ws.send(Message::text(r#"{"type":"subscribe","pattern":"cards.*"}"#)).await?;
        expect(&mut ws, "subscribed").await?;
        Ok(ws)
    }

    /// A board-page socket, starting at `since` with the page's filter `query`.
    async fn html_sub(&self, board: i64, since: i64, query: &str) -> Res<Ws> {
        let q = if query.is_empty() { String::new() } else { format!("&{query}") };
        self.open_ws(&format!("/boards/{board}/live?since={since}{q}")).await
    }

    /// Waits (bounded) until the server's connection gauge reaches `want` (board sockets register after the handshake).
    async fn wait_connections(&self, want: usize, up: bool, limit: Duration) -> f64 {
        let deadline = Instant::now() + limit;
        loop {
            let n = self.metric("liveboard_ws_connections").await;
            if (up && n >= want as f64) || (!up && n <= want as f64) || Instant::now() > deadline {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Reads until a JSON message of type `ty` (bounded by time).
async fn expect(ws: &mut Ws, ty: &str) -> Res<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.map_err(|_| format!("no {ty:?} in time"))?;
        match msg {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str())?;
                if v["type"] == ty {
                    return Ok(());
                }
                if v["type"] == "error" {
                    return Err(format!("server said {t}").into());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err("closed".into()),
        }
    }
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// The send time in a frame carrying a bench card, if any.
fn marked_ns(text: &str) -> Option<u64> {
    let rest = &text[text.find(MARK)? + MARK.len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Opens `n` sockets with bounded concurrency; returns the open ones and the first error.
async fn open_many<F, Fut>(n: usize, f: F) -> (Vec<Ws>, usize, Option<String>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Res<Ws>>,
{
    let results: Vec<Res<Ws>> = stream::iter(0..n).map(f).buffer_unordered(CONNECT_CONCURRENCY).collect().await;
    let mut open = Vec::with_capacity(n);
    let mut failed = 0;
    let mut first = None;
    for r in results {
        match r {
            Ok(ws) => open.push(ws),
            Err(e) => {
                failed += 1;
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (open, failed, first)
}

// ---------------------------------------------------------------- receivers

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    /// Latency of each bench card, in microseconds.
    lat_us: Vec<u32>,
    frames: u64,
    resyncs: u64,
    closed: bool,
}

/// Readers of many sockets: each counts frames and marked cards until told to stop.
struct Receivers {
    stop: watch::Sender<bool>,
    marked: Arc<AtomicU64>,
    frames: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<Seen>>,
}

impl Receivers {
    fn spawn(sockets: Vec<Ws>) -> Self {
        let (stop, rx) = watch::channel(false);
        let marked = Arc::new(AtomicU64::new(0));
        let frames = Arc::new(AtomicU64::new(0));
        let tasks = sockets
            .into_iter()
            .map(|mut ws| {
                let mut rx = rx.clone();
                let (marked, frames) = (marked.clone(), frames.clone());
                tokio::spawn(async move {
                    let mut seen = Seen::default();
                    loop {
                        tokio::select! {
                            _ = rx.wait_for(|s| *s) => break,
                            m = ws.next() => match m {
                                Some(Ok(Message::Text(t))) => {
                                    let arrived = now_ns();
                                    seen.frames += 1;
                                    frames.fetch_add(1, Ordering::Relaxed);
                                    let t = t.as_str();
                                    if let Some(sent) = marked_ns(t) {
                                        let us = arrived.saturating_sub(sent) / 1000;
                                        seen.lat_us.push(us.min(u32::MAX as u64) as u32);
                                        marked.fetch_add(1, Ordering::Relaxed);
                                    } else if t.contains("resync_required") || t.contains("action=\"reset\"") {
                                        seen.resyncs += 1;
                                    }
                                }
                                Some(Ok(_)) => {}
                                _ => { seen.closed = true; break; }
                            },
                        }
                    }
                    seen
                })
            })
            .collect();
        Self { stop, marked, frames, tasks }
    }

    /// Waits (bounded) until `want` marked frames arrived; returns whether they all did.
    async fn wait_marked(&self, want: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.marked.load(Ordering::Relaxed) < want {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Waits (bounded) until no frame arrived for `quiet`.
    async fn wait_quiet(&self, quiet: Duration, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut last = self.frames.load(Ordering::Relaxed);
        while Instant::now() < deadline {
            tokio::time::sleep(quiet).await;
            let now = self.frames.load(Ordering::Relaxed);
            if now == last {
                return;
            }
            last = now;
        }
    }

    /// Stops every reader (closing its socket) and gathers what they saw.
    async fn finish(self) -> Vec<Seen> {
        let _ = self.stop.send(true);
        let mut out = Vec::with_capacity(self.tasks.len());
        for t in self.tasks {
            if let Ok(s) = t.await {
                out.push(s);
            }
        }
        out
    }
}

/// Latency summary over every delivery.
struct Lat {
    p50: f64,
    p99: f64,
    max: f64,
    count: u64,
}

fn latency(seen: &[Seen]) -> Lat {
    let mut all: Vec<u32> = seen.iter().flat_map(|s| s.lat_us.iter().copied()).collect();
    all.sort_unstable();
    let pick = |q: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((q * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1;
        all[i] as f64 / 1000.0
    };
    Lat { p50: pick(0.50), p99: pick(0.99), max: pick(1.0), count: all.len() as u64 }
}

// ---------------------------------------------------------------- writers

/// Open loop: one create every 1/rate seconds, each on its own task, whatever the server's latency.
async fn open_loop(t: &Arc<Target>, board: i64, rate: f64, secs: f64) -> (u64, u64) {
    let total = (rate * secs).round() as usize;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total);
    for _ in 0..total {
        tick.tick().await;
        let t = t.clone();
        tasks.push(tokio::spawn(async move { t.create_card(board, json!({})).await.is_ok() }));
    }
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        match task.await {
            Ok(true) => ok += 1,
            _ => failed += 1,
        }
    }
    (ok, failed)
}

/// Closed loop: `writers` tasks each creating cards back to back for `secs`. Returns (ok, failed, elapsed).
async fn closed_loop(t: &Arc<Target>, board: i64, writers: usize, secs: f64) -> (u64, u64, f64) {
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(secs);
    let tasks: Vec<JoinHandle<(u64, u64)>> = (0..writers)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0, 0);
                while Instant::now() < until {
                    match t.create_card(board, json!({})).await {
                        Ok(_) => ok += 1,
                        Err(_) => failed += 1,
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for task in tasks {
        if let Ok((o, f)) = task.await {
            ok += o;
            failed += f;
        }
    }
    (ok, failed, start.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------- scenarios

#[derive(Clone, Copy, PartialEq)]
enum Proto {
    Json,
    Html,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON `cards.*`",
            Self::Html => "HTML board socket",
        }
    }
}

struct FanoutRow {
    proto: Proto,
    n: usize,
    opened: usize,
    writes_ok: u64,
    writes_failed: u64,
    lat: Lat,
    expected: u64,
    resyncs: u64,
    rss_mib: f64,
    load: String,
    /// Server and generator CPU time per delivered frame during the write phase, in microseconds.
    server_us: f64,
    client_us: f64,
    note: String,
}

async fn fanout(t: &Arc<Target>, s: &Settings, proto: Proto, n: usize) -> Res<FanoutRow> {
    let (board, _) = t.board(&format!("fanout {} {n}", proto.name())).await?;
    let since = t.seq(board).await?;
    let base = t.metric("liveboard_ws_connections").await;
    eprintln!("  fanout {}: opening {n} sockets", proto.name());
    let (socks, failed, err) = open_many(n, |_| async move {
        match proto {
            Proto::Json => t.json_sub().await,
            Proto::Html => t.html_sub(board, since, "").await,
        }
    })
    .await;
    let opened = socks.len();
    t.wait_connections(base as usize + opened, true, Duration::from_secs(30)).await;
    let rx = Receivers::spawn(socks);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resyncs0 = t.metric("liveboard_ws_resyncs_total").await;
    let (srv0, own0) = (t.cpu_secs(), cpu_secs("/proc/self/stat"));
    eprintln!("  fanout: writing {} cards/s for {} s", s.rate, s.fanout_secs);
    let (ok, wfailed) = open_loop(t, board, s.rate, s.fanout_secs).await;
    let rss = t.rss_kib();
    rx.wait_marked(ok * opened as u64, Duration::from_secs(20)).await;
    // Writes that timed out on the client may still have committed: count what the board holds.
    let committed = t.card_count(board).await.unwrap_or(ok).max(ok);
    let expected = committed * opened as u64;
    rx.wait_marked(expected, Duration::from_secs(5)).await;
    let (srv1, own1) = (t.cpu_secs(), cpu_secs("/proc/self/stat"));
    let resyncs1 = t.metric("liveboard_ws_resyncs_total").await;
    let seen = rx.finish().await;
    let lat = latency(&seen);
    let per_frame = |cpu: f64| cpu * 1e6 / lat.count.max(1) as f64;
    let (server_us, client_us) = (per_frame(srv1 - srv0), per_frame(own1 - own0));
    let closed = seen.iter().filter(|x| x.closed).count();
    let client_resyncs: u64 = seen.iter().map(|x| x.resyncs).sum();
    t.wait_connections(base as usize, false, Duration::from_secs(30)).await;
    let mut note = String::new();
    if failed > 0 {
        let _ = write!(note, "{failed} sockets failed to open ({}). ", err.unwrap_or_default());
    }
    if closed > 0 {
        let _ = write!(note, "{closed} sockets closed by the server. ");
    }
    let server_resyncs = (resyncs1 - resyncs0).max(0.0) as u64;
    eprintln!(
        "  → delivered {}/{} p50 {:.2} ms p99 {:.2} ms max {:.2} ms, resyncs {}",
        lat.count, expected, lat.p50, lat.p99, lat.max, server_resyncs
    );
    Ok(FanoutRow {
        proto,
        n,
        opened,
        writes_ok: ok,
        writes_failed: wfailed,
        lat,
        expected,
        resyncs: server_resyncs.max(client_resyncs),

        rss_mib: rss as f64 / 1024.0,
        load: loadavg(),
        server_us,
        client_us,
        note,
    })
}

struct HeldRow {
    n: usize,
    rss_before: u64,
    rss_with: u64,
    reached_by_one_write: u64,
    note: String,
}

/// Ramps authenticated, subscribed, idle JSON connections through `steps` up to `max`, reading the
/// server's RSS at each step; at the top, one write checks that every socket is alive and subscribed.
async fn held(t: &Arc<Target>, s: &Settings) -> Res<(Vec<HeldRow>, String)> {
    let limit_note;
    let mut max = s.held_max;
    let own = nofile_soft();
    match (t.server_nofile(), own) {
        (Some(srv), Some(own)) if srv.min(own) < max + 200 => {
            max = srv.min(own).saturating_sub(200);
            limit_note = format!(
                "capped at {max}: the open-files limit (RLIMIT_NOFILE) is {} for the server and {own} for the \
                 generator, and could not be raised further (hard limit)",
                srv
            );
        }
        _ => limit_note = String::new(),
    }
    let mut steps: Vec<usize> = s.held_steps.iter().copied().filter(|&n| n < max).collect();
    steps.push(max);
    let (board, _) = t.board("held connections").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = t.rss_kib();
    let base = t.metric("liveboard_ws_connections").await as usize;
    // Each step's sockets are read in the background at once, so idle sockets keep answering pings.
    let mut readers: Vec<Receivers> = Vec::new();
    let mut n = 0;
    let mut rows = Vec::new();
    let mut stopped = String::new();
    for &step in &steps {
        let need = step - n;
        eprintln!("  held: opening {need} more (to {step})");
        let start = Instant::now();
        let (more, failed, err) = open_many(need, |_| t.json_sub()).await;
        n += more.len();
        readers.push(Receivers::spawn(more));
        eprintln!("  held: {n} open after {:.1} s", start.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let rss_with = t.rss_kib();
        let mut note = String::new();
        if failed > 0 {
            note = format!("{failed} failed: {}", err.unwrap_or_default());
        }
        rows.push(HeldRow { n, rss_before, rss_with, reached_by_one_write: 0, note });
        if failed > 0 {
            stopped = "stopped at the first failures".into();
            break;
        }
    }
    let _ = t.create_card(board, json!({})).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let reached = |rs: &[Receivers]| rs.iter().map(|r| r.marked.load(Ordering::Relaxed)).sum::<u64>();
    while reached(&readers) < n as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(last) = rows.last_mut() {
        last.reached_by_one_write = reached(&readers);
    }
    for r in readers {
        r.finish().await;
    }
    t.wait_connections(base, false, Duration::from_secs(60)).await;
    let note = [limit_note, stopped].into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>().join("; ");
    Ok((rows, note))
}

/// utime + stime of a process, from /proc/…/stat (fields 14 and 15, in clock ticks of 1/100 s).
fn cpu_secs(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// The machine's 1-minute load average: other work on the machine shares the two cores with the run.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

fn nofile_soft() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    limits.lines().find(|l| l.starts_with("Max open files"))?.split_whitespace().nth(3)?.parse().ok()
}

struct ThroughputRow {
    subs: usize,
    /// CPU time the server and the generator used during the writes, in seconds.
    server_cpu: f64,
    client_cpu: f64,
    load: String,
    ok: u64,
    committed: u64,
    failed: u64,
    secs: f64,
    delivered: u64,
    lat: Lat,
    resyncs: u64,
}

async fn throughput(t: &Arc<Target>, s: &Settings, subs: usize) -> Res<ThroughputRow> {
    let (board, _) = t.board(&format!("throughput {subs}")).await?;
    let base = t.metric("liveboard_ws_connections").await as usize;
    let (socks, _, _) = open_many(subs, |_| t.json_sub()).await;
    let opened = socks.len();
    let rx = Receivers::spawn(socks);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resyncs0 = t.metric("liveboard_ws_resyncs_total").await;
    eprintln!("  throughput: {} writers for {} s, {subs} subscribers", s.tp_writers, s.tp_secs);
    let (srv0, own0) = (t.cpu_secs(), cpu_secs("/proc/self/stat"));
    let (ok, failed, secs) = closed_loop(t, board, s.tp_writers, s.tp_secs).await;
    let (server_cpu, client_cpu) = (t.cpu_secs() - srv0, cpu_secs("/proc/self/stat") - own0);
    let load = loadavg();
    rx.wait_marked(ok * opened as u64, Duration::from_secs(20)).await;
    let committed = t.card_count(board).await.unwrap_or(ok).max(ok);
    rx.wait_marked(committed * opened as u64, Duration::from_secs(5)).await;
    let resyncs1 = t.metric("liveboard_ws_resyncs_total").await;
    let seen = rx.finish().await;
    let lat = latency(&seen);
    t.wait_connections(base, false, Duration::from_secs(30)).await;
    eprintln!("  → {:.0} creates/s ({ok} ok, {failed} failed)", ok as f64 / secs);
    Ok(ThroughputRow {
        subs: opened,
        server_cpu,
        client_cpu,
        load,
        ok,
        committed,
        failed,
        secs,
        delivered: lat.count,
        lat,
        resyncs: (resyncs1 - resyncs0).max(0.0) as u64,
    })
}

/// Which server a side-by-side run measured.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// This app (named apart from the product, which a rename rewrites).
    Ours,
    Node,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Self::Ours => "Liveboard",
            Self::Node => "Node",
        }
    }
}

/// One round of the side-by-side throughput: a server, the subscribers asked for, and what it did.
struct PeerRun {
    server: Server,
    subs: usize,
    round: usize,
    row: ThroughputRow,
}

impl PeerRun {
    fn rate(&self) -> f64 {
        self.row.ok as f64 / self.row.secs
    }
}

/// The write throughput side by side: at each subscriber count, `rounds` rounds of one Liveboard run
/// then one Node run (L, N, L, N, …), so that a change in the machine's load (other work on the two
/// cores) falls on both servers alike. Each run is [`throughput`] on a fresh board of that server.
async fn throughput_vs(l: &Arc<Target>, n: &Arc<Target>, s: &Settings) -> (Vec<PeerRun>, Vec<String>) {
    let (mut runs, mut errors) = (Vec::new(), Vec::new());
    let both = [(Server::Ours, l), (Server::Node, n)];
    // Not counted: the first requests pay for connection set-up, a cold page cache and Node's JIT.
    if s.warmup_secs > 0.0 {
        for (server, t) in both {
            eprintln!("  side by side: warming {} up for {} s", server.name(), s.warmup_secs);
            match t.board("warm-up").await {
                Ok((board, _)) => drop(closed_loop(t, board, s.tp_writers, s.warmup_secs).await),
                Err(e) => errors.push(format!("warm-up of {}: {e}", server.name())),
            }
        }
    }
    for &subs in &s.tp_subs {
        for round in 1..=s.rounds {
            for (server, t) in both {
                eprintln!(
                    "scenario: throughput side by side, {subs} subscribers, round {round}/{}: {}",
                    s.rounds,
                    server.name()
                );
                match throughput(t, s, subs).await {
                    Ok(row) => runs.push(PeerRun { server, subs, round, row }),
                    Err(e) => errors.push(format!("throughput {} {subs} round {round}: {e}", server.name())),
                }
                // Let the last commits, deliveries and closes settle before the other server starts.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    (runs, errors)
}

/// (median, min, max) of some rates.
type Spread = (f64, f64, f64);

/// Median, min and max of some rates (the median of an even count is the mean of the middle two).
fn spread(mut v: Vec<f64>) -> Option<Spread> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    let median = if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 };
    Some((median, v[0], v[v.len() - 1]))
}

/// The side-by-side rates of one server at one subscriber count.
fn rates(runs: &[PeerRun], server: Server, subs: usize) -> Vec<f64> {
    runs.iter().filter(|r| r.server == server && r.subs == subs).map(PeerRun::rate).collect()
}

/// Liveboard's and Node's (median, min, max) creates/s at `subs` subscribers, if both ran.
fn side_by_side(r: &Results, subs: usize) -> Option<(Spread, Spread)> {
    Some((spread(rates(&r.peer_runs, Server::Ours, subs))?, spread(rates(&r.peer_runs, Server::Node, subs))?))
}

/// RSS per idle connection of both servers at the same step (10,000 if both ramps reached it, else
/// Liveboard's first step): (connections, Liveboard KiB, Node KiB).
fn held_vs(r: &Results) -> Option<(usize, f64, f64)> {
    let first = r.held.first()?;
    let n = r.held.iter().find(|h| h.n == 10_000).map_or(first.n, |h| h.n);
    Some((n, per_conn(&r.held, n)?, per_conn(&r.held_peer, n)?))
}

/// RSS per idle connection of a ramp at `n` connections, in KiB.
fn per_conn(rows: &[HeldRow], n: usize) -> Option<f64> {
    rows.iter().find(|h| h.n == n).map(|h| h.rss_with.saturating_sub(h.rss_before) as f64 / h.n.max(1) as f64)
}

/// A board page's filter, as the client models it to know which frames each view should get.
struct ViewDef {
    query: &'static str,
    hide_done: bool,
    assignee: Option<bool>, // Some(true) = me, Some(false) = none
    label: Option<&'static str>,
}

const VIEWS: &[ViewDef] = &[
    ViewDef { query: "", hide_done: false, assignee: None, label: None },
    ViewDef { query: "hide_done=1", hide_done: true, assignee: None, label: None },
    ViewDef { query: "assignee=me", hide_done: false, assignee: Some(true), label: None },
    ViewDef { query: "assignee=none", hide_done: false, assignee: Some(false), label: None },
    ViewDef { query: "label=x", hide_done: false, assignee: None, label: Some("x") },
    ViewDef { query: "q=lbt", hide_done: false, assignee: None, label: None },
    ViewDef { query: "hide_done=1&assignee=me", hide_done: true, assignee: Some(true), label: None },
    ViewDef { query: "hide_done=1&label=x", hide_done: true, assignee: None, label: Some("x") },
    ViewDef { query: "assignee=none&label=y", hide_done: false, assignee: Some(false), label: Some("y") },
    ViewDef { query: "assignee=me&label=x&q=bench", hide_done: false, assignee: Some(true), label: Some("x") },
];

#[derive(Clone, Copy)]
struct CardModel {
    mine: bool,
    x: bool,
    y: bool,
    done: bool,
}

impl ViewDef {
    fn matches(&self, c: &CardModel) -> bool {
        (!self.hide_done || !c.done)
            && self.assignee.is_none_or(|me| me == c.mine)
            && match self.label {
                Some("x") => c.x,
                Some("y") => c.y,
                _ => true,
            }
    }
}

struct ViewsRow {
    subs: usize,
    views: usize,
    creates: u64,
    moves: u64,
    renders: f64,
    distinct: u64,
    frames: u64,
    expected_frames: u64,
}

async fn views(t: &Arc<Target>, s: &Settings) -> Res<ViewsRow> {
    let (board, done) = t.board("views").await?;
    let since = t.seq(board).await?;
    let base = t.metric("liveboard_ws_connections").await as usize;
    let per = (s.view_subs / VIEWS.len()).max(1);
    let mut socks = Vec::new();
    for v in VIEWS {
        let (more, failed, err) = open_many(per, |_| t.html_sub(board, since, v.query)).await;
        if failed > 0 {
            return Err(format!("view {:?}: {failed} sockets failed: {}", v.query, err.unwrap_or_default()).into());
        }
        socks.extend(more);
    }
    let subs = socks.len();
    t.wait_connections(base + subs, true, Duration::from_secs(30)).await;
    let rx = Receivers::spawn(socks);
    // Let the connect-time frames (presence bar) pass before counting.
    rx.wait_quiet(Duration::from_millis(700), Duration::from_secs(15)).await;
    let frames0 = rx.frames.load(Ordering::Relaxed);
    let renders0 = t.metric("liveboard_fragment_renders_total").await;
    eprintln!("  views: {subs} board sockets over {} views, {} writes", VIEWS.len(), s.view_writes);
    let (mut creates, mut moves, mut distinct, mut expected) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..s.view_writes {
        let c = CardModel { mine: i % 2 == 0, x: i % 4 == 1 || i % 4 == 3, y: i % 4 >= 2, done: false };
        let labels: Vec<&str> = [(c.x, "x"), (c.y, "y")].into_iter().filter(|(on, _)| *on).map(|(_, l)| l).collect();
        let extra = json!({ "labels": labels, "assignee": if c.mine { Some("bench") } else { None } });
        let card = t.create_card(board, extra).await?;
        creates += 1;
        let seeing = VIEWS.iter().filter(|v| v.matches(&c)).count() as u64;
        // Every page gets the event's activity entry: with the card's `upsert` where the view shows
        // the card, alone where it does not. Each is one fragment, shared by every view that gets it.
        expected += VIEWS.len() as u64 * per as u64;
        distinct += u64::from(seeing > 0) + u64::from(seeing < VIEWS.len() as u64);
        if i % 3 == 2 {
            // Move it to Done: views hiding done cards get a `remove`, the others an `upsert`.
            let id = card["id"].as_i64().ok_or("card without id")?;
            t.api(reqwest::Method::PATCH, &format!("/api/cards/{id}"), Some(json!({ "column_id": done }))).await?;
            moves += 1;
            let after = CardModel { done: true, ..c };
            let (mut upsert, mut remove, mut entry_only) = (false, false, false);
            for v in VIEWS {
                match (v.matches(&c), v.matches(&after)) {
                    (_, true) => upsert = true,
                    (true, false) => remove = true,
                    (false, false) => entry_only = true,
                }
                expected += per as u64;
            }
            distinct += u64::from(upsert) + u64::from(remove) + u64::from(entry_only);
        }
    }
    rx.wait_quiet(Duration::from_millis(700), Duration::from_secs(20)).await;
    let renders = t.metric("liveboard_fragment_renders_total").await - renders0;
    let frames = rx.frames.load(Ordering::Relaxed) - frames0;
    rx.finish().await;
    t.wait_connections(base, false, Duration::from_secs(30)).await;
    eprintln!(
        "  → {renders} renders for {} events ({distinct} distinct fragments), {frames}/{expected} frames",
        creates + moves
    );
    Ok(ViewsRow { subs, views: VIEWS.len(), creates, moves, renders, distinct, frames, expected_frames: expected })
}

// ---------------------------------------------------------------- report

fn ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn pct(a: u64, b: u64) -> String {
    if b == 0 { "–".into() } else { format!("{:.2} %", 100.0 * a as f64 / b as f64) }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

fn machine() -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("PRETTY_NAME=")).map(|l| l[12..].trim_matches('"').to_owned()))
        .unwrap_or_default();
    vec![
        ("CPU", format!("{model}, {cores} cores (nproc)")),
        ("Memory", mem),
        ("Kernel", format!("Linux {kernel}{}", if os.is_empty() { String::new() } else { format!(" ({os})") })),
        ("Open files (RLIMIT_NOFILE)", nofile_soft().map(|n| n.to_string()).unwrap_or_default()),
    ]
}

#[derive(Default)]
struct Results {
    held: Vec<HeldRow>,
    held_note: String,
    /// The same ramp against the Node peer.
    held_peer: Vec<HeldRow>,
    held_peer_note: String,
    /// The side-by-side throughput rounds (Liveboard and Node).
    peer_runs: Vec<PeerRun>,
    fanout: Vec<FanoutRow>,
    throughput: Vec<ThroughputRow>,
    views: Option<ViewsRow>,
    errors: Vec<String>,
    load_start: String,
}

/// Liveboard's throughput rows: from the plain scenario, or else the median Liveboard round of the
/// side-by-side at each subscriber count.
fn liveboard_throughput<'a>(r: &'a Results, s: &Settings) -> (Vec<&'a ThroughputRow>, bool) {
    if !r.throughput.is_empty() {
        return (r.throughput.iter().collect(), false);
    }
    let rows = s
        .tp_subs
        .iter()
        .filter_map(|&subs| {
            let mut mine: Vec<&PeerRun> =
                r.peer_runs.iter().filter(|p| p.server == Server::Ours && p.subs == subs).collect();
            mine.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            mine.get(mine.len().saturating_sub(1) / 2).map(|p| &p.row)
        })
        .collect::<Vec<_>>();
    let from_rounds = !rows.is_empty();
    (rows, from_rounds)
}

/// The target of issue 13: Liveboard's creates/s at least this many times the Node peer's.
const PEER_RATIO_TARGET: f64 = 1.5;

/// `1,234 (1,100–1,300)`: a median and its range.
fn median_range((m, lo, hi): Spread) -> String {
    format!("{} ({}–{})", thousands(m as u64), thousands(lo as u64), thousands(hi as u64))
}

/// The side-by-side section: Liveboard against the Node peer, same generator, same run.
fn peer_section(o: &mut String, r: &Results, s: &Settings) {
    if r.peer_runs.is_empty() && r.held_peer.is_empty() {
        return;
    }
    let peer = std::env::var("BENCH_PEER_VERSION").unwrap_or_else(|_| "Node".into());
    let command = std::env::var("BENCH_COMMAND").unwrap_or_else(|_| "make bench".into());
    let _ = writeln!(
        o,
        "## Write path vs the Node peer\n\nLiveboard against [bench/peer/server.js](../bench/peer/server.js), a \
         hand-written server on one thread ({peer}; each card and its event row in one `BEGIN IMMEDIATE` \
         transaction, WAL, `synchronous=NORMAL`, the session checked against its sessions table on every request), \
         driven by this same generator in the same run. Each run: {} closed-loop writers creating cards over HTTP \
         for {} s on a fresh board, subscribers being JSON sockets on `cards.*`; runs interleaved Liveboard, Node, \
         Liveboard, Node, … ({} rounds per subscriber count, after a {} s warm-up of each server). Medians over \
         the rounds, (min–max). Target: Liveboard ≥ {PEER_RATIO_TARGET}× the peer's creates/s.\n",
        s.tp_writers, s.tp_secs, s.rounds, s.warmup_secs
    );
    let _ = writeln!(
        o,
        "| scenario | Liveboard creates/s | Node creates/s | Liveboard / Node | target | verdict |\n|---|---:|---:|---:|---:|---|"
    );
    for &subs in &s.tp_subs {
        let Some((l, n)) = side_by_side(r, subs) else { continue };
        let ratio = l.0 / n.0.max(1e-9);
        let _ = writeln!(
            o,
            "| creates/s, {} writers, {subs} subscribers | {} | {} | {ratio:.2}× | ≥ {PEER_RATIO_TARGET}× | {} |",
            s.tp_writers,
            median_range(l),
            median_range(n),
            verdict(ratio >= PEER_RATIO_TARGET)
        );
    }
    if let Some((n, l, p)) = held_vs(r) {
        let _ = writeln!(
            o,
            "| RSS per idle connection at {} | {l:.1} KiB | {p:.1} KiB | {:.2}× | below the peer | {} |",
            thousands(n as u64),
            l / p.max(1e-9),
            verdict(l < p)
        );
    }
    let _ = writeln!(o, "\nCommand: `{command}`.\n");
    if r.peer_runs.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "Every round (CPU µs per create = CPU time used during the writes / creates; the generator shares the two \
         cores):\n\n\
         | subscribers | round | server | creates/s | ok | failed | delivered / expected | p50 | p99 | resyncs | CPU µs per create: server / generator | load avg |\n\
         |---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &r.peer_runs {
        let tp = &p.row;
        let exp = tp.committed * tp.subs as u64;
        let per = |cpu: f64| cpu * 1e6 / tp.ok.max(1) as f64;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} / {:.0} | {} |",
            p.subs,
            p.round,
            p.server.name(),
            thousands(p.rate() as u64),
            thousands(tp.ok),
            tp.failed,
            if tp.subs == 0 {
                "–".into()
            } else {
                format!("{} / {} ({})", thousands(tp.delivered), thousands(exp), pct(tp.delivered, exp))
            },
            ms(tp.lat.p50),
            ms(tp.lat.p99),
            tp.resyncs,
            per(tp.server_cpu),
            per(tp.client_cpu),
            tp.load
        );
    }
    o.push('\n');
}

fn report(r: &Results, s: &Settings, secs: f64) -> String {
    let mut o = String::new();
    let (tp_rows, tp_from_rounds) = liveboard_throughput(r, s);
    let date = std::env::var("BENCH_DATE").unwrap_or_default();
    let commit = std::env::var("BENCH_COMMIT").unwrap_or_default();
    let _ = writeln!(o, "# Benchmarks\n");
    let _ = writeln!(
        o,
        "Generated by `make bench` ([bench/run.sh](../bench/run.sh) → [examples/loadgen.rs](../examples/loadgen.rs)); \
         do not edit by hand, run it again.{}\n",
        if s.quick {
            " **Quick mode** (`BENCH_QUICK=1`): small N and short runs, not the reference numbers."
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "```sh\nmake bench                 # the full run: about 7 minutes after the build\nBENCH_QUICK=1 make bench   # about 1.5 minutes, written to target/bench/BENCHMARKS.quick.md\nBENCH_SCENARIOS=throughput-peer BENCH_TP_SECS=5 make bench   # only Liveboard vs the Node peer, about 1.5 minutes\n```\n"
    );
    let _ = writeln!(o, "| run | |\n|---|---|");
    let _ = writeln!(o, "| date | {date} |");
    if !commit.is_empty() {
        let _ = writeln!(o, "| commit | `{commit}` |");
    }
    for (k, v) in machine() {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    let _ = writeln!(
        o,
        "| setup | release build, `RUST_LOG=warn`, `WS_QUEUE` default (256); server and load generator on the same \
         machine, over loopback; the generator's sockets come from 127.0.0.2–127.0.0.{} |",
        1 + SOURCE_IPS
    );
    let _ = writeln!(o, "| duration | {:.0} s for the whole run |", secs);
    let _ = writeln!(
        o,
        "| load average | {} at the start, {} at the end (1 minute; other work on the machine counts too) |\n",
        r.load_start,
        loadavg()
    );

    // Summary against the targets.
    let _ = writeln!(o, "## Results against the targets\n");
    let _ = writeln!(o, "| what | target | Liveboard | verdict |\n|---|---|---|---|");
    let fan = |p: Proto, n: usize| r.fanout.iter().find(|f| f.proto == p && f.n == n);
    for (n, target) in [(1000usize, 10.0f64), (5000, 50.0), (10_000, 250.0)] {
        for p in [Proto::Json, Proto::Html] {
            if let Some(f) = fan(p, n) {
                let full = f.lat.count == f.expected && f.opened == f.n && f.expected > 0;
                let _ = writeln!(
                    o,
                    "| fanout p99, {} subscribers, {} | ≤ {} and 100 % delivered | {} ({} delivered) | {} |",
                    thousands(n as u64),
                    p.name(),
                    ms(target),
                    ms(f.lat.p99),
                    pct(f.lat.count, f.expected),
                    verdict(full && f.lat.p99 <= target)
                );
            }
        }
    }
    for h in &r.held {
        let per = (h.rss_with.saturating_sub(h.rss_before)) as f64 / h.n.max(1) as f64;
        if h.n >= 10_000 || h.n == r.held.first().map_or(0, |f| f.n) {
            let _ = writeln!(
                o,
                "| RSS per idle connection at {} | ≤ 8 KiB | {:.1} KiB | {} |",
                thousands(h.n as u64),
                per,
                verdict(per <= 8.0)
            );
        }
    }
    if let Some(h) = r.held.last() {
        let _ = writeln!(
            o,
            "| connections held | 50,000 | {} | {} |",
            thousands(h.n as u64),
            verdict(h.n >= 50_000 && h.reached_by_one_write == h.n as u64)
        );
    }
    for tp in &tp_rows {
        let target = if tp.subs == 0 { 12_000.0 } else { 3_000.0 };
        let rate = tp.ok as f64 / tp.secs;
        let _ = writeln!(
            o,
            "| creates/s, 32 writers, {} subscribers | ≥ {} | {} | {} |",
            tp.subs,
            thousands(target as u64),
            thousands(rate as u64),
            verdict(rate >= target)
        );
    }
    for &subs in &s.tp_subs {
        if let Some((l, n)) = side_by_side(r, subs) {
            let ratio = l.0 / n.0.max(1e-9);
            let _ = writeln!(
                o,
                "| creates/s vs the Node peer, {} writers, {subs} subscribers (medians) | ≥ {PEER_RATIO_TARGET}× | \
                 {ratio:.2}× ({} vs {}) | {} |",
                s.tp_writers,
                thousands(l.0 as u64),
                thousands(n.0 as u64),
                verdict(ratio >= PEER_RATIO_TARGET)
            );
        }
    }
    if let Some((n, l, p)) = held_vs(r) {
        let _ = writeln!(
            o,
            "| RSS per idle connection at {} vs the Node peer | below the peer | {l:.1} vs {p:.1} KiB | {} |",
            thousands(n as u64),
            verdict(l < p)
        );
    }
    if let Some(v) = &r.views {
        let events = v.creates + v.moves;
        let _ = writeln!(
            o,
            "| renders per event, {} board sockets over {} views | = distinct fragments ({:.2}) | {:.2} | {} |",
            v.subs,
            v.views,
            v.distinct as f64 / events.max(1) as f64,
            v.renders / events.max(1) as f64,
            verdict(v.renders.round() as u64 == v.distinct)
        );
    }
    o.push('\n');
    peer_section(&mut o, r, s);

    if !r.fanout.is_empty() {
        let _ = writeln!(
            o,
            "## Fanout latency\n\nOne board, N subscribers, one open-loop writer creating cards over HTTP at {} writes/s \
             for {} s. Latency = arrival at each subscriber − the send time written in the card's title, over every \
             delivery.\n",
            s.rate, s.fanout_secs
        );
        let _ = writeln!(
            o,
            "| protocol | subscribers | writes | p50 | p99 | max | delivered / expected | resyncs | CPU µs per frame: server / generator | server RSS | load avg | notes |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for f in &r.fanout {
            let _ = writeln!(
                o,
                "| {} | {} | {}{} | {} | {} | {} | {} / {} ({}) | {} | {:.1} / {:.1} | {:.0} MiB | {} | {} |",
                f.proto.name(),
                thousands(f.opened as u64),
                f.writes_ok,
                if f.writes_failed > 0 { format!(" (+{} failed)", f.writes_failed) } else { String::new() },
                ms(f.lat.p50),
                ms(f.lat.p99),
                ms(f.lat.max),
                thousands(f.lat.count),
                thousands(f.expected),
                pct(f.lat.count, f.expected),
                f.resyncs,
                f.server_us,
                f.client_us,
                f.rss_mib,
                f.load,
                f.note.trim()
            );
        }
        o.push('\n');
    }

    if !r.held.is_empty() {
        let _ = writeln!(
            o,
            "## Connections held\n\nAuthenticated JSON sockets (session cookie), each subscribed to `cards.*`, then idle. \
             RSS per connection = (server RSS with N − RSS before the first socket) / N. At the top, one card is \
             created and every socket must receive it.\n"
        );
        let _ = writeln!(
            o,
            "| server | connections | RSS before | RSS with N | per connection | one write reached | notes |\n|---|---:|---:|---:|---:|---:|---|"
        );
        let rows = r.held.iter().map(|h| (Server::Ours, h)).chain(r.held_peer.iter().map(|h| (Server::Node, h)));
        for (server, h) in rows {
            let per = (h.rss_with.saturating_sub(h.rss_before)) as f64 / h.n.max(1) as f64;
            let _ = writeln!(
                o,
                "| {} | {} | {:.1} MiB | {:.1} MiB | {:.1} KiB | {} | {} |",
                server.name(),
                thousands(h.n as u64),
                h.rss_before as f64 / 1024.0,
                h.rss_with as f64 / 1024.0,
                per,
                if h.reached_by_one_write > 0 { thousands(h.reached_by_one_write) } else { "–".into() },
                h.note
            );
        }
        if !r.held_note.is_empty() {
            let _ = writeln!(o, "\nThe ramp was {}.", r.held_note);
        }
        if !r.held_peer_note.is_empty() && r.held_peer_note != r.held_note {
            let _ = writeln!(o, "\nThe Node peer's ramp was {}.", r.held_peer_note);
        }
        o.push('\n');
    }

    if !tp_rows.is_empty() {
        let _ = writeln!(
            o,
            "## Write throughput\n\nCard creates over HTTP (`POST /api/boards/{{id}}/cards`, session cookie), closed loop, \
             {} concurrent writers for {} s. Subscribers are JSON sockets on `cards.*`.{}\n",
            s.tp_writers,
            s.tp_secs,
            if tp_from_rounds { " Each row is Liveboard's median round of the side-by-side above." } else { "" }
        );
        let _ = writeln!(
            o,
            "| subscribers | creates/s | ok | failed | delivered / expected | p50 | p99 | resyncs |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for tp in &tp_rows {
            let exp = tp.committed * tp.subs as u64;
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                tp.subs,
                thousands((tp.ok as f64 / tp.secs) as u64),
                thousands(tp.ok),
                tp.failed,
                if tp.subs == 0 {
                    "–".into()
                } else {
                    format!("{} / {} ({})", thousands(tp.delivered), thousands(exp), pct(tp.delivered, exp))
                },
                ms(tp.lat.p50),
                ms(tp.lat.p99),
                tp.resyncs
            );
        }
        o.push('\n');
    }

    if let Some(v) = &r.views {
        let events = v.creates + v.moves;
        let _ = writeln!(
            o,
            "## View variants\n\n{} HTML board sockets, {} on each of {} filtered views ({}). {} cards created with \
             varying assignee and labels, {} of them then moved to Done. Renders are the server's \
             `liveboard_fragment_renders_total` before and after the writes; the expected frames are computed by the \
             generator from each view's filter.\n",
            v.subs,
            v.subs / v.views,
            v.views,
            VIEWS
                .iter()
                .map(|v| if v.query.is_empty() { "`(none)`".to_owned() } else { format!("`{}`", v.query) })
                .collect::<Vec<_>>()
                .join(", "),
            v.creates,
            v.moves
        );
        let _ = writeln!(
            o,
            "| events | renders | renders / event | distinct fragments / event | frames delivered / expected | frames per render |\n|---:|---:|---:|---:|---:|---:|"
        );
        let _ = writeln!(
            o,
            "| {} | {} | {:.2} | {:.2} | {} / {} ({}) | {:.0} |\n",
            events,
            v.renders,
            v.renders / events.max(1) as f64,
            v.distinct as f64 / events.max(1) as f64,
            thousands(v.frames),
            thousands(v.expected_frames),
            pct(v.frames, v.expected_frames),
            v.frames as f64 / v.renders.max(1.0)
        );
    }

    if !r.errors.is_empty() {
        let _ = writeln!(o, "## Scenarios that failed to run\n");
        for e in &r.errors {
            let _ = writeln!(o, "- {e}");
        }
        o.push('\n');
    }

    o.push_str(HOW_TO_READ);
    if r.peer_runs.is_empty() && r.held_peer.is_empty() {
        o.push_str(COMPARISON);
    } else {
        o.push_str(&COMPARISON.replacen(
            "not measured by this script.",
            "not measured by this script (the Node peer's, from this run, are in *Write path vs the Node peer* above).",
            1,
        ));
    }
    o
}

const HOW_TO_READ: &str = "## How to read this

- **Load average** (per run and per fanout row) above 2 means other work shared the two cores with
  the server and the generator; compare runs only at a similar load.
- **Fanout latency** is end to end: HTTP request, SQLite commit, the hub, the per-socket queue, the
  WebSocket write, and the generator's own read. The generator runs on the same two cores as the
  server, so at 10,000 subscribers half of the work measured is the client's; a real deployment
  spreads the clients over many machines. Latency is taken from every delivery, not per write.
- **Delivered / expected** must be 100 %: a subscriber that fell behind is told to resync (counted in
  *resyncs*, from `liveboard_ws_resyncs_total`), never silently skipped.
- **RSS per connection** counts only the server's memory (VmRSS), not kernel socket buffers. It
  includes allocator slack, so it is an upper bound on what a connection holds. The allocator keeps
  what the ramp freed, so *server RSS* in the fanout table stays near its peak.
- **CPU µs per frame** is the CPU time the server (and the generator) used during a fanout's write
  phase divided by the frames delivered: 1,000,000 / that number is how many frames per second one
  core can push.
- **Write throughput** is closed loop: 32 writers, each sending its next create when the previous
  one is answered. Every create is a `BEGIN IMMEDIATE` transaction with its event row.
- **Renders per event** should equal the number of *distinct* fragments (one `upsert`, plus one
  `remove` when a card leaves some views, plus the activity entry alone for the views that show
  nothing of the change; every frame carries the entry), not the number of subscribers: the hub
  renders each fragment once and shares the bytes with every socket.

";

const COMPARISON: &str = "## Comparison

Reference numbers for the same scenarios under the same conditions (2 cores, generator on the same machine),
from the issue that set the targets; they were not measured by this script.

| | target | PocketBase 0.40 | Node ws + better-sqlite3 |
|---|---|---|---|
| fanout p99, 1,000 subscribers | ≤ 10 ms | 6.1 s | 19 ms |
| fanout p99, 5,000 subscribers | ≤ 50 ms | 61 s | 21 s |
| fanout, 10,000 subscribers at 50 writes/s | 100 % delivered, p99 ≤ 250 ms | – | – |
| RSS per idle connection | ≤ 8 KiB (at 10,000) | 48 KiB | 6.9 KiB |
| connections held | 50,000 | – | – |
| creates/s with 100 subscribers | ≥ 3,000 | 461 | 1,052 |
| creates/s with no subscriber | ≥ 12,000 | 4,295 | 11,982 |
";

// ---------------------------------------------------------------- main

async fn run_fanouts(t: &Arc<Target>, s: &Settings, r: &mut Results, which: impl Fn(usize) -> bool) {
    for (key, proto) in [("fanout-json", Proto::Json), ("fanout-html", Proto::Html)] {
        if !s.wants(key) {
            continue;
        }
        for &n in s.fanout_n.iter().filter(|&&n| which(n)) {
            eprintln!("scenario: fanout {} × {n}", proto.name());
            match fanout(t, s, proto, n).await {
                Ok(row) => r.fanout.push(row),
                Err(e) => r.errors.push(format!("fanout {} {n}: {e}", proto.name())),
            }
        }
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

#[tokio::main]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = arg(&args, "--base").ok_or(
        "usage: loadgen --base http://127.0.0.1:PORT --pid PID [--out FILE] [--peer-base http://127.0.0.1:PORT --peer-pid PID]",
    )?;
    let pid: u32 = arg(&args, "--pid").ok_or("--pid PID of the server is required")?.parse()?;
    let out = arg(&args, "--out");
    // The Node peer (bench/peer/), measured side by side when given.
    let peer = match (arg(&args, "--peer-base"), arg(&args, "--peer-pid")) {
        (Some(b), Some(p)) => Some((b, p.parse::<u32>()?)),
        (None, None) => None,
        _ => return Err("--peer-base and --peer-pid go together".into()),
    };
    let user = std::env::var("BENCH_USER").unwrap_or_else(|_| "bench".into());
    let password = std::env::var("LIVEBOARD_PASSWORD").map_err(|_| "LIVEBOARD_PASSWORD is required")?;
    let s = Settings::from_env(peer.is_some());

    // Everything stops by itself, even if the server hangs.
    let max_secs: u64 = std::env::var("BENCH_MAX_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(1400);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(max_secs)).await;
        eprintln!("loadgen: watchdog: {max_secs} s elapsed, giving up");
        std::process::exit(3);
    });

    let started = Instant::now();
    let t = Arc::new(Target::login(&base, pid, &user, &password).await?);
    let n = match &peer {
        Some((b, p)) => {
            Some(Arc::new(Target::login(b, *p, &user, &password).await.map_err(|e| format!("the Node peer: {e}"))?))
        }
        None => None,
    };
    let mut r = Results { load_start: loadavg(), ..Results::default() };

    if s.wants("held") {
        eprintln!("scenario: connections held");
        match held(&t, &s).await {
            Ok((rows, note)) => {
                r.held = rows;
                r.held_note = note;
            }
            Err(e) => r.errors.push(format!("connections held: {e}")),
        }
        if let Some(n) = &n {
            eprintln!("scenario: connections held, the Node peer");
            match held(n, &s).await {
                Ok((rows, note)) => {
                    r.held_peer = rows;
                    r.held_peer_note = note;
                }
                Err(e) => r.errors.push(format!("connections held, the Node peer: {e}")),
            }
        }
    }
    // Light fanouts first, then throughput and views, and the fanouts that may overload the machine last,
    // so an overloaded run cannot spoil the others.
    let heavy = |n: usize| n > 1000;
    run_fanouts(&t, &s, &mut r, |n| !heavy(n)).await;
    // With a peer, the side-by-side rounds are the throughput measurement (Liveboard's median round
    // fills the plain table too), so Liveboard is not measured a second time.
    let side_by_side = s.wants("throughput-peer");
    match (&n, side_by_side) {
        (Some(n), true) => {
            let (runs, errors) = throughput_vs(&t, n, &s).await;
            r.peer_runs = runs;
            r.errors.extend(errors);
        }
        (None, true) => r.errors.push("throughput-peer: no Node peer given (--peer-base, --peer-pid)".into()),
        _ => {}
    }
    if s.wants("throughput") && !(side_by_side && n.is_some()) {
        for &subs in &s.tp_subs {
            eprintln!("scenario: throughput, {subs} subscribers");
            match throughput(&t, &s, subs).await {
                Ok(row) => r.throughput.push(row),
                Err(e) => r.errors.push(format!("throughput {subs}: {e}")),
            }
        }
    }
    if s.wants("views") {
        eprintln!("scenario: view variants");
        match views(&t, &s).await {
            Ok(row) => r.views = Some(row),
            Err(e) => r.errors.push(format!("views: {e}")),
        }
    }
    run_fanouts(&t, &s, &mut r, heavy).await;
    r.fanout.sort_by_key(|f| (f.proto == Proto::Html, f.n));

    let doc = report(&r, &s, started.elapsed().as_secs_f64());
    match out {
        Some(path) => {
            std::fs::write(&path, &doc)?;
            eprintln!("loadgen: wrote {path}");
        }
        None => print!("{doc}"),
    }
    Ok(())
}
