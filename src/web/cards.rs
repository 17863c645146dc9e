//! Card forms and the card editor, with comments; a refused save keeps what the user typed.
//!
//! browser form → **handler** → repository → redirect, fragment or page.

use super::{boards::form_error, notice, *};

#[derive(Deserialize)]
pub(super) struct NewCardForm {
    #[serde(default)]
    title: String,
    column_id: Option<i64>,
}

pub(super) async fn create_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
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
        Err(e) => {
            form_error(&state, &user, id, e, Some(t::Draft::Card { column: f.column_id.unwrap_or(0), title: &f.title }))
                .await
        }
    }
}

/// The card editor, as a page or (for the board's script) as a fragment.
pub(super) async fn editor(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
) -> PageResult {
    let card = repo::cards::get(&state.db.read, user.id, CardId(id)).await?;
    render_editor(&state, &user, &card, &EditForm::of(&card), None, None, &headers, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn render_editor(
    state: &AppState,
    user: &User,
    card: &Card,
    draft: &EditForm,
    error: Option<&str>,
    conflict: Option<Vec<t::ChangeProps<'_>>>,
    headers: &HeaderMap,
    status: StatusCode,
) -> PageResult {
    let snap = repo::boards::snapshot(&state.db.read, card.board_id, user.id).await?;
    let comments = repo::comments::for_card(&state.db.read, user.id, card.id).await?;
    let checklist = repo::checklist::for_card(&state.db.read, user.id, card.id).await?;
    let history = repo::activity::for_card(&state.db.read, card.id, user.id, Default::default()).await?;
    let view = t::EditorProps {
        card: render::card_props(card),
        title: &draft.title,
        description: &draft.description,
        assignee: &draft.assignee,
        labels: &draft.labels,
        version: draft.version.unwrap_or(card.version),
        members: snap.members.iter().map(|m| m.username.as_str()).collect(),
        columns: snap.columns.iter().map(|c| t::ColumnChoice { id: c.id.0, name: &c.name }).collect(),
        error,
        conflict,
        comments: comments
            .iter()
            .map(|c| t::CommentProps { id: c.id.0, author: &c.author, body: &c.body, mine: c.author_id == user.id })
            .collect(),
        checklist: checklist.iter().map(render::checklist_item_props).collect(),
        checklist_draft: &draft.checklist,
        comment_draft: &draft.comment,
        history: render::feed::entries(&history.entries),
    };
    let markup =
        if partial(headers) { t::editor(&view) } else { t::editor_page(&state.ctx(Some(&user.username)), &view) };
    Ok((status, markup).into_response())
}

/// The editor's fields: what the card holds when it opens, and what the user typed when a save is
/// refused (always given back, whatever went wrong).
#[derive(Clone, Deserialize)]
pub(super) struct EditForm {
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
    /// What the checklist's add form holds (not a field of the card's form).
    #[serde(skip)]
    pub(super) checklist: String,
    /// What the comment form holds (not a field of the card's form).
    #[serde(skip)]
    pub(super) comment: String,
}

impl EditForm {
    /// The fields as the card holds them.
    pub(super) fn of(card: &Card) -> Self {
        Self {
            title: card.title.clone(),
            description: card.description.clone(),
            assignee: card.assignee.clone().unwrap_or_default(),
            labels: card.labels.join(", "),
            column_id: Some(card.column_id.0),
            version: Some(card.version),
            checklist: String::new(),
            comment: String::new(),
        }
    }
}

pub(super) async fn save_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: tower_sessions::Session,
    PagePath(id): PagePath<i64>,
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
        Ok(c) => return Ok(notice::answer(&session, &headers, c.seq, "Card saved".into(), c.record.board_id).await),
        Err(e @ (Error::Validation { .. } | Error::Conflict(_))) => e,
        Err(e) => return Err(e.into()),
    };
    // Refused: show the editor again with everything the user typed.
    let card = repo::cards::get(&state.db.read, user.id, id).await?;
    if let Error::Conflict(_) = err {
        let changes = repo::cards::changes_since(&state.db.read, id, f.version.unwrap_or(0)).await?;
        let diffs: Vec<(String, &'static str, String, String)> =
            changes.iter().flat_map(|(e, who)| describe(e, who)).collect();
        let views = diffs
            .iter()
            .map(|(who, field, from, to)| t::ChangeProps { who, field, from: from.clone(), to: to.clone() })
            .collect();
        // Saving again applies the user's text on top of the newest version.
        let draft = EditForm { version: Some(card.version), ..f };
        return render_editor(&state, &user, &card, &draft, None, Some(views), &headers, StatusCode::CONFLICT).await;
    }
    render_editor(&state, &user, &card, &f, Some(&err.to_string()), None, &headers, StatusCode::BAD_REQUEST).await
}

/// The fields one card update changed, in words.
pub(super) fn describe(e: &crate::events::Event, who: &Option<String>) -> Vec<(String, &'static str, String, String)> {
    let (Some(b), Some(a)) = (e.before::<Card>(), e.after::<Card>()) else { return Vec::new() };
    let who = who.clone().unwrap_or_else(|| "someone".into());
    let mut out = Vec::new();
    let mut diff = |field: &'static str, from: String, to: String| {
        if from != to {
            out.push((who.clone(), field, from, to));
        }
    };
    diff("the title", b.title.clone(), a.title.clone());
    diff("the description", b.description.clone(), a.description.clone());
    diff("the assignee", b.assignee.clone().unwrap_or_default(), a.assignee.clone().unwrap_or_default());
    diff("the labels", b.labels.join(", "), a.labels.join(", "));
    if b.column_id != a.column_id {
        diff("the column", "another column".into(), "a new column".into());
    }
    out
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    column_id: Option<i64>,
    #[serde(default)]
    place: String,
}

