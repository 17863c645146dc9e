//! Whole pages outside the board: sign-up and log-in, the list of boards, settings, admin.
//!
//! handler → **pages** → HTML.

use maud::{Markup, html};

use crate::*;

/// Sign-up and log-in share one form.
pub struct AuthForm<'a> {
    pub action: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// Demo accounts (user, password) to show on the login page of a development server.
    pub demo: &'a [(&'a str, &'a str)],
}

pub fn auth_page(ctx: &Ctx, form: &AuthForm) -> Markup {
    let (title, other, other_label) = if form.action == "/signup" {
        ("Sign up", "/login", "Have an account? Log in")
    } else {
        ("Log in", "/signup", "New here? Sign up")
    };
    page(
        ctx,
        title,
        html! {
            section.narrow {
                h1 { (title) }
                @if let Some(e) = form.error { p.error role="alert" { (e) } }
                form.stack method="post" action=(form.action) {
                    label { "Username" input name="username" value=(form.username) required autocomplete="username" autofocus; }
                    label { "Password" input name="password" type="password" required
                        autocomplete=(if form.action == "/signup" { "new-password" } else { "current-password" }); }
                    button type="submit" { (title) }
                }
                p { a href=(other) { (other_label) } }
                @if !form.demo.is_empty() && form.action == "/login" {
                    p.notice.demo {
                        "Demo accounts: "
                        @for (i, (user, password)) in form.demo.iter().enumerate() {
                            @if i > 0 { ", " }
                            code { (user) } " / " code { (password) }
                        }
                    }
                }
            }
        },
    )
}

/// A board in the list of boards.
pub struct BoardItem<'a> {
    pub id: i64,
    pub name: &'a str,
}

pub fn boards_page(ctx: &Ctx, boards: &[BoardItem], name: &str, error: Option<&str>) -> Markup {
    page(
        ctx,
        "Your boards",
        html! {
            section.narrow {
                h1 { "Your boards" }
                p.no-boards { "No boards yet." }
                ul.boards { @for b in boards { li { a href={"/boards/" (b.id)} { (b.name) } } } }
                h2 { "New board" }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                form.inline method="post" action="/boards" {
                    input name="name" value=(name) placeholder="Board name" required maxlength="100";
                    button type="submit" { "Create" }
                }
            }
        },
    )
}

/// The settings page: personal API tokens.
pub struct TokenProps<'a> {
    pub id: i64,
    pub name: &'a str,
    pub created_at: &'a str,
    pub last_used_at: Option<&'a str>,
}

pub fn settings_page(ctx: &Ctx, tokens: &[TokenProps], new_token: Option<&str>, error: Option<&str>) -> Markup {
    page(
        ctx,
        "Settings",
        html! {
            section.narrow {
                h1 { "API tokens" }
                p { "Scripts send " code { "Authorization: Bearer <token>" } "; WebSockets add " code { "?token=<token>" } "." }
                @if let Some(t) = new_token {
                    div.notice role="status" {
                        p { "Your new token. Copy it now: it will not be shown again." }
                        code.token data-new-token { (t) }
                    }
                }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                ul.tokens {
                    @for t in tokens {
                        li data-token=(t.name) {
                            strong { (t.name) } " created " (t.created_at)
                            @if let Some(u) = t.last_used_at { ", last used " (u) }
                            form.inline method="post" action={"/settings/tokens/" (t.id) "/delete"} {
                                button.danger type="submit" { "Revoke" }
                            }
                        }
                    }
                }
                form.inline method="post" action="/settings/tokens" {
                    input name="name" placeholder="Token name" required maxlength="100";
                    button type="submit" { "Create token" }
                }
            }
        },
    )
}

/// An announcement banner pushed live to every open page.
pub fn banner(message: &str) -> Markup {
    html! { div id=(dom::BANNER) { @if !message.is_empty() { p.announcement role="status" { (message) } } } }
}

/// The admin page: broadcast an announcement.
pub fn admin_page(ctx: &Ctx, connections: usize) -> Markup {
    page(
        ctx,
        "Admin",
        html! {
            section.narrow {
                h1 { "Admin" }
                p { (connections) " live connections." }
                form.inline method="post" action="/admin/announce" {
                    input name="message" placeholder="Announcement to everyone" maxlength="200";
                    button type="submit" { "Announce" }
                }
                // The same as `POST /api/admin/broadcast` to the `news` channel, without JavaScript.
                form.inline method="post" action="/admin/news" {
                    input name="message" placeholder="News for news.* subscribers" maxlength="200";
                    button type="submit" { "Send news" }
                }
            }
        },
    )
}
