//! Cluster test support: a real Redis and real `liveboard` processes (one writer, edges) on free
//! loopback ports, each killed by its PID when the test ends. No mocks.
//!
//! test → **Redis + writer + edges as child processes** → real HTTP and WebSockets against them.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::support::{User, anonymous_at, password};

/// The secret every node of a test cluster shares.
pub const SECRET: &str = "test-cluster-secret";
/// How long a node or Redis may take to come up.
const START: Duration = Duration::from_secs(30);

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A child process killed (SIGKILL, by its PID) when dropped.
pub struct Proc {
    child: Option<Child>,
}

impl Proc {
    /// `kill -9`: no shutdown, no flush, as a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Proc {
    /// Sends `signal` (`STOP`, `CONT`) to the process, by its PID.
    pub fn signal(&self, signal: &str) {
        let Some(pid) = self.child.as_ref().map(|c| c.id()) else { return };
        let ok =
            Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis server of its own: no persistence, loopback only.
pub struct Redis {
    pub port: u16,
    proc: Proc,
}

impl Redis {
    pub async fn start() -> Redis {
        Self::start_on(free_port()).await
    }

    /// Starts (again) on `port`: empty, as a Redis restarted without persistence.
    pub async fn start_on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (make test installs it)");
        let redis = Redis { port, proc: Proc { child: Some(child) } };
        let deadline = tokio::time::Instant::now() + START;
        while redis.conn().await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "redis did not start on {port}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Cuts the event stream of `epoch` to its last `n` entries, as a too-small cap would.
    pub async fn trim(&self, epoch: &str, n: usize) {
        let mut c = self.conn().await.expect("redis answers");
        let _: i64 = redis::cmd("XTRIM")
            .arg(format!("liveboard:events:{epoch}"))
            .arg("MAXLEN")
            .arg(n)
            .query_async(&mut c)
            .await
            .expect("XTRIM");
    }

    pub async fn conn(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.url())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(c)
    }

    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// The ids of every entry of the event stream of `epoch`.
    pub async fn stream_ids(&self, epoch: &str) -> Vec<String> {
        let mut c = self.conn().await.expect("redis answers");
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(format!("liveboard:events:{epoch}"))
            .arg("-")
            .arg("+")
            .query_async(&mut c)
            .await
            .expect("XRANGE");
        reply.ids.into_iter().map(|e| e.id).collect()
    }
}

/// What a node process is started with.
pub struct NodeSpec<'a> {
    pub role: &'a str,
    pub id: &'a str,
    pub redis: &'a Redis,
    pub port: u16,
    /// The writer's database (writer only).
    pub database: Option<&'a Path>,
    /// The writer's base URL (edge only).
    pub writer: Option<&'a str>,
    /// Where its log goes.
    pub log: PathBuf,
    pub extra: &'a [(&'a str, &'a str)],
}

/// One `liveboard` process of the cluster.
pub struct Node {
    pub base: String,
    proc: Proc,
}

