//! The inbox page: `/notifications`, newest first, paged, with plain "Mark read" and "Mark all
//! read" forms (POST, redirect back). With JavaScript, `inbox.js` keeps the header badge live.
//!
//! browser form → **handler** → notifications repository → redirect or page.

use super::*;

/// Notifications one page shows.
const PER_PAGE: i64 = 20;

#[derive(Deserialize)]
pub(super) struct InboxQuery {
    before: Option<i64>,
}

pub(super) async fn inbox(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PageQuery(q): PageQuery<InboxQuery>,
) -> PageResult<Markup> {
    let list = repo::notifications::list(&state.db.read, user.id, q.before.map(NotificationId), PER_PAGE).await?;
    let unread = repo::notifications::unread(&state.db, user.id)?;
    let times: Vec<(String, String)> = list.iter().map(|n| (render::feed::rfc3339(n.created_at), shown(n.created_at))).collect();
    let items = list
        .iter()
        .zip(&times)
        .map(|(n, (at, at_text))| t::NotificationProps {
            id: n.id.0,
            card_id: n.card_id.0,
            card_title: &n.card_title,
            board_id: n.board_id.0,
            board_name: &n.board_name,
            by: n.by.as_deref().unwrap_or("someone"),
            source: &n.source,
            excerpt: &n.excerpt,
            at,
            at_text,
            read: n.read_at.is_some(),
        })
        .collect();
    let older = (list.len() as i64 == PER_PAGE).then(|| list.last().map(|n| format!("before={}", n.id))).flatten();
    let back = match q.before {
        Some(b) => format!("/notifications?before={b}"),
        None => "/notifications".to_owned(),
    };
    Ok(t::notifications_page(&state.ctx(Some(&user.username)), &t::InboxPage { items, unread, older, back: &back }))
}

/// Where a mark-read form returns: the inbox page it was on (never anywhere else).
#[derive(Deserialize)]
pub(super) struct BackForm {
    #[serde(default)]
    back: String,
}

fn back_to(f: &BackForm) -> Response {
    // Printable ASCII only: a control character is no header value (the redirect would fail).
    let safe =
        f.back.starts_with("/notifications") && !f.back.contains("//") && f.back.bytes().all(|b| b.is_ascii_graphic());
    Redirect::to(if safe { &f.back } else { "/notifications" }).into_response()
}

pub(super) async fn mark_read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    PagePath(id): PagePath<i64>,
    Form(f): Form<BackForm>,
) -> PageResult {
    repo::notifications::mark_read(&state.db, user.id, NotificationId(id)).await?;
    Ok(back_to(&f))
}

pub(super) async fn mark_all_read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Form(f): Form<BackForm>,
) -> PageResult {
    repo::notifications::mark_all_read(&state.db, user.id).await?;
    Ok(back_to(&f))
}

/// `2026-12-02 14:05 UTC`: the same for every reader, so no clock of theirs is needed.
fn shown(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute())
}
