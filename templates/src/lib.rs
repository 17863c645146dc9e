//! Templates: plain props structs in, `Markup` out. The same functions render the full page and the live
//! fragments pushed over the board's WebSocket, and every DOM id comes from [`dom`].
//!
//! This crate knows nothing of SQL, sessions or app state; it depends on maud alone.

use maud::{DOCTYPE, Markup, html};

/// DOM ids, shared by the page and the live fragments that target it.
pub mod dom {
    pub fn card(id: i64) -> String {
        format!("card-{id}")
    }
    pub fn column(id: i64) -> String {
        format!("column-{id}")
    }
    pub fn column_cards(id: i64) -> String {
        format!("column-{id}-cards")
    }
    pub fn column_head(id: i64) -> String {
        format!("column-{id}-head")
    }
    pub fn comment(id: i64) -> String {
        format!("comment-{id}")
    }
    pub fn card_activity(card: i64) -> String {
        format!("card-{card}-activity")
    }
    pub fn card_comments(card: i64) -> String {
        format!("card-{card}-comments")
    }
    pub const BOARD_TITLE: &str = "board-title";
    pub const COLUMNS: &str = "columns";
    pub const MEMBERS: &str = "members";
    pub const PRESENCE: &str = "presence";
    pub const BANNER: &str = "banner";
}

/// What every page's chrome needs.
pub struct Ctx<'a> {
    /// The signed-in user, if any.
    pub user: Option<&'a str>,
    /// Cache-busting suffix for asset URLs.
    pub assets_version: &'a str,
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
    let ctx = Ctx { user: None, assets_version: "0" };
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

/// A card as every view shows it. Viewer-independent, so one render serves every connection.
pub struct CardProps<'a> {
    pub id: i64,
    pub board_id: i64,
    pub column_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub assignee: Option<&'a str>,
    pub labels: &'a [String],
    pub rank: &'a str,
    pub version: i64,
}

/// A column choice in a card's "move to" control.
pub struct ColumnChoice<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// One card, the same for every viewer (so one render serves every connection showing it).
pub fn card(c: &CardProps) -> Markup {
    html! {
        li.card id=(dom::card(c.id)) data-id=(c.id) data-rank=(c.rank) data-column=(c.column_id) data-version=(c.version) {
            a.card-title href={"/cards/" (c.id)} data-edit=(c.id) { (c.title) }
            @if !c.description.is_empty() { p.card-desc { (c.description) } }
            @if !c.labels.is_empty() || c.assignee.is_some() {
                div.card-meta {
                    @for l in c.labels { span.label { (l) } }
                    @if let Some(a) = c.assignee { span.assignee { (avatar(a)) } }
                }
            }
            div.card-activity id=(dom::card_activity(c.id)) {}
        }
    }
}

/// A column's header: name, count, and its controls.
pub struct ColumnProps<'a> {
    pub id: i64,
    pub board_id: i64,
    pub name: &'a str,
    pub rank: &'a str,
    pub is_done: bool,
}

pub fn column_head(c: &ColumnProps, count: usize) -> Markup {
    html! {
        header.column-head id=(dom::column_head(c.id)) {
            h2 { span.column-name { (c.name) } " " span.count data-count { (count) } @if c.is_done { " " span.done-tag { "done" } } }
            details.column-tools {
                summary aria-label="Column actions" { "⋯" }
                form.inline method="post" action={"/columns/" (c.id)} {
                    input name="name" value=(c.name) required maxlength="100" aria-label="Column name";
                    button type="submit" { "Rename" }
                }
                form.inline method="post" action={"/columns/" (c.id) "/move"} {
                    button type="submit" name="direction" value="left" { "← Move left" }
                    button type="submit" name="direction" value="right" { "Move right →" }
                }
                form.inline method="post" action={"/columns/" (c.id) "/delete"} {
                    button.danger type="submit" { "Delete column" }
                }
            }
        }
    }
}

/// A whole column with its (already filtered) cards.
pub fn column(c: &ColumnProps, cards: &[CardProps], draft: Option<&str>) -> Markup {
    html! {
        section.column id=(dom::column(c.id)) data-id=(c.id) data-rank=(c.rank) {
            (column_head(c, cards.len()))
            ol.cards id=(dom::column_cards(c.id)) data-column=(c.id) {
                @for card_view in cards { (card(card_view)) }
            }
            form.add-card method="post" action={"/boards/" (c.board_id) "/cards"} {
                input type="hidden" name="column_id" value=(c.id);
                input name="title" placeholder="Add a card" required value=[draft] aria-label={"New card in " (c.name)};
                button type="submit" { "Add" }
            }
        }
    }
}

