//! The settings page (API tokens) and the admin page (connections, announcements).
//!
//! browser form → **handler** → repository or hub → redirect or page.

use super::{boards::NameForm, *};
use crate::auth::SessionUser;

pub(super) async fn settings(State(state): State<AppState>, SessionUser(user): SessionUser) -> PageResult<Markup> {
    settings_page(&state, &user, None, None).await
}

pub(super) async fn settings_page(
    state: &AppState,
    user: &User,
    new_token: Option<&str>,
    error: Option<&str>,
) -> PageResult<Markup> {
    let list = tokens::list(&state.db.read, user.id).await?;
    let views: Vec<t::TokenProps> = list
        .iter()
        .map(|t| t::TokenProps {
            id: t.id,
            name: &t.name,
            created_at: &t.created_at,
            last_used_at: t.last_used_at.as_deref(),
        })
        .collect();
    Ok(t::settings_page(&state.ctx(Some(&user.username)), &views, new_token, error))
}

pub(super) async fn create_token(
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

pub(super) async fn revoke_token(
    State(state): State<AppState>,
    SessionUser(user): SessionUser,
    PagePath(id): PagePath<i64>,
) -> PageResult {
    tokens::revoke(&state.db, user.id, id).await?;
    state.hub.close_token(id);
    Ok(Redirect::to("/settings").into_response())
}

pub(super) async fn admin(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> PageResult<Markup> {
    user.require_admin()?;
    Ok(t::admin_page(&state.ctx(Some(&user.username)), state.hub.open_connections()))
}

#[derive(Deserialize)]
pub(super) struct AnnounceForm {
    #[serde(default)]
    message: String,
}

impl AnnounceForm {
    /// The message as sent: trimmed, at most 200 characters (as the field's `maxlength`).
    fn message(&self) -> String {
        self.message.trim().chars().take(200).collect()
    }
}

/// Sends `{"message": …}` on the `news` channel: to its subscribers only, unlike an announcement.
pub(super) async fn news(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Form(f): Form<AnnounceForm>,
) -> PageResult {
    user.require_admin()?;
    let message = f.message();
    if message.is_empty() {
        return Err(Error::invalid("message", "News needs a message").into());
    }
    state.hub.broadcast(crate::channels::Channel::News, None, serde_json::json!({ "message": message }));
    Ok(Redirect::to("/admin").into_response())
}

/// Pushes an announcement to every open page and JSON client: the custom-event API in use.
pub(super) async fn announce(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Form(f): Form<AnnounceForm>,
) -> PageResult {
    user.require_admin()?;
    state.hub.announce(&f.message());
    Ok(Redirect::to("/admin").into_response())
}
