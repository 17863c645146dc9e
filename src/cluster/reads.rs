//! What the realtime path reads (membership, snapshots, the event log, who is calling), from the
//! local database in a single process or a writer, and from the writer's internal endpoint on an
//! edge, which never opens the database.
//!
//! socket handlers, hub → **reads** → SQLite (local) or → writer's `/internal/read` (edge).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{body::Body, http::request::Parts};
use http_body_util::BodyExt;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sqlx::SqlitePool;

use crate::{
    domain::*,
    error::{Error, Result},
    events::{Collection, Event},
    repo::{self, events::StreamInfo},
};

/// Where the realtime path reads from.
#[derive(Clone)]
pub enum Reads {
    /// This process owns the database.
    Local(SqlitePool),
    /// An edge: the writer answers.
    Remote(Arc<WriterClient>),
}

/// Every board's members and done column, with the seq they were read after.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessRows {
    pub seq: i64,
    pub members: Vec<(BoardId, BoardMember)>,
    pub done: Vec<(BoardId, Option<ColumnId>)>,
}

/// One question an edge asks the writer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ReadReq {
    BoardOf { collection: Collection, id: i64 },
    RequireMember { board: BoardId, user: UserId },
    Memberships { user: UserId },
    Snapshot { board: BoardId, viewer: UserId },
    DoneColumn { board: BoardId },
    Members { board: BoardId },
    StreamInfo,
    Events { after: i64, upto: i64 },
    Access,
    Rights { ids: Vec<UserId> },
}

/// The writer's answer: a value, or which error it was.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadAnswer {
    Ok(serde_json::Value),
    NotFound,
    Forbidden,
    Failed(String),
}

impl Reads {
    /// The writer client, on an edge.
    pub fn remote(&self) -> Option<&Arc<WriterClient>> {
        match self {
            Self::Remote(w) => Some(w),
            Self::Local(_) => None,
        }
    }

    pub async fn board_of(&self, collection: Collection, id: i64) -> Result<Option<BoardId>> {
        match self {
            Self::Local(p) => repo::boards::board_of(p, collection, id).await,
            Self::Remote(w) => w.ask(&ReadReq::BoardOf { collection, id }).await,
        }
    }

    pub async fn require_member(&self, board: BoardId, user: UserId) -> Result<()> {
        match self {
            Self::Local(p) => repo::require_member(p, board, user).await.map(drop),
            Self::Remote(w) => w.ask(&ReadReq::RequireMember { board, user }).await,
        }
    }

    pub async fn memberships_of(&self, user: UserId) -> Result<HashMap<BoardId, i64>> {
        match self {
            Self::Local(p) => repo::boards::memberships_of(p, user).await,
            Self::Remote(w) => {
                let pairs: Vec<(BoardId, i64)> = w.ask(&ReadReq::Memberships { user }).await?;
                Ok(pairs.into_iter().collect())
            }
        }
    }

    pub async fn member_since(&self, board: BoardId, user: UserId) -> Result<Option<i64>> {
        Ok(self.memberships_of(user).await?.get(&board).copied())
    }

    pub async fn snapshot(&self, board: BoardId, viewer: UserId) -> Result<BoardSnapshot> {
        match self {
            Self::Local(p) => repo::boards::snapshot(p, board, viewer).await,
            Self::Remote(w) => w.ask(&ReadReq::Snapshot { board, viewer }).await,
        }
    }

    pub async fn done_column(&self, board: BoardId) -> Result<Option<ColumnId>> {
        match self {
            Self::Local(p) => repo::boards::done_column(p, board).await,
            Self::Remote(w) => w.ask(&ReadReq::DoneColumn { board }).await,
        }
    }

    pub async fn members(&self, board: BoardId) -> Result<Vec<BoardMember>> {
        match self {
            Self::Local(p) => repo::boards::members(p, board).await,
            Self::Remote(w) => w.ask(&ReadReq::Members { board }).await,
        }
    }

    pub async fn stream_info(&self) -> Result<StreamInfo> {
        match self {
            Self::Local(p) => repo::events::stream_info(p).await,
            Self::Remote(w) => w.ask(&ReadReq::StreamInfo).await,
        }
    }