/// A board member, for the member list and the filters.
pub struct MemberProps<'a> {
    pub username: &'a str,
    pub is_owner: bool,
}

pub fn members(board_id: i64, members: &[MemberProps]) -> Markup {
    html! {
        div.members id=(dom::MEMBERS) {
            h2 { "Members" }
            ul {
                @for m in members {
                    li data-member=(m.username) {
                        (avatar(m.username)) " " (m.username)
                        @if m.is_owner { " (owner)" } @else {
                            form.inline method="post" action={"/boards/" (board_id) "/members/" (m.username) "/delete"} {
                                button.linkish type="submit" aria-label={"Remove " (m.username)} { "remove" }
                            }
                        }
                    }
                }
            }
            form.inline method="post" action={"/boards/" (board_id) "/members"} {
                input name="username" placeholder="username" required aria-label="Username to add";
                button type="submit" { "Add member" }
            }
        }
    }
}

/// The board's filter as the page URL carries it.
pub struct FilterProps<'a> {
    pub hide_done: bool,
    /// "", "me", "none" or a username.
    pub assignee: &'a str,
    pub label: &'a str,
    pub q: &'a str,
    /// The query string of this view (without `?`), for the socket URL.
    pub query: &'a str,
}

/// Everything the board page shows.
pub struct BoardPage<'a> {
    pub id: i64,
    pub name: &'a str,
    pub seq: i64,
    pub epoch: &'a str,
    pub columns: Vec<(ColumnProps<'a>, Vec<CardProps<'a>>)>,
    pub members: Vec<MemberProps<'a>>,
    pub filter: FilterProps<'a>,
    pub error: Option<&'a str>,
    /// A card title the user typed that was refused: (column id, text), kept in its form.
    pub draft: Option<(i64, &'a str)>,
}

pub fn board_title(id: i64, name: &str) -> Markup {
    html! {
        div.board-title id=(dom::BOARD_TITLE) {
            h1 { (name) }
            details {
                summary { "Rename" }
                form.inline method="post" action={"/boards/" (id)} {
                    input name="name" value=(name) required maxlength="100" aria-label="Board name";
                    button type="submit" { "Rename" }
                }
            }
        }
    }
}

pub fn board_page(ctx: &Ctx, b: &BoardPage) -> Markup {
    page(
        ctx,
        b.name,
        html! {
            (board(b, ctx.user.unwrap_or("")))
            dialog id="editor" {}
        },
    )
}

/// The board itself: the page's body, and the content of a live `reset`.
pub fn board(b: &BoardPage, me: &str) -> Markup {
    let f = &b.filter;
    html! {
        div.board id="board" data-board=(b.id) data-seq=(b.seq) data-epoch=(b.epoch) data-query=(f.query)
            data-me=(me) {
            div.board-bar {
                (board_title(b.id, b.name))
                div.presence id=(dom::PRESENCE) aria-label="On this board now" {}
                span.live-status id="live-status" data-state="offline" role="status" { "offline" }
            }
            @if let Some(e) = b.error { p.error role="alert" { (e) } }
            form.filters method="get" action={"/boards/" (b.id)} {
                label { input type="checkbox" name="hide_done" value="1" checked[f.hide_done]; " Hide done" }
                label { "Assignee "
                    select name="assignee" {
                        option value="" selected[f.assignee.is_empty()] { "anyone" }
                        option value="me" selected[f.assignee == "me"] { "me" }
                        option value="none" selected[f.assignee == "none"] { "nobody" }
                        @for m in &b.members { option value=(m.username) selected[f.assignee == m.username] { (m.username) } }
                    }
                }
                label { "Label " input name="label" value=(f.label) size="8"; }
                label { "Search " input type="search" name="q" value=(f.q) size="12"; }
                button type="submit" { "Apply" }
                a href={"/boards/" (b.id)} { "Clear" }
            }
            div.columns id=(dom::COLUMNS) {
                @for (c, cards) in &b.columns {
                    (column(c, cards, b.draft.filter(|(col, _)| *col == c.id).map(|(_, text)| text)))
                }
                form.add-column method="post" action={"/boards/" (b.id) "/columns"} {
                    input name="name" placeholder="New column" required maxlength="100" aria-label="New column name";
                    button type="submit" { "Add column" }
                }
            }
            (members(b.id, &b.members))
        }
    }
}

/// A comment under a card.
pub struct CommentProps<'a> {
    pub id: i64,
    pub author: &'a str,
    pub body: &'a str,
    pub mine: bool,
}

pub fn comment(c: &CommentProps) -> Markup {
    html! {
        li.comment id=(dom::comment(c.id)) data-author=(c.author) {
            (avatar(c.author)) " " strong { (c.author) } " " span.comment-body { (c.body) }
            @if c.mine {
                form.inline method="post" action={"/comments/" (c.id) "/delete"} {
                    button.linkish type="submit" { "delete" }
                }
            }
        }
    }
}

