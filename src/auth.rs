//! Authentication: who is calling (an API token or the session cookie, read once for pages, the
//! API and sockets), CSRF and Origin checks, and the `/signup`, `/login`, `/logout` handlers. Sessions live in the same SQLite file (tower-sessions).

use axum::{
    Router,
    extract::{FromRequestParts, Request, State},
    http::{HeaderMap, Method, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tower_sessions::Session;

pub use crate::throttle::LoginThrottle;
use crate::{
    domain::{Password, User, UserId, Username, account_key},
    error::{Error, Form, PageError, Result, with_retry_after},
    passwords, repo,
    state::AppState,
    throttle::ClientAddr,
};

/// The session holds the user's id only: rights and existence are read from the database on every
/// request, so a demotion or a deletion takes effect at once.
const USER_KEY: &str = "user_id";
/// The user's session generation at sign-in: a password reset moves the user's on, ending the session.
const GENERATION_KEY: &str = "session_generation";

/// Creates a user (the CLI, the demo seed, tests): trusted callers, one at a time, so no gate.
pub async fn create_user(db: &crate::db::Db, username: &str, password: &str, is_admin: bool) -> Result<User> {
    let username = Username::parse(username)?;
    let password = Password::parse(password)?;
    let hash =
        tokio::task::spawn_blocking(move || passwords::hash_now(&password)).await.map_err(anyhow::Error::from)??;
    repo::users::create(db, &username, &hash, is_admin).await
}

/// The user a session is signed in as, read fresh, with the session generation. A session whose
/// user has been deleted, or whose password was reset since sign-in (from the CLI, in another
/// process: the generation moved on), is ended (and the sockets opened with it closed), so it
/// reads as signed out rather than failing later.
async fn session_user(session: &Session, state: &AppState) -> Result<Option<(User, i64)>> {
    let Ok(Some(id)) = session.get::<UserId>(USER_KEY).await else { return Ok(None) };
    // A session signed in before generations were kept holds none: 0, the column's default.
    let signed_in_at = session.get::<i64>(GENERATION_KEY).await.ok().flatten().unwrap_or(0);
    match repo::users::get(&state.db, id)? {
        Some((user, generation)) if generation == signed_in_at => Ok(Some((user, generation))),
        _ => {
            if let Some(sid) = session.id() {
                state.hub.close_session(sid.to_string());
            }
            if let Err(e) = session.flush().await {
                tracing::warn!(error = %e, "could not end the session of a deleted user or an old password");
            }
            Ok(None)
        }
    }
}

/// The signed-in user: from the session cookie, or from an API token (`Authorization: Bearer`).
/// Anonymous requests are redirected to `/login` (pages) or get 401 JSON (API, WebSocket).
#[derive(Clone, Debug)]
pub struct CurrentUser(pub User);

/// Why there is no [`CurrentUser`]: rendered for pages as a redirect, for the API as JSON.
pub struct AuthRejection {
    wants_json: bool,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        if self.wants_json { Error::Unauthorized.into_response() } else { Redirect::to("/login").into_response() }
    }
}

fn wants_json(parts: &Parts) -> bool {
    let accept = parts.headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    parts.uri.path().starts_with("/api/")
        || parts.uri.path().starts_with("/realtime/")
        || parts.uri.path().ends_with("/live")
        || (accept.contains("application/json") && !accept.contains("text/html"))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let rejection = AuthRejection { wants_json: wants_json(parts) };
        match Caller::read(parts, state).await {
            Ok(Caller { user: Some(user), .. }) => Ok(Self(user)),
            _ => Err(rejection),
        }
    }
}

/// The user of a signed-in browser session; an API token is not enough. Token management takes
/// this, so a leaked token cannot mint a replacement that outlives its revocation.
#[derive(Clone, Debug)]
pub struct SessionUser(pub User);

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if crate::tokens::from_request(parts).is_some() {
            return Err(
                Error::Forbidden("managing API tokens needs a signed-in browser session, not a token").into_response()
            );
        }
        let session = Session::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        match session_user(&session, state).await {
            Ok(Some((user, _))) => Ok(Self(user)),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(PageError(e).into_response()),
        }
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        Ok(<Self as FromRequestParts<AppState>>::from_request_parts(parts, state).await.ok())
    }
}

/// Whether a browser request comes from a page of ours. Browsers send `Sec-Fetch-Site` and
/// `Origin`; a request with neither (curl, a script) is not a cross-site browser request.
pub fn same_origin(headers: &HeaderMap, allowed: &[String]) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("same-origin" | "none")) {
        return true;
    }
    let Some(origin) = headers.get("origin") else {
        return headers.get("sec-fetch-site").is_none();
    };
    let Ok(origin) = origin.to_str() else { return false };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
    let own = [format!("http://{host}"), format!("https://{host}")];
    own.iter().any(|o| o == origin) || allowed.iter().any(|o| o == origin)
}

/// CSRF protection for every state-changing request: cross-site browser requests are refused.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(req.headers(), &state.config.allowed_origins) {
        return Error::Forbidden("cross-site request refused").into_response();
    }
    next.run(req).await
}

/// The sign-up and log-in form.
#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

async fn signup_page(State(state): State<AppState>) -> maud::Markup {
    auth_form(&state, "/signup", "", None)
}

async fn login_page(State(state): State<AppState>) -> maud::Markup {
    auth_form(&state, "/login", "", None)
}

