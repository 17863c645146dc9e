//! Test support: the real app on port 0 with a fresh SQLite file, a cookie-keeping HTTP client per
//! user, and real WebSocket clients (tokio-tungstenite). No mocks.

use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use liveboard::{AppState, Application, Config, auth};
use reqwest::{
    Client, Response,
    cookie::{CookieStore, Jar},
};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running app with its own database; dropped with the test.
pub struct TestApp {
    pub base: String,
    /// The port the app bound (for raw TCP clients).
    pub port: u16,
    pub state: AppState,
    /// The database's folder, when the app made its own.
    _dir: Option<tempfile::TempDir>,
}

/// Starts the app with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app after letting the test adjust its config.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config =
        Config { addr: "127.0.0.1:0".parse().unwrap(), database_path: dir.path().join("test.db"), ..Config::default() };
    tweak(&mut config);
    let app = Application::build(config).await.expect("app builds");
    let port = app.port();
    let state = app.state();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp { base: format!("http://127.0.0.1:{port}"), port, state, _dir: Some(dir) }
}

/// An app on a database file the test chose, with the way to stop it (restarts, restores).
pub struct StoppableApp {
    pub app: TestApp,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts the app on `database`, which may already exist.
pub async fn start_app_at(database: &std::path::Path) -> StoppableApp {
    let config =
        Config { addr: "127.0.0.1:0".parse().unwrap(), database_path: database.to_owned(), ..Config::default() };
    let app = Application::build(config).await.expect("app builds");
    let (port, state) = (app.port(), app.state());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    StoppableApp { app: TestApp { base: format!("http://127.0.0.1:{port}"), port, state, _dir: None }, stop, server }
}

impl StoppableApp {
    /// Shuts the server down as SIGTERM does, then closes its database, as the end of the process would.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.server).await.expect("the server stops").unwrap().unwrap();
        self.app.state.db.close().await;
    }
}

/// One signed-in (or anonymous) user: a client with its own cookie jar.
pub struct User {
    pub name: String,
    pub http: Client,
    pub jar: Arc<Jar>,
    pub base: String,
}

impl TestApp {
    /// A client with an empty cookie jar.
    pub fn anonymous(&self) -> User {
        anonymous_at(&self.base)
    }

    /// Signs a new user up through the real form and returns their logged-in client.
    pub async fn signup(&self, name: &str) -> User {
        let mut u = self.anonymous();
        let res = u.form("/signup", &[("username", name), ("password", &password(name))]).await;
        assert_eq!(res.status(), 303, "signup of {name} failed: {}", res.text().await.unwrap_or_default());
        u.name = name.to_owned();
        u
    }

    /// Creates an admin through the same function the CLI uses, then logs in.
    pub async fn admin(&self, name: &str) -> User {
        auth::create_user(&self.state.db, name, &password(name), true).await.expect("admin created");
        let mut u = self.anonymous();
        let res = u.form("/login", &[("username", name), ("password", &password(name))]).await;
        assert_eq!(res.status(), 303);
        u.name = name.to_owned();
        u
    }

    /// Latest published seq.
    pub fn seq(&self) -> i64 {
        self.state.db.bus().latest()
    }

