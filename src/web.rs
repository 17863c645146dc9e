//! Browser pages: plain HTML forms that work without JavaScript (POST, redirect, GET).
//! Thin handlers: extract → parse into domain types → call the repository → render or redirect.

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use liveboard_templates as t;
use maud::Markup;
use serde::Deserialize;

use crate::{
    app::AppState,
    auth::{CurrentUser, SessionUser},
    domain::*,
    error::{Error, Form, PageError},
    realtime::views::PageFilter,
    render,
    repo::{
        self,
        boards::Place,
        cards::{CardPatch, NewCard},
    },
    tokens,
};

type PageResult<T = Response> = Result<T, PageError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/boards", post(create_board))
        .route("/boards/{id}", get(board).post(rename_board))
        .route("/boards/{id}/delete", post(delete_board))
        .route("/boards/{id}/cards", post(create_card))
        .route("/boards/{id}/columns", post(create_column))
        .route("/boards/{id}/members", post(add_member))
        .route("/boards/{id}/members/{username}/delete", post(remove_member))
        .route("/cards/{id}", get(editor).post(save_card))
        .route("/cards/{id}/edit", get(editor))
        .route("/cards/{id}/move", post(move_card))
        .route("/cards/{id}/delete", post(delete_card))
        .route("/cards/{id}/comments", post(add_comment))
        .route("/comments/{id}/delete", post(delete_comment))
        .route("/columns/{id}", post(rename_column))
        .route("/columns/{id}/move", post(move_column))
        .route("/columns/{id}/delete", post(delete_column))
        .route("/settings", get(settings))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/delete", post(revoke_token))
        .route("/admin", get(admin))
        .route("/admin/announce", post(announce))
}

fn to_board(id: BoardId) -> Response {
    Redirect::to(&format!("/boards/{id}")).into_response()
}

/// Requests from the board page's script want a fragment or an empty 204, not a redirect.
fn partial(headers: &HeaderMap) -> bool {
    headers.contains_key("x-partial")
}

async fn home(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> PageResult<Markup> {
    boards_page(&state, &user, "", None).await
}

async fn boards_page(state: &AppState, user: &User, name: &str, error: Option<&str>) -> PageResult<Markup> {
    let boards = repo::boards::list_for(&state.db.read, user.id).await?;
    let items: Vec<t::BoardItem> = boards.iter().map(|b| t::BoardItem { id: b.id.0, name: &b.name }).collect();
    Ok(t::boards_page(&state.ctx(Some(&user.username)), &items, name, error))
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

async fn create_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Form(f): Form<NameForm>,
) -> PageResult {
    let created = match BoardName::parse(&f.name) {
        Ok(name) => repo::boards::create(&state.db, user.id, &name).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(b) => Ok(to_board(b.id)),
        Err(e @ Error::Validation { .. }) => {
            let page = boards_page(&state, &user, &f.name, Some(&e.to_string())).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Query(filter): Query<PageFilter>,
) -> PageResult<Markup> {
    board_with(&state, &user, BoardId(id), &filter, None, None).await
}

/// The board page, optionally with a form error and the text the user typed.
async fn board_with(
    state: &AppState,
    user: &User,
    id: BoardId,
    filter: &PageFilter,
    error: Option<&str>,
    draft: Option<(i64, &str)>,
) -> PageResult<Markup> {
    let snap = repo::boards::snapshot(&state.db.read, id, user.id).await?;
    let view = filter
        .view(user.id, |name| snap.members.iter().find(|m| m.username.eq_ignore_ascii_case(name)).map(|m| m.user_id))?;
    let query = filter.query();
    let ctx = crate::realtime::views::BoardCtx { done_column: snap.board.done_column_id };
    let mut page = render::board_page(&snap, &view, filter, &query, &state.hub.shared.epoch, error, ctx);
    page.draft = draft;
    Ok(t::board_page(&state.ctx(Some(&user.username)), &page))
}

async fn rename_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NameForm>,
) -> PageResult {
    let id = BoardId(id);
    match BoardName::parse(&f.name) {
        Ok(name) => {
            repo::boards::rename(&state.db, user.id, id, &name).await?;
            Ok(to_board(id))
        }
        Err(e) => form_error(&state, &user, id, e, None).await,
    }
}

async fn form_error(state: &AppState, user: &User, id: BoardId, e: Error, draft: Option<(i64, &str)>) -> PageResult {
    if !matches!(e, Error::Validation { .. } | Error::Conflict(_)) {
        return Err(e.into());
    }
    let page = board_with(state, user, id, &PageFilter::default(), Some(&e.to_string()), draft).await?;
    Ok((e.status(), page).into_response())
}

async fn delete_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    repo::boards::delete(&state.db, user.id, BoardId(id)).await?;
    Ok(Redirect::to("/").into_response())
}

#[derive(Deserialize)]
struct NewCardForm {
    #[serde(default)]
    title: String,
    column_id: Option<i64>,
}

async fn create_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NewCardForm>,
) -> PageResult {
    let id = BoardId(id);
    let created = async {
        let new = NewCard {
            title: CardTitle::parse(&f.title)?,
            description: Description::parse("")?,
            column_id: f.column_id.map(ColumnId),
            assignee: None,
            labels: Labels::parse([])?,
            place: Place::Last,
        };
        repo::cards::create(&state.db, user.id, id, new).await
    };
    match created.await {
        Ok(_) => Ok(to_board(id)),
        Err(e) => form_error(&state, &user, id, e, Some((f.column_id.unwrap_or(0), &f.title))).await,
    }
}

