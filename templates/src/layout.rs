//! The page chrome: layout, error page, avatars, and the live protocol's stream element.
//!
//! handler or hub → renderer → **layout** → HTML.

use maud::{DOCTYPE, Markup, html};

use crate::dom;

/// What every page's chrome needs.
pub struct Ctx<'a> {
    /// The signed-in user, if any.
    pub user: Option<&'a str>,
    /// Cache-busting suffix for asset URLs.
    pub assets_version: &'a str,
    /// The signed-in user's unread notifications, for the header badge.
    pub unread: Option<i64>,
}

impl Ctx<'_> {
    fn asset(&self, name: &str) -> String {
        format!("/assets/{name}?v={}", self.assets_version)
    }
}

/// The page layout.
pub fn page(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Liveboard" }
                link rel="stylesheet" href=(ctx.asset("app.css"));
                script type="module" src=(ctx.asset("app.js")) {}
            }
            body {
                header.topbar {
                    a.brand href="/" { "Liveboard" }
                    div id=(dom::BANNER) {}
                    @if let Some(user) = ctx.user {
                        nav {
                            @if let Some(n) = ctx.unread { (crate::inbox_badge(n)) }
                            a href="/settings" { "Settings" }
                            span.whoami { (avatar(user)) " " (user) }
                            form method="post" action="/logout" { button.linkish type="submit" { "Log out" } }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A small page for 4xx / 5xx.
pub fn error_page(status: u16, message: &str) -> Markup {
    let ctx = Ctx { user: None, assets_version: "0", unread: None };
    page(
        &ctx,
        "Error",
        html! {
            section.narrow {
                h1 { "Error " (status) }
                p { (message) }
                p { a href="/" { "Back to your boards" } }
            }
        },
    )
}

/// The colour class of a user's avatar: stable for a name.
pub fn avatar_class(name: &str) -> String {
    let h = name.bytes().fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    format!("c{}", h % 12)
}

/// Up to two initials of a name.
pub fn initials(name: &str) -> String {
    let mut parts = name.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty());
    let first = parts.next().unwrap_or(name);
    match parts.next() {
        Some(second) => first.chars().take(1).chain(second.chars().take(1)).collect::<String>().to_uppercase(),
        None => first.chars().take(2).collect::<String>().to_uppercase(),
    }
}

/// A user's avatar: initials on a stable colour.
pub fn avatar(name: &str) -> Markup {
    html! { span class={"avatar " (avatar_class(name))} title=(name) data-user=(name) { (initials(name)) } }
}

/// One action of the live protocol, in the Turbo Streams format:
/// `<turbo-stream action="…" target="…"><template>…</template></turbo-stream>`.
/// `parent` and `rank` tell the client where an `upsert` goes: into the list `parent`, in rank order.
pub fn stream(
    action: &str,
    target: &str,
    parent: Option<&str>,
    rank: Option<&str>,
    seq: i64,
    content: Option<Markup>,
) -> Markup {
    let seq = (seq > 0).then_some(seq);
    html! {
        turbo-stream action=(action) target=(target) data-parent=[parent] data-rank=[rank] data-seq=[seq] {
            @if let Some(c) = content { template { (c) } }
        }
    }
}
