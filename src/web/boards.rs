//! Board pages and their forms: the board, its columns and its members.
//!
//! browser form → **handler** → repository → redirect or page.

use super::*;
use crate::events::Collection;

#[derive(Deserialize)]
pub(super) struct NameForm {
    #[serde(default)]
    pub(super) name: String,
}

pub(super) async fn create_board(
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

pub(super) async fn board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: tower_sessions::Session,
    PagePath(id): PagePath<i64>,
    PageQuery(filter): PageQuery<PageFilter>,
) -> PageResult<Markup> {
    let notice = super::notice::take(&session).await;
    board_with(&state, &user, BoardId(id), &filter, None, None, notice.as_ref()).await
}

/// The board page, optionally with a form error and the text the user typed, or the notice of a
/// change the user may undo.
pub(super) async fn board_with(
    state: &AppState,
    user: &User,
    id: BoardId,
    filter: &PageFilter,
    error: Option<&str>,
    draft: Option<t::Draft<'_>>,
    undo: Option<&super::notice::Notice>,
) -> PageResult<Markup> {
    let snap = repo::boards::snapshot(&state.db.read, id, user.id).await?;
    let view = filter
        .view(user.id, |name| snap.members.iter().find(|m| m.username.eq_ignore_ascii_case(name)).map(|m| m.user_id))?;
    let query = filter.query();
    let ctx = crate::views::BoardCtx { done_column: snap.board.done_column_id };
    let extras = super::activity::BoardExtras::load(state, user, id, snap.seq).await?;
    let mut page = render::board_page(&snap, &view, filter, &query, state.hub.epoch(), error, ctx);
    page.draft = draft;
    page.undo = undo.map(super::notice::Notice::props);
    extras.apply(&mut page);
    Ok(t::board_page(&state.ctx(Some(&user.username)), &page))
}

pub(super) async fn rename_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    Form(f): Form<NameForm>,
) -> PageResult {
    let id = BoardId(id);
    match BoardName::parse(&f.name) {
        Ok(name) => {
            repo::boards::rename(&state.db, user.id, id, &name).await?;
            Ok(to_board(id))
        }
        Err(e) => form_error(&state, &user, id, e, Some(t::Draft::BoardName(&f.name))).await,
    }
}

/// The board page again after a refused form, with the error and the user's text in its form.
pub(super) async fn form_error(
    state: &AppState,
    user: &User,
    id: BoardId,
    e: Error,
    draft: Option<t::Draft<'_>>,
) -> PageResult {
    if !matches!(e, Error::Validation { .. } | Error::Conflict(_)) {
        return Err(e.into());
    }
    let page = board_with(state, user, id, &PageFilter::default(), Some(&e.to_string()), draft, None).await?;
    Ok((e.status(), page).into_response())
}

pub(super) async fn delete_board(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
) -> PageResult {
    repo::boards::delete(&state.db, user.id, BoardId(id)).await?;
    Ok(Redirect::to("/").into_response())
}

pub(super) async fn create_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    Form(f): Form<NameForm>,
) -> PageResult {
    let id = BoardId(id);
    match ColumnName::parse(&f.name) {
        Ok(name) => {
            repo::boards::create_column(&state.db, user.id, id, &name).await?;
            Ok(to_board(id))
        }
        Err(e) => form_error(&state, &user, id, e, Some(t::Draft::NewColumn(&f.name))).await,
    }
}

pub(super) async fn rename_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    Form(f): Form<NameForm>,
) -> PageResult {
    match ColumnName::parse(&f.name) {
        Ok(name) => {
            let c = repo::boards::update_column(&state.db, user.id, ColumnId(id), Some(&name), None).await?;
            Ok(to_board(c.board_id))
        }
        Err(e) => {
            // The board page of a column the user may not see answers 404, as the rename would.
            let board =
                repo::boards::board_of(&state.db.read, Collection::Columns, id).await?.ok_or(Error::NotFound)?;
            form_error(&state, &user, board, e, Some(t::Draft::ColumnName { column: id, name: &f.name })).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct DirectionForm {
    #[serde(default)]
    direction: String,
}

pub(super) async fn move_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    Form(f): Form<DirectionForm>,
) -> PageResult {
    let place = if f.direction == "left" { Place::Earlier } else { Place::Later };
    let c = repo::boards::update_column(&state.db, user.id, ColumnId(id), None, Some(place)).await?;
    Ok(to_board(c.board_id))
}

pub(super) async fn delete_column(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
) -> PageResult {
    let column = repo::boards::delete_column(&state.db, user.id, ColumnId(id)).await?;
    Ok(to_board(column.board_id))
}

#[derive(Deserialize)]
pub(super) struct MemberForm {
    #[serde(default)]
    username: String,
}

pub(super) async fn add_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    Form(f): Form<MemberForm>,
) -> PageResult {
    let id = BoardId(id);
    match repo::boards::add_member(&state.db, user.id, id, &f.username).await {
        Ok(_) => Ok(to_board(id)),
        Err(e) => form_error(&state, &user, id, e, Some(t::Draft::Member(&f.username))).await,
    }
}

pub(super) async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath((id, username)): PagePath<(i64, String)>,
) -> PageResult {
    let id = BoardId(id);
    match repo::boards::remove_member(&state.db, user.id, id, &username).await {
        Ok(()) if username.eq_ignore_ascii_case(&user.username) => Ok(Redirect::to("/").into_response()),
        Ok(()) => Ok(to_board(id)),
        Err(e) => form_error(&state, &user, id, e, None).await,
    }
}