    /// A metric's value from `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.base)).await.unwrap().text().await.unwrap();
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

/// A client with an empty cookie jar for a server at `base`.
pub fn anonymous_at(base: &str) -> User {
    let jar = Arc::new(Jar::default());
    let http =
        Client::builder().cookie_provider(jar.clone()).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    User { name: String::new(), http, jar, base: base.to_owned() }
}

pub fn password(name: &str) -> String {
    format!("{name}-secret-pw")
}

impl User {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// A same-origin form post, as the browser sends it.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        self.send_json(reqwest::Method::GET, path, None).await
    }
    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn patch_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.send_json(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> u16 {
        self.http.delete(self.url(path)).send().await.unwrap().status().as_u16()
    }

    /// Creates a board (Todo / Doing / Done) and returns (board id, column ids).
    pub async fn board(&self, name: &str) -> (i64, Vec<i64>) {
        let (s, b) = self.post_json("/api/boards", json!({"name": name})).await;
        assert_eq!(s, 201, "{b}");
        let id = b["id"].as_i64().unwrap();
        let (_, snap) = self.get_json(&format!("/api/boards/{id}")).await;
        let cols = snap["columns"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        (id, cols)
    }

    /// Creates a card through the API and returns it.
    pub async fn card(&self, board: i64, body: Value) -> Value {
        let (s, c) = self.post_json(&format!("/api/boards/{board}/cards"), body).await;
        assert_eq!(s, 201, "{c}");
        c
    }

    /// Adds a member through the API.
    pub async fn add_member(&self, board: i64, username: &str) {
        let (s, b) = self.post_json(&format!("/api/boards/{board}/members"), json!({"username": username})).await;
        assert_eq!(s, 201, "{b}");
    }

    /// The Cookie header this user's browser would send.
    pub fn cookie(&self) -> Option<String> {
        self.jar.cookies(&self.base.parse().unwrap()).map(|v| v.to_str().unwrap().to_owned())
    }

    /// Opens a WebSocket at `path` with this user's cookie (no Origin, like a script).
    pub async fn ws(&self, path: &str) -> Ws {
        self.try_ws(path, None).await.expect("websocket opens")
    }

    /// Opens a WebSocket, optionally with an Origin header; the error carries the refused status.
    pub async fn try_ws(&self, path: &str, origin: Option<&str>) -> Result<Ws, u16> {
        let url = format!("{}{path}", self.base.replacen("http", "ws", 1));
        let mut req = url.into_client_request().unwrap();
        if let Some(c) = self.cookie() {
            req.headers_mut().insert("cookie", c.parse().unwrap());
        }
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("websocket failed: {e}"),
        }
    }
}

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(5);

/// Sends a JSON message.
pub async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next text message (pings are answered by tungstenite while reading), or panics after [`WAIT`].
pub async fn next_text(ws: &mut Ws) -> String {
    tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return t.to_string(),
                Some(Ok(Message::Close(f))) => panic!("socket closed: {f:?}"),
                Some(Ok(_)) => continue,
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("a message within 5 s")
}

/// The next JSON message.
pub async fn next_json(ws: &mut Ws) -> Value {
    serde_json::from_str(&next_text(ws).await).expect("JSON message")
}

/// Reads JSON messages until one satisfies `pred`; returns it and the ones skipped.
pub async fn until_json(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
    let mut skipped = Vec::new();
    loop {
        let v = next_json(ws).await;
        if pred(&v) {
            return (v, skipped);
        }
        skipped.push(v);
    }
}

/// Waits for the close frame and returns its code.
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(f))) => return f.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("closed within 5 s")
}

/// A JSON connection to `/realtime/subscribe` that has read its `connected` message.
pub async fn realtime(user: &User, query: &str) -> (Ws, Value) {
    let mut ws = user.ws(&format!("/realtime/subscribe{query}")).await;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "connected", "{hello}");
    (ws, hello)
}

/// Subscribes and waits for the acknowledgement.
pub async fn subscribe(ws: &mut Ws, pattern: &str) {
    send(ws, json!({"type": "subscribe", "pattern": pattern})).await;
    let (ack, _) = until_json(ws, |v| v["type"] == "subscribed" || v["type"] == "error").await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
}

/// Round-trips a ping: everything sent before it has arrived once this returns.
pub async fn barrier(ws: &mut Ws) -> Vec<Value> {
    let ts = rand_ts();
    send(ws, json!({"type": "ping", "timestamp": ts})).await;
    let (_, before) = until_json(ws, |v| v["type"] == "pong" && v["timestamp"] == ts).await;
    before
}

fn rand_ts() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static N: AtomicI64 = AtomicI64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

// ---- Realtime (JSON protocol) helpers ----

impl TestApp {
    /// The open connections as the hub lists them.
    pub async fn connections(&self) -> Vec<liveboard::hub::ConnectionListing> {
        self.state.hub.connections().await
    }

    /// One connection's listing, if it is open.
    pub async fn listing(&self, connection_id: &str) -> Option<liveboard::hub::ConnectionListing> {
        self.connections().await.into_iter().find(|c| c.id == connection_id)
    }

    /// Waits until the hub has routed every published event (its frames are queued to the sockets).
    pub async fn settled(&self) {
        let hub = self.state.hub.clone();
        let latest = self.seq();
        eventually("the hub routed every event", || {
            let hub = hub.clone();
            async move { hub.dispatched() >= latest }
        })
        .await;
    }

    /// Sends a custom event through the hub to one connection and reads up to it; returns what came
    /// before. Once the hub has routed every event, anything it meant for this socket is ahead of the marker.
    pub async fn hub_barrier(&self, ws: &mut Ws, connection_id: &str) -> Vec<Value> {
        self.settled().await;
        let n = rand_ts();
        self.state.hub.send_to(connection_id, json!({ "barrier": n }));
        let (_, before) = until_json(ws, |v| v["type"] == "custom_event" && v["data"]["barrier"] == n).await;
        before
    }
}