/// The card editor, as a page or (for the board's script) as a fragment.
async fn editor(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> PageResult {
    let card = repo::cards::get(&state.db.read, user.id, CardId(id)).await?;
    let labels = card.labels.join(", ");
    let draft = EditDraft {
        title: &card.title,
        description: &card.description,
        assignee: card.assignee.as_deref().unwrap_or(""),
        labels: &labels,
        version: card.version,
    };
    render_editor(&state, &user, &card, &draft, None, None, &headers, StatusCode::OK).await
}

/// What the user typed in the editor: always given back, whatever went wrong.
struct EditDraft<'a> {
    title: &'a str,
    description: &'a str,
    assignee: &'a str,
    labels: &'a str,
    version: i64,
}

#[allow(clippy::too_many_arguments)]
async fn render_editor(
    state: &AppState,
    user: &User,
    card: &Card,
    draft: &EditDraft<'_>,
    error: Option<&str>,
    conflict: Option<Vec<t::ChangeView<'_>>>,
    headers: &HeaderMap,
    status: StatusCode,
) -> PageResult {
    let snap = repo::boards::snapshot(&state.db.read, card.board_id, user.id).await?;
    let comments = repo::comments::for_card(&state.db.read, user.id, card.id).await?;
    let view = t::EditorView {
        card: render::card_view(card),
        title: draft.title,
        description: draft.description,
        assignee: draft.assignee,
        labels: draft.labels,
        version: draft.version,
        members: snap.members.iter().map(|m| m.username.as_str()).collect(),
        columns: snap.columns.iter().map(|c| t::ColumnChoice { id: c.id.0, name: &c.name }).collect(),
        error,
        conflict,
        comments: comments
            .iter()
            .map(|c| t::CommentView { id: c.id.0, author: &c.author, body: &c.body, mine: c.author_id == user.id })
            .collect(),
    };
    let markup =
        if partial(headers) { t::editor(&view) } else { t::editor_page(&state.ctx(Some(&user.username)), &view) };
    Ok((status, markup).into_response())
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    labels: String,
    column_id: Option<i64>,
    version: Option<i64>,
}