pub(super) async fn move_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: tower_sessions::Session,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Form(f): Form<MoveForm>,
) -> PageResult {
    let place = if f.place.is_empty() { Place::Last } else { Place::parse(&f.place)? };
    let patch = CardPatch { column_id: f.column_id.map(ColumnId), place: Some(place), ..CardPatch::default() };
    let c = repo::cards::update(&state.db, user.id, CardId(id), patch).await?;
    let column = repo::undo::column_name(&state.db.read, c.record.column_id).await?;
    Ok(notice::answer(&session, &headers, c.seq, format!("Moved to {column}"), c.record.board_id).await)
}

#[derive(Deserialize)]
pub(super) struct VersionForm {
    version: Option<i64>,
}

pub(super) async fn delete_card(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: tower_sessions::Session,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Form(f): Form<VersionForm>,
) -> PageResult {
    let c = repo::cards::delete(&state.db, user.id, CardId(id), f.version).await?;
    Ok(notice::answer(&session, &headers, c.seq, "Card deleted".into(), c.record.board_id).await)
}

#[derive(Deserialize)]
pub(super) struct CommentForm {
    #[serde(default)]
    body: String,
}

pub(super) async fn add_comment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
    Form(f): Form<CommentForm>,
) -> PageResult {
    let id = CardId(id);
    let added = match CommentBody::parse(&f.body) {
        Ok(body) => repo::comments::create(&state.db, user.id, id, &body).await,
        Err(e) => Err(e),
    };
    answer_card_form(&state, &user, id, &headers, added.map(drop), |d| d.comment = f.body.clone()).await
}

/// A form that belongs to a card's editor (a comment, a checklist item) was posted: back to the
/// card (or 204 for the board's script), or, when the input was refused, the editor again with the
/// error and what the user typed, put back by `keep`.
pub(super) async fn answer_card_form(
    state: &AppState,
    user: &User,
    id: CardId,
    headers: &HeaderMap,
    result: Result<(), Error>,
    keep: impl FnOnce(&mut EditForm),
) -> PageResult {
    match result {
        Ok(()) => Ok(to_card(id, headers)),
        Err(e @ Error::Validation { .. }) => {
            // Only a member sees the editor again: `get` refuses anyone else, as for the card itself.
            let card = repo::cards::get(&state.db.read, user.id, id).await?;
            let mut draft = EditForm::of(&card);
            keep(&mut draft);
            render_editor(state, user, &card, &draft, Some(&e.to_string()), None, headers, StatusCode::BAD_REQUEST)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn delete_comment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    headers: HeaderMap,
) -> PageResult {
    let c = repo::comments::delete(&state.db, user.id, CommentId(id)).await?;
    Ok(if partial(&headers) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Redirect::to(&format!("/cards/{}", c.card_id)).into_response()
    })
}
