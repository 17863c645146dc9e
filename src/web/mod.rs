//! Browser pages: plain HTML forms that work without JavaScript (POST, redirect, GET).
//! Thin handlers: extract → parse into domain types → call the repository → render or redirect.
//! This file holds the routes and the helpers the page handlers share; `boards`, `cards` and
//! `settings` hold the handlers.

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use liveboard_templates as t;
use maud::Markup;
use serde::Deserialize;

use crate::{
    auth::CurrentUser,
    domain::*,
    // Page extractors: a value that does not parse answers the HTML error page, not plain text.
    error::{Error, Form, PageError, PagePath, PageQuery},
    render,
    repo::{
        self,
        cards::{CardPatch, NewCard},
    },
    state::AppState,
    tokens,
    views::PageFilter,
};

/// A board's activity page, and the activity and "since your last visit" of the board page.
mod activity;
/// The board, its columns and members.
mod boards;
/// Cards, the editor, comments.
mod cards;
/// A card's checklist items.
mod checklist;
/// The undo notice a change leaves for the next board page.
mod notice;
/// The inbox: notifications of @mentions.
mod notifications;
/// Settings (tokens) and admin.
mod settings;
/// The plain form that undoes a change.
mod undo;

pub(super) type PageResult<T = Response> = Result<T, PageError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/boards", post(boards::create_board))
        .route("/boards/{id}", get(boards::board).post(boards::rename_board))
        .route("/boards/{id}/delete", post(boards::delete_board))
        .route("/boards/{id}/activity", get(activity::activity_page))
        .route("/boards/{id}/cards", post(cards::create_card))
        .route("/boards/{id}/columns", post(boards::create_column))
        .route("/boards/{id}/members", post(boards::add_member))
        .route("/boards/{id}/members/{username}/delete", post(boards::remove_member))
        .route("/cards/{id}", get(cards::editor).post(cards::save_card))
        .route("/cards/{id}/edit", get(cards::editor))
        .route("/cards/{id}/move", post(cards::move_card))
        .route("/cards/{id}/delete", post(cards::delete_card))
        .route("/cards/{id}/comments", post(cards::add_comment))
        .route("/comments/{id}/delete", post(cards::delete_comment))
        .route("/cards/{id}/checklist", post(checklist::add_item))
        .route("/checklist/{id}", post(checklist::tick_item))
        .route("/checklist/{id}/move", post(checklist::move_item))
        .route("/checklist/{id}/delete", post(checklist::delete_item))
        .route("/columns/{id}", post(boards::rename_column))
        .route("/columns/{id}/move", post(boards::move_column))
        .route("/columns/{id}/delete", post(boards::delete_column))
        .route("/events/{seq}/undo", post(undo::undo))
        .route("/notifications", get(notifications::inbox))
        .route("/notifications/read-all", post(notifications::mark_all_read))
        .route("/notifications/{id}/read", post(notifications::mark_read))
        .route("/settings", get(settings::settings))
        .route("/settings/tokens", post(settings::create_token))
        .route("/settings/tokens/{id}/delete", post(settings::revoke_token))
        .route("/admin", get(settings::admin))
        .route("/admin/announce", post(settings::announce))
        .route("/admin/news", post(settings::news))
        // Any other path gets the HTML 404 page (unknown paths under /api answer JSON, see `api::router`).
        .fallback(not_found)
}

async fn not_found() -> PageError {
    Error::NotFound.into()
}

pub(super) fn to_board(id: BoardId) -> Response {
    Redirect::to(&format!("/boards/{id}")).into_response()
}

/// Back to a card's editor after one of its forms, or 204 for the board page's script.
pub(super) fn to_card(card: CardId, headers: &HeaderMap) -> Response {
    if partial(headers) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(&format!("/cards/{card}")).into_response()
    }
}

/// Requests from the board page's script want a fragment or an empty 204, not a redirect.
pub(super) fn partial(headers: &HeaderMap) -> bool {
    headers.contains_key("x-partial")
}

async fn home(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> PageResult<Markup> {
    boards_page(&state, &user, "", None).await
}

pub(super) async fn boards_page(state: &AppState, user: &User, name: &str, error: Option<&str>) -> PageResult<Markup> {
    let boards = repo::boards::list_for(&state.db.read, user.id).await?;
    let items: Vec<t::BoardItem> = boards.iter().map(|b| t::BoardItem { id: b.id.0, name: &b.name }).collect();
    Ok(t::boards_page(&state.ctx(Some(&user.username)), &items, name, error))
}