    /// Events with `after < seq <= upto`, from the event log.
    pub async fn load_range(&self, after: i64, upto: i64) -> Result<Vec<Arc<Event>>> {
        match self {
            Self::Local(p) => repo::events::load_range(p, after, upto).await,
            Self::Remote(w) => {
                let rows: Vec<repo::events::EventRow> = w.ask(&ReadReq::Events { after, upto }).await?;
                Ok(rows.into_iter().filter_map(repo::events::EventRow::decode).collect())
            }
        }
    }

    /// Every board's access, and the seq it is current from.
    pub async fn access(&self) -> Result<AccessRows> {
        match self {
            Self::Local(p) => {
                let seq = repo::events::latest_seq(p).await?;
                let (members, done) = repo::boards::all_access(p).await?;
                Ok(AccessRows { seq, members, done })
            }
            Self::Remote(w) => w.ask(&ReadReq::Access).await,
        }
    }

    /// Whether each user exists, and is an admin.
    pub async fn rights(&self, ids: &[UserId]) -> Result<HashMap<UserId, repo::users::Rights>> {
        match self {
            Self::Local(p) => repo::users::rights(p, ids).await,
            Self::Remote(w) => {
                let pairs: Vec<(UserId, repo::users::Rights)> = w.ask(&ReadReq::Rights { ids: ids.to_vec() }).await?;
                Ok(pairs.into_iter().collect())
            }
        }
    }

    /// Answers an edge's question with the local database (the writer's side of [`WriterClient::ask`]).
    pub async fn answer(&self, req: ReadReq) -> ReadAnswer {
        fn json<T: Serialize>(r: Result<T>) -> ReadAnswer {
            match r {
                Ok(v) => match serde_json::to_value(v) {
                    Ok(v) => ReadAnswer::Ok(v),
                    Err(e) => ReadAnswer::Failed(e.to_string()),
                },
                Err(Error::NotFound) => ReadAnswer::NotFound,
                Err(Error::Forbidden(_)) => ReadAnswer::Forbidden,
                Err(e) => ReadAnswer::Failed(e.to_string()),
            }
        }
        match req {
            ReadReq::BoardOf { collection, id } => json(self.board_of(collection, id).await),
            ReadReq::RequireMember { board, user } => json(self.require_member(board, user).await),
            ReadReq::Memberships { user } => {
                json(self.memberships_of(user).await.map(|m| m.into_iter().collect::<Vec<_>>()))
            }
            ReadReq::Snapshot { board, viewer } => json(self.snapshot(board, viewer).await),
            ReadReq::DoneColumn { board } => json(self.done_column(board).await),
            ReadReq::Members { board } => json(self.members(board).await),
            ReadReq::StreamInfo => json(self.stream_info().await),
            ReadReq::Events { after, upto } => match self {
                Self::Local(p) => json(repo::events::load_rows(p, after, upto).await),
                Self::Remote(_) => ReadAnswer::Failed("an edge keeps no event log".into()),
            },
            ReadReq::Access => json(self.access().await),
            ReadReq::Rights { ids } => json(self.rights(&ids).await.map(|m| m.into_iter().collect::<Vec<_>>())),
        }
    }
}

/// Who is calling, as the writer found it for an edge.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallerWire {
    pub user: Option<User>,
    pub session: Option<String>,
    pub token: Option<i64>,
    /// See [`crate::auth::Caller::session_generation`].
    #[serde(default)]
    pub session_generation: Option<i64>,
}

/// The header the writer's internal endpoints want the cluster secret in.
pub const SECRET_HEADER: &str = "x-liveboard-cluster-secret";
/// The header carrying the original request's path and query to `/internal/caller`.
pub const URI_HEADER: &str = "x-liveboard-uri";

/// How long an edge trusts the writer's answer about a cookie or token. Logout and revocation
/// close sockets at once through the stream; this only bounds how long a closed session can open
/// a new socket on an edge that asked just before.
const CALLER_CACHE: Duration = Duration::from_secs(2);