impl User {
    /// Opens a WebSocket whose TCP receive buffer is tiny, so a client that stops reading pushes back
    /// on the server after a few kilobytes (a slow reader on a bad network).
    pub async fn ws_small_buffer(&self, path: &str) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        self.ws_on(socket, path).await
    }

    /// Opens a WebSocket whose TCP send buffer is small, so a large message is still being sent
    /// (not sitting in kernel buffers) when the server answers it.
    pub async fn ws_small_send_buffer(&self, path: &str) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_send_buffer_size(16 * 1024).unwrap();
        self.ws_on(socket, path).await
    }

    async fn ws_on(&self, socket: tokio::net::TcpSocket, path: &str) -> Ws {
        let url = format!("{}{path}", self.base.replacen("http", "ws", 1));
        let mut req = url.into_client_request().unwrap();
        if let Some(c) = self.cookie() {
            req.headers_mut().insert("cookie", c.parse().unwrap());
        }
        let addr = self.base.trim_start_matches("http://").parse().unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream)).await.unwrap();
        ws
    }
}

/// Subscribes to several patterns in one request and waits for every ack; the error if one comes.
pub async fn subscribe_all(ws: &mut Ws, patterns: &[String]) -> Result<(), Value> {
    send(ws, json!({"type": "subscribe", "patterns": patterns})).await;
    for _ in patterns {
        let v = next_json(ws).await;
        if v["type"] != "subscribed" {
            return Err(v);
        }
    }
    Ok(())
}

/// The next message, which must be an error; returns its code.
pub async fn next_error_code(ws: &mut Ws) -> String {
    let v = next_json(ws).await;
    assert_eq!(v["type"], "error", "{v}");
    v["code"].as_str().unwrap_or_default().to_owned()
}

/// The next `n` messages, each of which must be a `record_event`.
pub async fn record_events(ws: &mut Ws, n: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let v = next_json(ws).await;
        assert_eq!(v["type"], "record_event", "{v}");
        out.push(v);
    }
    out
}

/// The `seq` of each message.
pub fn seqs(msgs: &[Value]) -> Vec<i64> {
    msgs.iter().map(|m| m["seq"].as_i64().expect("a seq")).collect()
}

/// A view subscription: sends it and returns the `subscribed` answer (or the error).
pub async fn subscribe_view(ws: &mut Ws, body: Value) -> Value {
    let mut msg = json!({"type": "subscribe"});
    msg.as_object_mut().unwrap().extend(body.as_object().cloned().unwrap_or_default());
    send(ws, msg).await;
    let (v, _) = until_json(ws, |v| v["type"] == "subscribed" || v["type"] == "error").await;
    v
}

// ---- the board socket (`/boards/{id}/live`): frames, a reader, and page helpers ----

/// One action of a board-socket frame, as the browser's `board.js` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    pub action: String,
    pub target: String,
    pub parent: Option<String>,
    pub rank: Option<String>,
    pub seq: Option<i64>,
    /// The content of the `<template>`, if any.
    pub html: String,
}

impl Stream {
    /// Whether this action adds an activity entry (to the board's feed or a card's history).
    pub fn is_entry(&self) -> bool {
        self.parent.as_deref().is_some_and(|p| p == "activity" || (p.starts_with("card-") && p.ends_with("-history")))
    }
    /// Whether this action is about card `id` (its element, not its activity or comments).
    pub fn is_card(&self, id: i64) -> bool {
        self.target == format!("card-{id}")
    }
    /// The card this action targets, if it targets a card element.
    pub fn card_id(&self) -> Option<i64> {
        self.target.strip_prefix("card-")?.parse().ok()
    }
    /// The column whose card list an upsert goes into (`column-<id>-cards`).
    pub fn column(&self) -> Option<i64> {
        self.parent.as_deref()?.strip_prefix("column-")?.strip_suffix("-cards")?.parse().ok()
    }
    /// `upsert` of card `id` into column `col`.
    pub fn is_card_upsert(&self, id: i64, col: i64) -> bool {
        self.action == "upsert" && self.is_card(id) && self.column() == Some(col)
    }
    /// `remove` of card `id`.
    pub fn is_card_remove(&self, id: i64) -> bool {
        self.action == "remove" && self.is_card(id)
    }
    /// Users in a presence bar frame.
    pub fn present(&self) -> Vec<String> {
        attr_values(&self.html, "data-present")
    }
}

