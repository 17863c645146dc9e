//! Authentication: password hashing, the signed-in user extractor, CSRF and Origin checks, and the
//! `/signup`, `/login`, `/logout` handlers. Sessions live in the same SQLite file (tower-sessions).

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
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

use crate::{
    domain::{Password, User, Username},
    error::{Error, Form, PageError, Result},
    repo,
    state::AppState,
};

const USER_KEY: &str = "user";

/// Hashes a password with Argon2id, off the async runtime.
pub async fn hash_password(password: Password) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(Error::from)
}

/// Checks a password against a stored hash, off the async runtime. Unknown users are checked
/// against a dummy hash so the answer takes as long as for a real one.
async fn verify_password(password: String, hash: Option<String>) -> Result<bool> {
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(b"not a real password", &salt).expect("dummy hash").to_string()
    });
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.clone());
        let ok = PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        known && ok
    })
    .await
    .map_err(|e| Error::Other(e.into()))
}

/// Creates a user (used by sign-up, the CLI and the demo seed).
pub async fn create_user(db: &crate::db::Db, username: &str, password: &str, is_admin: bool) -> Result<User> {
    let username = Username::parse(username)?;
    let hash = hash_password(Password::parse(password)?).await?;
    repo::users::create(db, &username, &hash, is_admin).await
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
        if let Some(token) = crate::tokens::from_request(parts) {
            return match crate::tokens::authenticate(&state.db.read, &token).await {
                Ok(Some((user, _))) => Ok(Self(user)),
                _ => Err(rejection),
            };
        }
        let session =
            Session::from_request_parts(parts, state).await.map_err(|_| AuthRejection { wants_json: true })?;
        match session.get::<User>(USER_KEY).await {
            Ok(Some(user)) => Ok(Self(user)),
            _ => Err(rejection),
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
    let demo = if state.config.seed_demo { crate::seed::DEMO_USERS } else { &[] };
    liveboard_templates::auth_page(&ctx, &liveboard_templates::AuthForm { action, username, error, demo })
}

fn form_error(state: &AppState, action: &str, username: &str, e: &Error) -> Response {
    let page = auth_form(state, action, username, Some(&e.public_message()));
    (e.status(), page).into_response()
}

async fn signup(State(state): State<AppState>, session: Session, Form(f): Form<Credentials>) -> Response {
    match create_user(&state.db, &f.username, &f.password, false).await {
        Ok(user) => match sign_in(&session, user).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(e) => PageError(e).into_response(),
        },
        Err(e) => form_error(&state, "/signup", &f.username, &e),
    }
}

/// Failed logins per username: after five in a minute, further attempts wait out the minute.
/// Slows online password guessing without locking the account for longer.
#[derive(Default)]
pub struct LoginThrottle(std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>);

impl LoginThrottle {
    const MAX_FAILURES: u32 = 5;
    const WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

    fn blocked(&self, username: &str) -> bool {
        let map = self.0.lock().expect("throttle lock");
        map.get(&username.to_lowercase())
            .is_some_and(|(n, since)| *n >= Self::MAX_FAILURES && since.elapsed() < Self::WINDOW)
    }

    fn record(&self, username: &str, ok: bool) {
        let mut map = self.0.lock().expect("throttle lock");
        let key = username.to_lowercase();
        if ok {
            map.remove(&key);
            return;
        }
        let entry = map.entry(key).or_insert((0, std::time::Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, std::time::Instant::now());
        }
        entry.0 += 1;
        // Keep the map small: forget windows that are over.
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| since.elapsed() < Self::WINDOW);
        }
    }
}

async fn login(State(state): State<AppState>, session: Session, Form(f): Form<Credentials>) -> Response {
    if state.login_throttle.blocked(&f.username) {
        return form_error(
            &state,
            "/login",
            &f.username,
            &Error::TooMany("Too many failed attempts; try again in a minute"),
        );
    }
    let found = match repo::users::find_with_hash(&state.db.read, &f.username).await {
        Ok(found) => found,
        Err(e) => return PageError(e).into_response(),
    };
    let (user, hash) = found.map_or((None, None), |(u, h)| (Some(u), Some(h)));
    let ok = verify_password(f.password, hash).await.unwrap_or(false);
    state.login_throttle.record(&f.username, ok);
    match (ok, user) {
        (true, Some(user)) => match sign_in(&session, user).await {
            Ok(()) => Redirect::to("/").into_response(),
            Err(e) => PageError(e).into_response(),
        },
        // One message for a wrong password and an unknown user: nobody learns who has an account.
        _ => form_error(
            &state,
            "/login",
            &f.username,
            &Error::Validation { field: "password", message: "Wrong username or password".into() },
        ),
    }
}

/// Cycles the session id (no fixation) and stores the user.
async fn sign_in(session: &Session, user: User) -> Result<()> {
    session.cycle_id().await.map_err(|e| anyhow::anyhow!("session: {e}"))?;
    session.insert(USER_KEY, user).await.map_err(|e| anyhow::anyhow!("session: {e}"))?;
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

/// Who opened a WebSocket: a user from the session cookie or an API token, or nobody.
/// Remembers the session or token, so that logout or revocation can close the socket.
pub struct SocketAuth {
    pub user: Option<User>,
    pub session: Option<String>,
    pub token: Option<i64>,
}

impl FromRequestParts<AppState> for SocketAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = crate::tokens::from_request(parts) {
            let found =
                crate::tokens::authenticate(&state.db.read, &token).await.map_err(IntoResponse::into_response)?;
            let (user, id) = found.ok_or_else(|| Error::Unauthorized.into_response())?;
            return Ok(Self { user: Some(user), session: None, token: Some(id) });
        }
        let session = Session::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let user = session.get::<User>(USER_KEY).await.ok().flatten();
        Ok(Self { session: session.id().filter(|_| user.is_some()).map(|id| id.to_string()), user, token: None })
    }
}