/// An edge's client of the writer's internal endpoints.
pub struct WriterClient {
    base: String,
    secret: String,
    http: Client<HttpConnector, Body>,
    callers: Mutex<HashMap<String, (Instant, CallerWire)>>,
}

impl WriterClient {
    pub fn new(base: &str, secret: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            secret: secret.to_owned(),
            http: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
            callers: Mutex::new(HashMap::new()),
        }
    }

    /// The writer's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call(&self, req: axum::http::Request<Body>) -> Result<(axum::http::StatusCode, bytes::Bytes)> {
        let res = tokio::time::timeout(Duration::from_secs(10), self.http.request(req))
            .await
            .map_err(|_| anyhow::anyhow!("the writer did not answer within 10 s"))?
            .map_err(|e| anyhow::anyhow!("the writer is unreachable: {e}"))?;
        let status = res.status();
        let body = res.into_body().collect().await.map_err(|e| anyhow::anyhow!("reading the writer: {e}"))?;
        Ok((status, body.to_bytes()))
    }

    /// Asks the writer one question.
    pub async fn ask<T: DeserializeOwned>(&self, q: &ReadReq) -> Result<T> {
        let body = serde_json::to_vec(q).map_err(anyhow::Error::from)?;
        let req = axum::http::Request::post(format!("{}/internal/read", self.base))
            .header(SECRET_HEADER, &self.secret)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .map_err(anyhow::Error::from)?;
        let (status, bytes) = self.call(req).await?;
        if !status.is_success() {
            return Err(anyhow::anyhow!("the writer answered {status} to an internal read").into());
        }
        match serde_json::from_slice(&bytes).map_err(anyhow::Error::from)? {
            ReadAnswer::Ok(v) => Ok(serde_json::from_value(v).map_err(anyhow::Error::from)?),
            ReadAnswer::NotFound => Err(Error::NotFound),
            ReadAnswer::Forbidden => Err(Error::Forbidden("not allowed")),
            ReadAnswer::Failed(why) => Err(anyhow::anyhow!("the writer failed: {why}").into()),
        }
    }

    /// Who a request's cookie or token belongs to, as the writer sees it (cached briefly).
    pub async fn caller(&self, parts: &Parts) -> Result<CallerWire> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let (cookie, authorization) = (header("cookie"), header("authorization"));
        let uri = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
        // The query matters only for `?token=`; the key holds it whole, which is cheap and exact.
        let key = format!("{cookie}\n{authorization}\n{uri}");
        if let Ok(cache) = self.callers.lock()
            && let Some((at, wire)) = cache.get(&key)
            && at.elapsed() < CALLER_CACHE
        {
            return Ok(wire.clone());
        }
        let mut req = axum::http::Request::get(format!("{}/internal/caller", self.base))
            .header(SECRET_HEADER, &self.secret)
            .header(URI_HEADER, &uri);
        if !cookie.is_empty() {
            req = req.header("cookie", &cookie);
        }
        if !authorization.is_empty() {
            req = req.header("authorization", &authorization);
        }
        let req = req.body(Body::empty()).map_err(anyhow::Error::from)?;
        let (status, bytes) = self.call(req).await?;
        if status == axum::http::StatusCode::UNAUTHORIZED {
            return Err(Error::Unauthorized);
        }
        if !status.is_success() {
            return Err(anyhow::anyhow!("the writer answered {status} to a caller check").into());
        }
        let wire: CallerWire = serde_json::from_slice(&bytes).map_err(anyhow::Error::from)?;
        if let Ok(mut cache) = self.callers.lock() {
            if cache.len() > 10_000 {
                cache.retain(|_, (at, _)| at.elapsed() < CALLER_CACHE);
            }
            cache.insert(key, (Instant::now(), wire.clone()));
        }
        Ok(wire)
    }

    /// Forgets cached answers for a session or token that just ended.
    pub fn forget(&self, session: Option<&str>, token: Option<i64>) {
        if let Ok(mut cache) = self.callers.lock() {
            cache.retain(|_, (_, w)| {
                !(session.is_some() && w.session.as_deref() == session || token.is_some() && w.token == token)
            });
        }
    }
}