/// Splits a frame into its `<turbo-stream>` actions (a plain scan: attributes are always double-quoted).
pub fn parse_frame(text: &str) -> Vec<Stream> {
    const OPEN: &str = "<turbo-stream";
    const CLOSE: &str = "</turbo-stream>";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let tag_end = after.find('>').unwrap_or_else(|| panic!("unterminated tag in {text}"));
        let attrs = attributes(&after[..tag_end]);
        let body = &after[tag_end + 1..];
        let end = body.find(CLOSE).unwrap_or_else(|| panic!("unclosed turbo-stream in {text}"));
        let inner = &body[..end];
        let html = inner.strip_prefix("<template>").and_then(|b| b.strip_suffix("</template>")).unwrap_or(inner);
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        out.push(Stream {
            action: get("action").unwrap_or_default(),
            target: get("target").unwrap_or_default(),
            parent: get("data-parent"),
            rank: get("data-rank"),
            seq: get("data-seq").and_then(|s| s.parse().ok()),
            html: html.to_owned(),
        });
        rest = &body[end + CLOSE.len()..];
    }
    out
}

/// `name="value"` pairs of an opening tag, values unescaped.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start();
    while !rest.is_empty() {
        let name_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let name = rest[..name_end].to_owned();
        rest = &rest[name_end..];
        let mut value = String::new();
        if let Some(r) = rest.strip_prefix("=\"") {
            let close = r.find('"').unwrap_or(r.len());
            value = unescape(&r[..close]);
            rest = r.get(close + 1..).unwrap_or("");
        }
        out.push((name, value));
        rest = rest.trim_start();
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// Every value of attribute `name` in `html`, in document order.
pub fn attr_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        let r = &rest[i + needle.len()..];
        let close = r.find('"').unwrap_or(r.len());
        out.push(unescape(&r[..close]));
        rest = &r[close..];
    }
    out
}

/// An open board socket: stream actions in arrival order, JSON replies kept aside.
pub struct Live {
    pub ws: Ws,
    pending: std::collections::VecDeque<Stream>,
    /// Activity entries (into the board's feed or a card's history), kept apart from the board's own
    /// actions so a test reads them only when it asks (`next_entry`).
    feed: std::collections::VecDeque<Stream>,
    /// JSON replies (errors) read while looking for stream actions.
    pub json: Vec<Value>,
    /// The presence bar the hub sent when it registered this socket.
    pub bar: Stream,
}

impl Live {
    /// Connects and waits until the hub has registered the socket (its first presence bar arrives).
    /// Whatever came before the bar (a replay, a reset) stays readable.
    pub async fn connect(user: &User, path: &str) -> Live {
        let ws = user.ws(path).await;
        let mut live =
            Live { ws, pending: Default::default(), feed: Default::default(), json: Vec::new(), bar: empty_stream() };
        let mut before = Vec::new();
        loop {
            let s = live.next().await;
            if s.target == "presence" {
                live.bar = s;
                break;
            }
            before.push(s);
        }
        live.pending.extend(before);
        live
    }

    async fn read_more(&mut self) -> Option<Value> {
        let text = next_text(&mut self.ws).await;
        if text.trim_start().starts_with('{') {
            return Some(serde_json::from_str(&text).expect("JSON reply"));
        }
        let streams = parse_frame(&text);
        assert!(!streams.is_empty(), "a frame without actions: {text}");
        let (feed, board): (Vec<Stream>, Vec<Stream>) = streams.into_iter().partition(Stream::is_entry);
        self.feed.extend(feed);
        self.pending.extend(board);
        None
    }

    /// The next activity entry pushed to this page (the board's feed or a card's history).
    pub async fn next_entry(&mut self) -> Stream {
        loop {
            if let Some(s) = self.feed.pop_front() {
                return s;
            }
            if let Some(v) = self.read_more().await {
                self.json.push(v);
            }
        }
    }

    /// The next stream action (JSON replies are kept in `json`).
    pub async fn next(&mut self) -> Stream {
        loop {
            if let Some(s) = self.pending.pop_front() {
                return s;
            }
            if let Some(v) = self.read_more().await {
                self.json.push(v);
            }
        }
    }

    /// Reads until an action satisfies `pred`; returns it and every action before it.
    pub async fn until(&mut self, pred: impl Fn(&Stream) -> bool) -> (Stream, Vec<Stream>) {
        let mut skipped = Vec::new();
        loop {
            let s = self.next().await;
            if pred(&s) {
                return (s, skipped);
            }
            skipped.push(s);
        }
    }

    /// The next JSON reply; stream actions read meanwhile stay readable.
    pub async fn next_json(&mut self) -> Value {
        if !self.json.is_empty() {
            return self.json.remove(0);
        }
        loop {
            if let Some(v) = self.read_more().await {
                return v;
            }
        }
    }