async fn save_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<EditForm>,
) -> PageResult {
    let id = CardId(id);
    let saved = async {
        let patch = CardPatch {
            title: Some(CardTitle::parse(&f.title)?),
            description: Some(Description::parse(&f.description)?),
            assignee: Some(Some(f.assignee.clone()).filter(|a| !a.trim().is_empty())),
            labels: Some(Labels::parse_csv(&f.labels)?),
            column_id: f.column_id.map(ColumnId),
            place: None,
            expected_version: f.version,
        };
        repo::cards::update(&state.db, user.id, id, patch).await
    };
    let err = match saved.await {
        Ok(_) if partial(&headers) => return Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(card) => return Ok(to_board(card.board_id)),
        Err(e @ (Error::Validation { .. } | Error::Conflict(_))) => e,
        Err(e) => return Err(e.into()),
    };
    // Refused: show the editor again with everything the user typed.
    let card = repo::cards::get(&state.db.read, user.id, id).await?;
    let draft = EditDraft {
        title: &f.title,
        description: &f.description,
        assignee: &f.assignee,
        labels: &f.labels,
        version: f.version.unwrap_or(card.version),
    };
    if let Error::Conflict(_) = err {
        let changes = repo::cards::changes_since(&state.db.read, id, f.version.unwrap_or(0)).await?;
        let diffs: Vec<(String, &'static str, String, String)> =
            changes.iter().flat_map(|(e, who)| describe(e, who)).collect();
        let views = diffs
            .iter()
            .map(|(who, field, from, to)| t::ChangeView { who, field, from: from.clone(), to: to.clone() })
            .collect();
        // Saving again applies the user's text on top of the newest version.
        let draft = EditDraft { version: card.version, ..draft };
        return render_editor(&state, &user, &card, &draft, None, Some(views), &headers, StatusCode::CONFLICT).await;
    }
    render_editor(&state, &user, &card, &draft, Some(&err.to_string()), None, &headers, StatusCode::BAD_REQUEST).await
}

/// The fields one card update changed, in words.
fn describe(e: &crate::events::Event, who: &Option<String>) -> Vec<(String, &'static str, String, String)> {
    let (Some(b), Some(a)) = (e.before::<Card>(), e.after::<Card>()) else { return Vec::new() };
    let who = who.clone().unwrap_or_else(|| "someone".into());
    let mut out = Vec::new();
    let mut diff = |field: &'static str, from: String, to: String| {
        if from != to {
            out.push((who.clone(), field, from, to));
        }
    };
    diff("the title", b.title, a.title);
    diff("the description", b.description, a.description);
    diff("the assignee", b.assignee.unwrap_or_default(), a.assignee.unwrap_or_default());
    diff("the labels", b.labels.join(", "), a.labels.join(", "));
    if b.column_id != a.column_id {
        diff("the column", "another column".into(), "a new column".into());
    }
    out
}

#[derive(Deserialize)]
struct MoveForm {
    column_id: Option<i64>,
    #[serde(default)]
    place: String,
}

async fn move_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<MoveForm>,
) -> PageResult {
    let place = match f.place.as_str() {
        "first" | "top" => Place::First,
        "up" => Place::Earlier,
        "down" => Place::Later,
        _ => Place::Last,
    };
    let patch = CardPatch { column_id: f.column_id.map(ColumnId), place: Some(place), ..CardPatch::default() };
    let card = repo::cards::update(&state.db, user.id, CardId(id), patch).await?;
    Ok(if partial(&headers) { StatusCode::NO_CONTENT.into_response() } else { to_board(card.board_id) })
}

#[derive(Deserialize)]
struct VersionForm {
    version: Option<i64>,
}

async fn delete_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> PageResult {
    let card = repo::cards::delete(&state.db, user.id, CardId(id), f.version).await?;
    Ok(to_board(card.board_id))
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

async fn add_comment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Form(f): Form<CommentForm>,
) -> PageResult {
    let id = CardId(id);
    let added = match CommentBody::parse(&f.body) {
        Ok(body) => repo::comments::create(&state.db, user.id, id, &body).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(_) if partial(&headers) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/cards/{id}")).into_response()),
        Err(e @ Error::Validation { .. }) => {
            let card = repo::cards::get(&state.db.read, user.id, id).await?;
            let labels = card.labels.join(", ");
            let draft = EditDraft {
                title: &card.title,
                description: &card.description,
                assignee: card.assignee.as_deref().unwrap_or(""),
                labels: &labels,
                version: card.version,
            };
            render_editor(&state, &user, &card, &draft, Some(&e.to_string()), None, &headers, StatusCode::BAD_REQUEST)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_comment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> PageResult {
    let c = repo::comments::delete(&state.db, user.id, CommentId(id)).await?;
    Ok(if partial(&headers) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(&format!("/cards/{}", c.card_id)).into_response()
    })
}

async fn create_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NameForm>,
) -> PageResult {
    let id = BoardId(id);
    match ColumnName::parse(&f.name) {
        Ok(name) => {
            repo::boards::create_column(&state.db, user.id, id, &name).await?;
            Ok(to_board(id))
        }
        Err(e) => form_error(&state, &user, id, e, None).await,
    }
}

async fn rename_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<NameForm>,
) -> PageResult {
    let name = ColumnName::parse(&f.name)?;
    let c = repo::boards::update_column(&state.db, user.id, ColumnId(id), Some(&name), None).await?;
    Ok(to_board(c.board_id))
}