/// A change someone else made while this user was editing.
pub struct ChangeProps<'a> {
    pub who: &'a str,
    pub field: &'a str,
    pub from: String,
    pub to: String,
}

/// The card editor: its form keeps what the user typed, even when the save was refused.
pub struct EditorProps<'a> {
    pub card: CardProps<'a>,
    /// Field values as the user typed them (or as stored when the editor opens).
    pub title: &'a str,
    pub description: &'a str,
    pub assignee: &'a str,
    pub labels: &'a str,
    /// The version the edit is based on.
    pub version: i64,
    pub members: Vec<&'a str>,
    /// The board's columns: the editor's "move to" control (works without JavaScript).
    pub columns: Vec<ColumnChoice<'a>>,
    pub error: Option<&'a str>,
    /// Set when someone saved in between: what they changed.
    pub conflict: Option<Vec<ChangeProps<'a>>>,
    pub comments: Vec<CommentProps<'a>>,
}

pub fn editor(e: &EditorProps) -> Markup {
    let id = e.card.id;
    html! {
        div.editor id={"editor-" (id)} data-card=(id) data-board=(e.card.board_id) {
            div.editor-head {
                h2 { "Edit card" }
                a.close href={"/boards/" (e.card.board_id)} data-close { "Close" }
            }
            div.card-activity data-card-activity=(id) {}
            @if let Some(err) = e.error { p.error role="alert" { (err) } }
            @if let Some(changes) = &e.conflict {
                div.conflict role="alert" {
                    p { strong { "Someone saved this card while you were editing." } " Your text is kept below; check their changes, then save again." }
                    ul { @for c in changes { li { strong { (c.who) } " changed " (c.field) ": " del { (c.from) } " → " ins { (c.to) } } } }
                }
            }
            form.stack method="post" action={"/cards/" (id)} data-editor-form {
                input type="hidden" name="version" value=(e.version);
                label { "Title" input name="title" value=(e.title) required maxlength="200"; }
                label { "Description" textarea name="description" rows="5" data-typing { (e.description) } }
                label { "Assignee"
                    select name="assignee" {
                        option value="" selected[e.assignee.is_empty()] { "nobody" }
                        @for m in &e.members { option value=(m) selected[*m == e.assignee] { (m) } }
                    }
                }
                label { "Labels (comma separated)" input name="labels" value=(e.labels); }
                label { "Column"
                    select name="column_id" {
                        @for col in &e.columns { option value=(col.id) selected[col.id == e.card.column_id] { (col.name) } }
                    }
                }
                div.row {
                    button type="submit" { "Save" }
                    a href={"/boards/" (e.card.board_id)} data-close { "Cancel" }
                }
            }
            form.inline method="post" action={"/cards/" (id) "/move"} {
                label { "Move to "
                    select name="column_id" {
                        @for col in &e.columns { option value=(col.id) selected[col.id == e.card.column_id] { (col.name) } }
                    }
                }
                select name="place" aria-label="Position" {
                    option value="last" { "bottom" }
                    option value="first" { "top" }
                }
                button type="submit" { "Move" }
            }
            form.inline method="post" action={"/cards/" (id) "/delete"} {
                input type="hidden" name="version" value=(e.version);
                button.danger type="submit" { "Delete card" }
            }
            section.comments {
                h3 { "Comments" }
                ol id=(dom::card_comments(id)) { @for c in &e.comments { (comment(c)) } }
                form.inline method="post" action={"/cards/" (id) "/comments"} data-comment-form {
                    input name="body" placeholder="Write a comment" required maxlength="2000" data-typing aria-label="Comment";
                    button type="submit" { "Comment" }
                }
            }
        }
    }
}

pub fn editor_page(ctx: &Ctx, e: &EditorProps) -> Markup {
    page(ctx, e.card.title, editor(e))
}

/// The presence bar: the users on a board now, each once however many tabs they have open.
pub fn presence(users: &[String]) -> Markup {
    html! {
        div.presence id=(dom::PRESENCE) aria-label="On this board now" {
            @for u in users { span.present data-present=(u) { (avatar(u)) } }
        }
    }
}

/// "Alice is editing", "Bob is typing…" on a card.
pub fn card_activity(editing: &[&str], typing: &[&str]) -> Markup {
    html! {
        @for who in editing { span.editing data-editing=(who) { (avatar(who)) " " (who) " is editing" } }
        @for who in typing { span.typing data-typing-user=(who) { (who) " is typing…" } }
    }
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
            }
        },
    )
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