    /// Sends a client message.
    pub async fn send(&mut self, v: Value) {
        send(&mut self.ws, v).await;
    }

    /// Round-trips a ping: every frame the server queued before it has arrived once this returns.
    pub async fn barrier(&mut self) -> Vec<Stream> {
        let ts = rand_ts();
        self.send(json!({"type": "ping", "timestamp": ts})).await;
        let mut got: Vec<Stream> = self.pending.drain(..).collect();
        loop {
            match self.read_more().await {
                Some(v) if v["type"] == "pong" && v["timestamp"] == ts => {
                    got.extend(self.pending.drain(..));
                    return got;
                }
                Some(v) => self.json.push(v),
                None => {}
            }
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        close_code(&mut self.ws).await
    }

    /// Closes from the client side, like a tab being closed.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

fn empty_stream() -> Stream {
    Stream { action: String::new(), target: String::new(), parent: None, rank: None, seq: None, html: String::new() }
}

impl User {
    /// The board page's `data-seq` and `data-epoch`, as rendered for `query`.
    pub async fn page_position(&self, board: i64, query: &str) -> (i64, String) {
        let res = self.get(&format!("/boards/{board}?{query}")).await;
        assert_eq!(res.status(), 200);
        let page = res.text().await.unwrap();
        let seq = attr_values(&page, "data-seq").first().and_then(|s| s.parse().ok()).expect("the page has data-seq");
        let epoch = attr_values(&page, "data-epoch").first().cloned().expect("the page has data-epoch");
        (seq, epoch)
    }

    /// Opens the board the way the page does: render it, then subscribe from its `data-seq`.
    pub async fn live(&self, board: i64, query: &str) -> Live {
        let (seq, epoch) = self.page_position(board, query).await;
        self.live_from(board, seq, &epoch, query).await
    }

    /// Opens the board's socket resuming after `since`.
    pub async fn live_from(&self, board: i64, since: i64, epoch: &str, query: &str) -> Live {
        Live::connect(self, &format!("/boards/{board}/live?since={since}&epoch={epoch}&{query}")).await
    }
}

/// Waits until `cond` holds, checking every 20 ms (for state that has no event of its own).
pub async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut cond: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- a WebSocket spoken by hand ----

/// A WebSocket spoken byte by byte over TCP, to send frames no client library would send (invalid
/// UTF-8, reserved opcodes and bits) and to read the server's close code.
pub struct RawWs {
    tcp: TcpStream,
    /// Bytes read but not parsed yet.
    buf: Vec<u8>,
}

impl RawWs {
    /// Does the opening handshake on `path` (anonymous, no Origin) and checks the server switched protocols.
    pub async fn connect(app: &TestApp, path: &str) -> RawWs {
        use tokio::io::AsyncWriteExt;
        let mut tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
        let handshake = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            app.port
        );
        tcp.write_all(handshake.as_bytes()).await.unwrap();
        let mut raw = RawWs { tcp, buf: Vec::new() };
        let end = loop {
            if let Some(i) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(raw.fill().await, "the connection ended during the handshake");
        };
        let head = String::from_utf8_lossy(&raw.buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw.buf.drain(..end);
        raw
    }

    /// Reads more bytes; false once the connection has ended.
    async fn fill(&mut self) -> bool {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 4096];
        match self.tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Sends one frame of under 126 bytes. `head` is its first byte (FIN, RSV1-3, opcode); the
    /// payload is masked, as a client's must be.
    pub async fn send_frame(&mut self, head: u8, payload: &[u8]) {
        use tokio::io::AsyncWriteExt;
        assert!(payload.len() < 126, "short frames only");
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![head, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        self.tcp.write_all(&frame).await.unwrap();
    }

    /// Reads the server's frames until its close frame and returns the code; `None` if the
    /// connection ends without one.
    pub async fn close_code(&mut self) -> Option<u16> {
        tokio::time::timeout(WAIT, async {
            loop {
                while let Some((opcode, payload, len)) = server_frame(&self.buf) {
                    self.buf.drain(..len);
                    if opcode == 0x8 {
                        return payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    }
                }
                if !self.fill().await {
                    return None;
                }
            }
        })
        .await
        .expect("closed within 5 s")
    }
}

/// The first whole frame in `buf` (servers do not mask): opcode, payload, and its length on the wire.
fn server_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (head, len7) = (*buf.first()?, *buf.get(1)? & 0x7f);
    let (len, start) = match len7 {
        126 => (u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize, 4),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize, 10),
        n => (n as usize, 2),
    };
    let payload = buf.get(start..start + len)?;
    Some((head & 0x0f, payload.to_vec(), start + len))
}