#[derive(Deserialize)]
struct DirectionForm {
    #[serde(default)]
    direction: String,
}

async fn move_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<DirectionForm>,
) -> PageResult {
    let place = if f.direction == "left" { Place::Earlier } else { Place::Later };
    let c = repo::boards::update_column(&state.db, user.id, ColumnId(id), None, Some(place)).await?;
    Ok(to_board(c.board_id))
}

async fn delete_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let column = repo::boards::delete_column(&state.db, user.id, ColumnId(id)).await?;
    Ok(to_board(column.board_id))
}

#[derive(Deserialize)]
struct MemberForm {
    #[serde(default)]
    username: String,
}

async fn add_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    Form(f): Form<MemberForm>,
) -> PageResult {
    let id = BoardId(id);
    match repo::boards::add_member(&state.db, user.id, id, &f.username).await {
        Ok(_) => Ok(to_board(id)),
        Err(e) => form_error(&state, &user, id, e, None).await,
    }
}

async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, username)): Path<(i64, String)>,
) -> PageResult {
    let id = BoardId(id);
    match repo::boards::remove_member(&state.db, user.id, id, &username).await {
        Ok(()) if username.eq_ignore_ascii_case(&user.username) => Ok(Redirect::to("/").into_response()),
        Ok(()) => Ok(to_board(id)),
        Err(e) => form_error(&state, &user, id, e, None).await,
    }
}

async fn settings(State(state): State<AppState>, SessionUser(user): SessionUser) -> PageResult<Markup> {
    settings_page(&state, &user, None, None).await
}

async fn settings_page(
    state: &AppState,
    user: &User,
    new_token: Option<&str>,
    error: Option<&str>,
) -> PageResult<Markup> {
    let list = tokens::list(&state.db.read, user.id).await?;
    let views: Vec<t::TokenView> = list
        .iter()
        .map(|t| t::TokenView {
            id: t.id,
            name: &t.name,
            created_at: &t.created_at,
            last_used_at: t.last_used_at.as_deref(),
        })
        .collect();
    Ok(t::settings_page(&state.ctx(Some(&user.username)), &views, new_token, error))
}

async fn create_token(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    Form(f): Form<NameForm>,
) -> PageResult {
    match tokens::create(&state.db, user.id, &f.name).await {
        Ok(token) => Ok(settings_page(&state, &user, Some(&token), None).await?.into_response()),
        Err(e @ Error::Validation { .. }) => {
            Ok((StatusCode::BAD_REQUEST, settings_page(&state, &user, None, Some(&e.to_string())).await?)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    Path(id): Path<i64>,
) -> PageResult {
    tokens::revoke(&state.db, user.id, id).await?;
    state.hub.close_token(id);
    Ok(Redirect::to("/settings").into_response())
}

fn require_admin(user: &User) -> Result<(), Error> {
    if user.is_admin { Ok(()) } else { Err(Error::Forbidden("admins only")) }
}

async fn admin(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> PageResult<Markup> {
    require_admin(&user)?;
    Ok(t::admin_page(&state.ctx(Some(&user.username)), state.hub.open_connections()))
}

#[derive(Deserialize)]
struct AnnounceForm {
    #[serde(default)]
    message: String,
}

/// Pushes an announcement to every open page and JSON client: the custom-event API in use.
async fn announce(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Form(f): Form<AnnounceForm>,
) -> PageResult {
    require_admin(&user)?;
    let message: String = f.message.trim().chars().take(200).collect();
    state.hub.announce(&message);
    Ok(Redirect::to("/admin").into_response())
}
