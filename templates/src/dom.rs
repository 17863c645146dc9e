//! DOM ids, shared by the page and the live fragments that target it.

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
pub fn checklist_item(id: i64) -> String {
    format!("checklist-item-{id}")
}
pub fn card_checklist(card: i64) -> String {
    format!("card-{card}-checklist")
}
pub fn notification(id: i64) -> String {
    format!("notification-{id}")
}
pub fn activity_entry(seq: i64) -> String {
    format!("activity-{seq}")
}
pub fn history_entry(seq: i64) -> String {
    format!("history-{seq}")
}
pub fn card_history(card: i64) -> String {
    format!("card-{card}-history")
}
pub const ACTIVITY: &str = "activity";
pub const BOARD_TITLE: &str = "board-title";
/// The undo notice's live region, and the template the board's script fills it from.
pub const UNDO: &str = "undo-notice";
pub const UNDO_TEMPLATE: &str = "undo-template";
pub const COLUMNS: &str = "columns";
pub const MEMBERS: &str = "members";
pub const PRESENCE: &str = "presence";
pub const BANNER: &str = "banner";
pub const INBOX_BADGE: &str = "inbox-badge";
