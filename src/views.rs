//! Views: which cards a subscription shows, and how a change looks from one (a card enters, stays
//! in, or leaves it). One definition serves the board page's filters, the live HTML fragments and the
//! JSON view subscriptions. "View" means this and only this; template inputs are "props".
//!
//! hub → **view filter** (enter / stay / leave) → renderer.

use serde::Deserialize;

use crate::{
    domain::{Card, ColumnId, UserId},
    error::{Error, Result},
};

/// One condition on a card. A view is all of its conditions together.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pred {
    /// Not in the board's done column.
    Active,
    AssignedTo(UserId),
    Unassigned,
    /// Has this label (case-insensitive).
    Label(String),
    /// Title or description contains this text (case-insensitive).
    Text(String),
}

/// What a predicate needs to know about the board besides the card.
#[derive(Clone, Copy, Debug, Default)]
pub struct BoardCtx {
    pub done_column: Option<ColumnId>,
}

impl Pred {
    pub fn matches(&self, c: &Card, b: &BoardCtx) -> bool {
        match self {
            Self::Active => Some(c.column_id) != b.done_column,
            Self::AssignedTo(u) => c.assignee_id == Some(*u),
            Self::Unassigned => c.assignee_id.is_none(),
            Self::Label(l) => c.labels.iter().any(|x| x.to_lowercase() == *l),
            Self::Text(t) => c.title.to_lowercase().contains(t) || c.description.to_lowercase().contains(t),
        }
    }
}

/// Extra parameters of a view: from the page URL, or the `filter` object of a JSON subscription.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewParams {
    pub label: Option<String>,
    pub q: Option<String>,
    /// A member's user id (JSON) — the page resolves `assignee=<username>` to this.
    pub assignee_id: Option<i64>,
}

/// A named view: a name clients use, and the conditions it stands for.
pub struct NamedView {
    pub name: &'static str,
    pub build: fn(viewer: UserId, params: &ViewParams) -> Result<Vec<Pred>>,
}

fn need_label(p: &ViewParams) -> Result<Vec<Pred>> {
    match p.label.as_deref().map(str::trim) {
        Some(l) if !l.is_empty() => Ok(vec![Pred::Label(l.to_lowercase())]),
        _ => Err(Error::BadRequest("by_label needs filter.label".into())),
    }
}

/// **The named views.** Add a line here to give both the board page and JSON clients a new view.
pub const NAMED_VIEWS: &[NamedView] = &[
    NamedView { name: "all_cards", build: |_, _| Ok(vec![]) },
    NamedView { name: "active_cards", build: |_, _| Ok(vec![Pred::Active]) },
    NamedView { name: "my_cards", build: |viewer, _| Ok(vec![Pred::AssignedTo(viewer)]) },
    NamedView { name: "unassigned", build: |_, _| Ok(vec![Pred::Unassigned]) },
    NamedView { name: "by_label", build: |_, p| need_label(p) },
];

/// A set of conditions, normalized (sorted, de-duplicated) so equal views compare equal and share renders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct View(Vec<Pred>);

impl View {
    pub fn new(mut preds: Vec<Pred>) -> Self {
        preds.sort();
        preds.dedup();
        Self(preds)
    }

    /// A named view plus the optional extra filter of a JSON subscription.
    pub fn named(name: &str, viewer: UserId, params: &ViewParams) -> Result<Self> {
        let nv = NAMED_VIEWS
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| Error::BadRequest(format!("no view named {name:?}")))?;
        let mut preds = (nv.build)(viewer, params)?;
        preds.extend(extra(params));
        Ok(Self::new(preds))
    }

    /// Whether `card` is in this view.
    pub fn matches(&self, card: &Card, b: &BoardCtx) -> bool {
        self.0.iter().all(|p| p.matches(card, b))
    }

    /// Whether this view shows every card (no filter).
    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }
}

fn extra(p: &ViewParams) -> Vec<Pred> {
    let mut out = Vec::new();
    if let Some(l) = p.label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        out.push(Pred::Label(l.to_lowercase()));
    }
    if let Some(q) = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        out.push(Pred::Text(q.to_lowercase()));
    }
    if let Some(a) = p.assignee_id {
        out.push(Pred::AssignedTo(UserId(a)));
    }
    out
}

/// The board page's filter, as its URL carries it (`?hide_done=1&assignee=me&label=bug&q=login`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PageFilter {
    #[serde(default)]
    pub hide_done: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
}

impl PageFilter {
    pub fn hide_done(&self) -> bool {
        matches!(self.hide_done.as_deref(), Some("1" | "on" | "true"))
    }

    /// The view this filter shows, built from the named views. `member_id` resolves a username.
    pub fn view(&self, viewer: UserId, member_id: impl Fn(&str) -> Option<UserId>) -> Result<View> {
        let mut params = ViewParams { q: self.q.clone(), ..ViewParams::default() };
        let mut named = Vec::new();
        if self.hide_done() {
            named.push("active_cards");
        }
        match self.assignee.as_deref().map(str::trim).unwrap_or("") {
            "" => {}
            "me" => named.push("my_cards"),
            "none" => named.push("unassigned"),
            // An unknown member matches nothing, like a search with no hits.
            name => params.assignee_id = Some(member_id(name).map_or(-1, |u| u.0)),
        }
        if let Some(label) = self.label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            named.push("by_label");
            params.label = Some(label.to_owned());
        }
        let mut preds = extra(&params);
        for name in named {
            preds.extend(View::named(name, viewer, &params)?.0);
        }
        Ok(View::new(preds))
    }

    /// The query string of this filter, for links and the socket URL.
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if self.hide_done() {
            q.append_pair("hide_done", "1");
        }
        for (k, v) in [("assignee", &self.assignee), ("label", &self.label), ("q", &self.q)] {
            if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

/// How one change looks from one view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Not in the view before nor after: nothing to send.
    Outside,
    /// Created, or changed so that it now matches.
    Enter,
    /// Changed and still matches.
    Stay,
    /// Deleted, or changed so that it no longer matches.
    Leave,
}

impl View {
    /// Compares the record before and after a change against this view.
    pub fn transition(&self, before: Option<&Card>, after: Option<&Card>, b: &BoardCtx) -> Transition {
        let was = before.is_some_and(|c| self.matches(c, b));
        let is = after.is_some_and(|c| self.matches(c, b));
        match (was, is) {
            (false, false) => Transition::Outside,
            (false, true) => Transition::Enter,
            (true, true) => Transition::Stay,
            (true, false) => Transition::Leave,
        }
    }
}
