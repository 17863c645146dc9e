//! Test support: the real app on port 0 with a fresh SQLite file, a cookie-keeping HTTP client per
//! user, and real WebSocket clients (tokio-tungstenite). No mocks.
#![allow(dead_code)]

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
    pub port: u16,
    pub state: AppState,
    _dir: tempfile::TempDir,
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
    TestApp { base: format!("http://127.0.0.1:{port}"), port, state, _dir: dir }
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
        let jar = Arc::new(Jar::default());
        let http =
            Client::builder().cookie_provider(jar.clone()).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        User { name: String::new(), http, jar, base: self.base.clone() }
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

/// Asserts that nothing arrives within `d` (used after a barrier message, never as a sleep for an effect).
pub async fn assert_silent(ws: &mut Ws, d: Duration) {
    match tokio::time::timeout(d, ws.next()).await {
        Err(_) => {}
        Ok(Some(Ok(Message::Text(t)))) => panic!("unexpected message: {t}"),
        Ok(other) => {
            if let Some(Ok(Message::Ping(_) | Message::Pong(_))) = other {
            } else {
                panic!("unexpected: {other:?}")
            }
        }
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
