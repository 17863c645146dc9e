//! The JSON API under `/api`: the same repositories as the pages, authenticated by the session
//! cookie or a bearer token. Errors are `{"error": {"code", "message"}}` with the right status.

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{any, delete, get, post},
};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use crate::{
    auth::CurrentUser,
    domain::*,
    error::{Error, Json, Path, Query, Result},
    repo::{
        self,
        cards::{CardPatch, NewCard},
    },
    state::AppState,
};

/// A board's activity.
mod activity;
/// A card's checklist items.
mod checklist;
/// The inbox (notifications) and the admin's channel broadcast.
mod notifications;
/// Undo of a change of your own, and the header that names it.
pub mod undo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/me", get(me))
        .route("/api/boards", get(list_boards).post(create_board))
        .route("/api/boards/{id}", get(get_board).patch(update_board).delete(delete_board))
        .route("/api/boards/{id}/activity", get(activity::list))
        .route("/api/boards/{id}/visit", get(activity::visit))
        .route("/api/boards/{id}/cards", post(create_card))
        .route("/api/boards/{id}/columns", post(create_column))
        .route("/api/boards/{id}/members", post(add_member))
        .route("/api/boards/{id}/members/{username}", delete(remove_member))
        .route("/api/cards/{id}", get(get_card).patch(update_card).delete(delete_card))
        .route("/api/cards/{id}/comments", get(list_comments).post(create_comment))
        .route("/api/comments/{id}", delete(delete_comment))
        .route("/api/cards/{id}/checklist", get(checklist::list).post(checklist::create))
        .route("/api/checklist/{id}", axum::routing::patch(checklist::update).delete(checklist::delete))
        .route("/api/columns/{id}", axum::routing::patch(update_column).delete(delete_column))
        .route("/api/connections", get(connections))
        .route("/api/events/{seq}/undo", post(undo::undo))
        .route("/api/notifications", get(notifications::list))
        .route("/api/notifications/read-all", post(notifications::read_all))
        .route("/api/notifications/{id}/read", post(notifications::read))
        .route("/api/admin/broadcast", post(notifications::broadcast))
        // Set on the routes above (so keep it after them): a wrong method answers in our shape, and
        // axum still adds the `Allow` header of the route.
        .method_not_allowed_fallback(method_not_allowed)
        // Unknown paths under /api answer like the API, not like a page. A catch-all route rather than
        // a `nest` with a fallback: a nested router strips `/api` from the path that `auth` reads.
        .route("/api", any(no_such_route))
        .route("/api/{*rest}", any(no_such_route))
}

async fn no_such_route() -> Error {
    Error::NotFound
}

async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}

async fn list_boards(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<Json<Vec<Board>>> {
    Ok(Json(repo::boards::list_for(&state.db.read, user.id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BoardBody {
    name: String,
}

async fn create_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Json(b): Json<BoardBody>,
) -> Result<impl IntoResponse> {
    let board = repo::boards::create(&state.db, user.id, &BoardName::parse(&b.name)?).await?;
    Ok((StatusCode::CREATED, Json(board)))
}

async fn get_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<BoardSnapshot>> {
    Ok(Json(repo::boards::snapshot(&state.db.read, BoardId(id), user.id).await?))
}

async fn update_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<BoardBody>,
) -> Result<Json<Board>> {
    Ok(Json(repo::boards::rename(&state.db, user.id, BoardId(id), &BoardName::parse(&b.name)?).await?))
}

async fn delete_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    repo::boards::delete(&state.db, user.id, BoardId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCardBody {
    title: String,
    column_id: Option<i64>,
    #[serde(default)]
    description: String,
    assignee: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(flatten)]
    placement: Placement,
}

async fn create_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<NewCardBody>,
) -> Result<impl IntoResponse> {
    let new = NewCard {
        title: CardTitle::parse(&b.title)?,
        description: Description::parse(&b.description)?,
        column_id: b.column_id.map(ColumnId),
        assignee: b.assignee,
        labels: Labels::parse(b.labels.iter().map(String::as_str))?,
        place: b.placement.parse()?.unwrap_or_default(),
    };
    let card = repo::cards::create(&state.db, user.id, BoardId(id), new).await?;
    Ok(undo::with_undo(card.seq, (StatusCode::CREATED, Json(card.record))))
}

async fn get_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Card>> {
    Ok(Json(repo::cards::get(&state.db.read, user.id, CardId(id)).await?))
}

#[derive(Deserialize)]
struct CardPatchBody {
    title: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    assignee: Option<Option<String>>,
    labels: Option<Vec<String>>,
    column_id: Option<i64>,
    version: Option<i64>,
    #[serde(flatten)]
    placement: Placement,
}

async fn update_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<CardPatchBody>,
) -> Result<axum::response::Response> {
    let patch = CardPatch {
        title: b.title.as_deref().map(CardTitle::parse).transpose()?,
        description: b.description.as_deref().map(Description::parse).transpose()?,
        assignee: b.assignee,
        labels: b.labels.as_ref().map(|l| Labels::parse(l.iter().map(String::as_str))).transpose()?,
        column_id: b.column_id.map(ColumnId),
        place: b.placement.parse()?,
        expected_version: b.version,
    };
    let changed = repo::cards::update(&state.db, user.id, CardId(id), patch).await?;
    Ok(undo::with_undo(changed.seq, Json(changed.record)))
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<i64>,
}

async fn delete_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> Result<axum::response::Response> {
    let changed = repo::cards::delete(&state.db, user.id, CardId(id), q.version).await?;
    Ok(undo::with_undo(changed.seq, StatusCode::NO_CONTENT))
}

async fn list_comments(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Comment>>> {
    Ok(Json(repo::comments::for_card(&state.db.read, user.id, CardId(id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentBodyJson {
    body: String,
}

async fn create_comment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<CommentBodyJson>,
) -> Result<impl IntoResponse> {
    let c = repo::comments::create(&state.db, user.id, CardId(id), &CommentBody::parse(&b.body)?).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

async fn delete_comment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    repo::comments::delete(&state.db, user.id, CommentId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnBody {
    name: String,
}

async fn create_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<ColumnBody>,
) -> Result<impl IntoResponse> {
    let c = repo::boards::create_column(&state.db, user.id, BoardId(id), &ColumnName::parse(&b.name)?).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Deserialize)]
struct ColumnPatchBody {
    name: Option<String>,
    #[serde(flatten)]
    placement: Placement,
}

async fn update_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<ColumnPatchBody>,
) -> Result<Json<Column>> {
    let name = b.name.as_deref().map(ColumnName::parse).transpose()?;
    let place = b.placement.parse()?;
    Ok(Json(repo::boards::update_column(&state.db, user.id, ColumnId(id), name.as_ref(), place).await?))
}

async fn delete_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    repo::boards::delete_column(&state.db, user.id, ColumnId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    username: String,
}

async fn add_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Json(b): Json<MemberBody>,
) -> Result<impl IntoResponse> {
    let m = repo::boards::add_member(&state.db, user.id, BoardId(id), &b.username).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, username)): Path<(i64, String)>,
) -> Result<StatusCode> {
    repo::boards::remove_member(&state.db, user.id, BoardId(id), &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open realtime connections (admins only): id, user, subscriptions, connect time, acks.
async fn connections(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<Json<Value>> {
    user.require_admin()?;
    let list = state.hub.connections().await;
    Ok(Json(json!({ "latest_seq": state.db.bus().latest(), "connections": list })))
}