impl Node {
    /// Starts the server binary and waits until `/health` answers 200.
    pub async fn start(spec: NodeSpec<'_>) -> Node {
        let log = std::fs::File::create(&spec.log).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_liveboard"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", spec.port.to_string())
            .env("LIVEBOARD_ROLE", spec.role)
            .env("NODE_ID", spec.id)
            .env("REDIS_URL", spec.redis.url())
            .env("CLUSTER_SECRET", SECRET)
            .env("PASSWORD_HASHES", "2")
            .env("RUST_LOG", "liveboard=info")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        if let Some(db) = spec.database {
            cmd.env("DATABASE_URL", db);
        }
        if let Some(w) = spec.writer {
            cmd.env("WRITER_URL", w);
        }
        for (k, v) in spec.extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("the server binary starts");
        let node = Node { base: format!("http://127.0.0.1:{}", spec.port), proc: Proc { child: Some(child) } };
        let deadline = tokio::time::Instant::now() + START;
        loop {
            if let Ok(r) = reqwest::get(format!("{}/health", node.base)).await
                && r.status() == 200
            {
                return node;
            }
            assert!(tokio::time::Instant::now() < deadline, "{} did not come up; see {}", spec.id, spec.log.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Freezes the process (SIGSTOP): it reads nothing until [`Node::resume`].
    pub fn pause(&self) {
        self.proc.signal("STOP");
    }

    /// Lets a paused process run again (SIGCONT).
    pub fn resume(&self) {
        self.proc.signal("CONT");
    }

    /// `/health`'s body.
    pub async fn health(&self) -> serde_json::Value {
        reqwest::get(format!("{}/health", self.base)).await.expect("health answers").json().await.expect("JSON")
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

/// Redis, a writer and two edges, with a temp dir for the database and the logs.
pub struct Cluster {
    pub redis: Redis,
    pub writer: Node,
    pub a: Node,
    pub b: Node,
    pub dir: tempfile::TempDir,
    writer_port: u16,
}

impl Cluster {
    pub async fn start() -> Cluster {
        Self::start_with(&[]).await
    }

    /// Starts every node with `extra` settings added.
    pub async fn start_with(extra: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let redis = Redis::start().await;
        let writer_port = free_port();
        let writer = Self::start_writer_at(&redis, &dir, writer_port, extra).await;
        let a = Self::start_edge(&redis, &dir, "edge-a", &writer.base, extra).await;
        let b = Self::start_edge(&redis, &dir, "edge-b", &writer.base, extra).await;
        Cluster { redis, writer, a, b, dir, writer_port }
    }

    async fn start_writer_at(redis: &Redis, dir: &tempfile::TempDir, port: u16, extra: &[(&str, &str)]) -> Node {
        let db = dir.path().join("writer.db");
        Node::start(NodeSpec {
            role: "writer",
            id: "writer",
            redis,
            port,
            database: Some(&db),
            writer: None,
            log: dir.path().join(format!("writer-{}.log", free_port())),
            extra,
        })
        .await
    }

    pub async fn start_edge(
        redis: &Redis,
        dir: &tempfile::TempDir,
        id: &str,
        writer: &str,
        extra: &[(&str, &str)],
    ) -> Node {
        Node::start(NodeSpec {
            role: "edge",
            id,
            redis,
            port: free_port(),
            database: None,
            writer: Some(writer),
            log: dir.path().join(format!("{id}.log")),
            extra,
        })
        .await
    }

    /// Starts the writer again on its port and database (after a kill).
    pub async fn restart_writer(&mut self) {
        self.writer = Self::start_writer_at(&self.redis, &self.dir, self.writer_port, &[]).await;
    }

    /// The writer's database file.
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("writer.db")
    }

    /// Every seq of the events table with `collection`, after `after`, in order (read from the file).
    pub async fn table_seqs(&self, collection: &str, after: i64) -> Vec<i64> {
        let url = format!("sqlite://{}?mode=ro", self.database().display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("the writer's database opens read-only");
        let seqs = sqlx::query_scalar("select seq from events where collection = ? and seq > ? order by seq")
            .bind(collection)
            .bind(after)
            .fetch_all(&pool)
            .await
            .expect("events");
        pool.close().await;
        seqs
    }

    /// The stream's epoch, from the writer's database.
    pub async fn epoch(&self) -> String {
        let url = format!("sqlite://{}?mode=ro", self.database().display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("opens");
        let e = sqlx::query_scalar("select epoch from stream where id = 1").fetch_one(&pool).await.expect("epoch");
        pool.close().await;
        e
    }
}

impl Drop for Cluster {
    /// A failing test shows what the nodes logged.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else { return };
        for e in entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "log")) {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("---- {} ----", e.path().display());
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// Signs a user up through `node` (an edge forwards the form to the writer).
pub async fn signup_at(node: &Node, name: &str) -> User {
    let mut u = anonymous_at(&node.base);
    let res = u.form("/signup", &[("username", name), ("password", &password(name))]).await;
    assert_eq!(res.status(), 303, "signup of {name} through {} failed", node.base);
    u.name = name.to_owned();
    u
}

/// The same browser (cookie jar) talking to another node.
pub fn at(user: &User, node: &Node) -> User {
    User { name: user.name.clone(), http: user.http.clone(), jar: user.jar.clone(), base: node.base.clone() }
}