fn auth_form(state: &AppState, action: &str, username: &str, error: Option<&str>) -> maud::Markup {
    let ctx = state.ctx(None);
    // Only a server that seeded the demo shows its accounts (`make dev`).
    let demo = if state.config.seed_demo { crate::config::DEMO_USERS } else { &[] };
    liveboard_templates::auth_page(&ctx, &liveboard_templates::AuthForm { action, username, error, demo })
}

fn form_error(state: &AppState, action: &str, username: &str, e: &Error) -> Response {
    let page = auth_form(state, action, username, Some(&e.public_message()));
    with_retry_after(e, (e.status(), page).into_response())
}

async fn signup(
    State(state): State<AppState>,
    addr: ClientAddr,
    session: Session,
    Form(f): Form<Credentials>,
) -> Response {
    let created = async {
        let username = Username::parse(&f.username)?;
        let password = Password::parse(&f.password)?;
        state.login_throttle.attempt(addr, state.config.login_attempts_per_minute)?;
        let hash = state.passwords.hash(password).await?;
        repo::users::create(&state.db, &username, &hash, false).await
    };
    match created.await {
        // A new account's session generation is 0 (the column's default).
        Ok(user) => match sign_in(&session, user, 0).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(e) => PageError(e).into_response(),
        },
        Err(e) if !e.status().is_server_error() || e.retry_after().is_some() => {
            form_error(&state, "/signup", &f.username, &e)
        }
        Err(e) => PageError(e).into_response(),
    }
}

async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    session: Session,
    Form(f): Form<Credentials>,
) -> Response {
    // The account as the lookup finds it, so "alice", " Alice" and "alice\t" share one counter.
    let account = account_key(&f.username);
    let checked = async {
        state.login_throttle.check_account(addr, &account)?;
        state.login_throttle.attempt(addr, state.config.login_attempts_per_minute)?;
        let found = repo::users::find_with_hash(&state.db.read, &account).await?;
        let (user, hash) = found.map_or((None, None), |(u, h, generation)| (Some((u, generation)), Some(h)));
        let ok = state.passwords.verify(f.password.clone(), hash).await?;
        state.login_throttle.record(addr, &account, ok);
        Ok::<_, Error>(user.filter(|_| ok))
    };
    match checked.await {
        Ok(Some((user, generation))) => match sign_in(&session, user, generation).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(e) => PageError(e).into_response(),
        },
        // One message for a wrong password and an unknown user: nobody learns who has an account.
        Ok(None) => form_error(
            &state,
            "/login",
            &f.username,
            &Error::Validation { field: "password", message: "Wrong username or password".into() },
        ),
        Err(e) if e.retry_after().is_some() => form_error(&state, "/login", &f.username, &e),
        Err(e) => PageError(e).into_response(),
    }
}

/// Cycles the session id (no fixation) and stores the user's id and session generation (the one
/// read with the password hash that was checked).
async fn sign_in(session: &Session, user: User, generation: i64) -> Result<()> {
    session.cycle_id().await.map_err(|e| anyhow::anyhow!("session: {e}"))?;
    session.insert(USER_KEY, user.id).await.map_err(|e| anyhow::anyhow!("session: {e}"))?;
    session.insert(GENERATION_KEY, generation).await.map_err(|e| anyhow::anyhow!("session: {e}"))?;
    Ok(())
}

async fn logout(State(state): State<AppState>, session: Session) -> Response {
    if let Some(id) = session.id() {
        // Sockets opened with this session end with it.
        state.hub.close_session(id.to_string());
    }
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "logout: could not delete the session");
    }
    Redirect::to("/login").into_response()
}

/// Who is calling: a user from an API token (`Authorization: Bearer`, or `?token=` on a WebSocket
/// handshake) or from the session cookie, or nobody. The one place both are read: pages and the
/// API take it through [`CurrentUser`], sockets take it whole, remembering the session or token so
/// that logout or revocation can close them.
pub struct Caller {
    pub user: Option<User>,
    pub session: Option<String>,
    pub token: Option<i64>,
    /// The session's generation (none for a token): sockets opened with it close when it moves on.
    pub session_generation: Option<i64>,
}

impl Caller {
    /// A token that is unknown (or revoked) is refused, never read as anonymous.
    async fn read(parts: &mut Parts, state: &AppState) -> Result<Self> {
        // An edge keeps no sessions or tokens: the writer says who this is.
        if let Some(writer) = state.reads.remote() {
            let w = writer.caller(parts).await?;
            return Ok(Self {
                user: w.user,
                session: w.session,
                token: w.token,
                session_generation: w.session_generation,
            });
        }
        if let Some(token) = crate::tokens::from_request(parts) {
            let (user, id) = crate::tokens::authenticate(&state.db.read, &token).await?.ok_or(Error::Unauthorized)?;
            return Ok(Self { user: Some(user), session: None, token: Some(id), session_generation: None });
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, why)| anyhow::anyhow!("no session layer: {why}"))?;
        let signed_in = session_user(&session, state).await?;
        Ok(Self {
            session: session.id().filter(|_| signed_in.is_some()).map(|id| id.to_string()),
            session_generation: signed_in.as_ref().map(|(_, generation)| *generation),
            user: signed_in.map(|(user, _)| user),
            token: None,
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Self::read(parts, state).await.map_err(IntoResponse::into_response)
    }
}
