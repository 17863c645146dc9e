//! The inbox: the header badge with the unread count (one partial for the page and the live
//! update) and the `/notifications` page with its plain "mark read" forms.
//!
//! handler or hub → renderer → **inbox** → HTML.

use maud::{Markup, html};

use crate::*;

/// The header badge: a link to `/notifications` with the unread count. The page renders it, and the
/// board socket replaces it with the same function's output when the count changes.
pub fn inbox_badge(unread: i64) -> Markup {
    let label = match unread {
        0 => "Notifications, none unread".to_owned(),
        1 => "Notifications, 1 unread".to_owned(),
        n => format!("Notifications, {n} unread"),
    };
    html! {
        a #(dom::INBOX_BADGE) .inbox href="/notifications" data-unread=(unread) aria-label=(label) title=(label) {
            "Inbox"
            @if unread > 0 { " " span.count { (unread) } }
        }
    }
}

/// One notification as the page lists it.
pub struct NotificationProps<'a> {
    pub id: i64,
    pub card_id: i64,
    pub card_title: &'a str,
    pub board_id: i64,
    pub board_name: &'a str,
    /// Who mentioned the reader.
    pub by: &'a str,
    /// "comment" or "description".
    pub source: &'a str,
    pub excerpt: &'a str,
    /// When, as RFC 3339 (for `<time datetime>`), and as shown.
    pub at: &'a str,
    pub at_text: &'a str,
    pub read: bool,
}

/// The `/notifications` page: newest first, one page of them.
pub struct InboxPage<'a> {
    pub items: Vec<NotificationProps<'a>>,
    pub unread: i64,
    /// The query of the next (older) page, when there is one.
    pub older: Option<String>,
    /// Where the mark-read forms return to (this page, with its query).
    pub back: &'a str,
}

pub fn notifications_page(ctx: &Ctx, p: &InboxPage) -> Markup {
    page(
        ctx,
        "Notifications",
        html! {
            section.narrow.inbox-page {
                h1 { "Notifications" }
                @if p.unread > 0 {
                    form method="post" action="/notifications/read-all" {
                        input type="hidden" name="back" value=(p.back);
                        button type="submit" { "Mark all read" }
                    }
                }
                @if p.items.is_empty() {
                    p.muted { "Nothing yet. When someone mentions you as @" (ctx.user.unwrap_or("you")) " on a card, it shows here." }
                }
                ul.notifications {
                    @for n in &p.items {
                        li #(dom::notification(n.id)) .notification.unread[!n.read] data-read=(n.read) {
                            p {
                                strong { (n.by) }
                                " mentioned you in "
                                (if n.source == "comment" { "a comment on " } else { "the description of " })
                                a href=(format!("/cards/{}", n.card_id)) { (n.card_title) }
                                " on "
                                a href=(format!("/boards/{}", n.board_id)) { (n.board_name) }
                                " · "
                                time datetime=(n.at) { (n.at_text) }
                            }
                            blockquote.excerpt { (n.excerpt) }
                            @if !n.read {
                                form method="post" action=(format!("/notifications/{}/read", n.id)) {
                                    input type="hidden" name="back" value=(p.back);
                                    button.linkish type="submit" { "Mark read" }
                                }
                            }
                        }
                    }
                }
                @if let Some(q) = &p.older { p { a href=(format!("/notifications?{q}")) { "Older" } } }
            }
        },
    )
}
