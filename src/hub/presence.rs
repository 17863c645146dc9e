//! Presence: who is on a board (tabs counted once, a grace period before a leave), who is editing
//! which card (a lease), who is typing. A plain state machine fed the current time, so its tests
//! need no sleeps; nothing here is stored or sent: the hub turns the [`Change`]s into frames.
//!
//! socket signal → hub (stamps the sender) → **presence** → changes → frames to board pages and JSON subscribers.
//!
//! [`PresenceStore`] is the seam for several processes: this in-memory store is what one process
//! needs; a store shared through Redis (entries with an expiry each node refreshes) implements the
//! same trait, and the hub does not change.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, Instant},
};

use crate::{
    domain::{BoardId, CardId},
    protocol::{PresenceEvent, Signal},
};

/// One change of someone's presence on a board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub board: BoardId,
    pub event: PresenceEvent,
    pub user: String,
    pub card: Option<CardId>,
}

/// How long presence signals last.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// After the last tab closes, how long before the user leaves (a reload must not flicker).
    pub grace: Duration,
    /// How long "editing" lasts unless renewed.
    pub editing_ttl: Duration,
    /// How long "typing" lasts after the last signal.
    pub typing_ttl: Duration,
}

impl Timing {
    /// The timings `config` sets.
    pub fn of(config: &crate::config::Config) -> Self {
        Self { grace: config.presence_grace, editing_ttl: config.editing_ttl, typing_ttl: config.typing_ttl }
    }
}

/// Where presence lives. Connections are the hub's keys; users are usernames (what clients see).
pub trait PresenceStore: Send {
    /// A board page opened. Returns `[join]` for a user's first tab (not for a reload within the grace period).
    fn join(&mut self, board: BoardId, conn: u64, user: &str, now: Instant) -> Vec<Change>;
    /// A board page closed; the leave comes from [`PresenceStore::expire`] after the grace period.
    fn leave(&mut self, board: BoardId, conn: u64, user: &str, now: Instant);
    /// A signal from `conn`, already checked to come from a member.
    fn signal(&mut self, board: BoardId, conn: u64, user: &str, signal: Signal, now: Instant) -> Vec<Change>;
    /// `conn` went away: the editing and typing it started end now, not when their lease runs out.
    fn disconnect(&mut self, conn: u64, user: &str) -> Vec<Change>;
    /// `user` saved `card`: their typing there ends.
    fn saved(&mut self, board: BoardId, card: CardId, user: &str) -> Vec<Change>;
    /// `user` lost access to `board`: they leave it at once, with everything they were doing.
    fn remove_user(&mut self, board: BoardId, user: &str) -> Vec<Change>;
    /// Ends what timed out: leaves after the grace period, abandoned editors, stale typing.
    fn expire(&mut self, now: Instant) -> Vec<Change>;
    /// Who is on the board, by name.
    fn users(&self, board: BoardId) -> Vec<String>;
    /// Who is editing and who is typing in `card`.
    fn activity(&self, board: BoardId, card: CardId) -> (Vec<String>, Vec<String>);
    /// Cards of `board` with anyone editing or typing.
    fn active_cards(&self, board: BoardId) -> Vec<CardId>;
}

#[derive(Default)]
struct PresentUser {
    tabs: HashSet<u64>,
    /// Set when the last tab closed: the leave is announced after the grace period.
    gone_at: Option<Instant>,
}

/// Who → until when, per card.
type Leases = BTreeMap<CardId, BTreeMap<String, Instant>>;

#[derive(Default)]
struct Room {
    users: BTreeMap<String, PresentUser>,
    editing: Leases,
    typing: Leases,
}

impl Room {
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.editing.is_empty() && self.typing.is_empty()
    }
}

/// Presence of one process, in memory.
pub struct MemoryPresence {
    timing: Timing,
    rooms: HashMap<BoardId, Room>,
    /// The editing and typing each connection started.
    leases: HashMap<u64, HashSet<(BoardId, CardId)>>,
}

impl MemoryPresence {
    pub fn new(timing: Timing) -> Self {
        Self { timing, rooms: HashMap::new(), leases: HashMap::new() }
    }

    /// Boards with anyone on them or any activity, on this process.
    pub fn boards(&self) -> Vec<BoardId> {
        self.rooms.keys().copied().collect()
    }

    /// Removes `user` from `card`'s editing and typing, with the changes that makes.
    fn stop(&mut self, board: BoardId, card: CardId, user: &str, editing: bool) -> Vec<Change> {
        let Some(room) = self.rooms.get_mut(&board) else { return Vec::new() };
        let mut out = Vec::new();
        if editing && remove(&mut room.editing, card, user) {
            out.push(change(board, PresenceEvent::EditingStop, user, Some(card)));
        }
        if remove(&mut room.typing, card, user) {
            out.push(change(board, PresenceEvent::TypingStop, user, Some(card)));
        }
        out
    }
}

fn change(board: BoardId, event: PresenceEvent, user: &str, card: Option<CardId>) -> Change {
    Change { board, event, user: user.to_owned(), card }
}

fn remove(m: &mut Leases, card: CardId, user: &str) -> bool {
    let Some(who) = m.get_mut(&card) else { return false };
    let removed = who.remove(user).is_some();
    if who.is_empty() {
        m.remove(&card);
    }
    removed
}

fn names(m: &Leases, card: CardId) -> Vec<String> {
    m.get(&card).map(|w| w.keys().cloned().collect()).unwrap_or_default()
}

impl PresenceStore for MemoryPresence {
    fn join(&mut self, board: BoardId, conn: u64, user: &str, _now: Instant) -> Vec<Change> {
        let p = self.rooms.entry(board).or_default().users.entry(user.to_owned()).or_default();
        let first = p.tabs.is_empty() && p.gone_at.is_none();
        p.tabs.insert(conn);
        p.gone_at = None;
        if first { vec![change(board, PresenceEvent::Join, user, None)] } else { Vec::new() }
    }

    fn leave(&mut self, board: BoardId, conn: u64, user: &str, now: Instant) {
        if let Some(p) = self.rooms.get_mut(&board).and_then(|r| r.users.get_mut(user)) {
            p.tabs.remove(&conn);
            if p.tabs.is_empty() {
                p.gone_at = Some(now);
            }
        }
    }

    fn signal(&mut self, board: BoardId, conn: u64, user: &str, signal: Signal, now: Instant) -> Vec<Change> {
        if let Signal::Editing(card) | Signal::Typing(card) = signal {
            self.leases.entry(conn).or_default().insert((board, card));
        }
        let room = self.rooms.entry(board).or_default();
        match signal {
            Signal::Editing(card) => {
                let until = now + self.timing.editing_ttl;
                let fresh = room.editing.entry(card).or_default().insert(user.to_owned(), until).is_none();
                fresh.then(|| change(board, PresenceEvent::Editing, user, Some(card))).into_iter().collect()
            }
            Signal::Typing(card) => {
                let until = now + self.timing.typing_ttl;
                let fresh = room.typing.entry(card).or_default().insert(user.to_owned(), until).is_none();
                fresh.then(|| change(board, PresenceEvent::Typing, user, Some(card))).into_iter().collect()
            }
            // Closing the editor ends both; JSON subscribers must hear of each, or typing never stops for them.
            Signal::EditingStop(card) => self.stop(board, card, user, true),
            Signal::TypingStop(card) => self.stop(board, card, user, false),
        }
    }

    fn disconnect(&mut self, conn: u64, user: &str) -> Vec<Change> {
        let leases = self.leases.remove(&conn).unwrap_or_default();
        leases.into_iter().flat_map(|(board, card)| self.stop(board, card, user, true)).collect()
    }

    fn saved(&mut self, board: BoardId, card: CardId, user: &str) -> Vec<Change> {
        self.stop(board, card, user, false)
    }

    fn remove_user(&mut self, board: BoardId, user: &str) -> Vec<Change> {
        let Some(room) = self.rooms.get_mut(&board) else { return Vec::new() };
        let mut out = Vec::new();
        for (map, event) in
            [(&mut room.editing, PresenceEvent::EditingStop), (&mut room.typing, PresenceEvent::TypingStop)]
        {
            for (card, who) in map.iter_mut() {
                if who.remove(user).is_some() {
                    out.push(change(board, event, user, Some(*card)));
                }
            }
            map.retain(|_, who| !who.is_empty());
        }
        if room.users.remove(user).is_some() {
            out.push(change(board, PresenceEvent::Leave, user, None));
        }
        if room.is_empty() {
            self.rooms.remove(&board);
        }
        out
    }

    fn expire(&mut self, now: Instant) -> Vec<Change> {
        let grace = self.timing.grace;
        let mut out = Vec::new();
        for (&board, room) in &mut self.rooms {
            let mut left = HashSet::new();
            room.users.retain(|name, p| {
                let gone = p.tabs.is_empty() && p.gone_at.is_some_and(|t| now >= t + grace);
                if gone {
                    out.push(change(board, PresenceEvent::Leave, name, None));
                    left.insert(name.clone());
                }
                !gone
            });
            for (map, event) in
                [(&mut room.editing, PresenceEvent::EditingStop), (&mut room.typing, PresenceEvent::TypingStop)]
            {
                for (card, who) in map.iter_mut() {
                    who.retain(|name, until| {
                        let keep = *until > now && !left.contains(name);
                        if !keep {
                            out.push(change(board, event, name, Some(*card)));
                        }
                        keep
                    });
                }
                map.retain(|_, who| !who.is_empty());
            }
        }
        self.rooms.retain(|_, r| !r.is_empty());
        out
    }

    fn users(&self, board: BoardId) -> Vec<String> {
        self.rooms.get(&board).map(|r| r.users.keys().cloned().collect()).unwrap_or_default()
    }

    fn activity(&self, board: BoardId, card: CardId) -> (Vec<String>, Vec<String>) {
        let Some(room) = self.rooms.get(&board) else { return Default::default() };
        (names(&room.editing, card), names(&room.typing, card))
    }

    fn active_cards(&self, board: BoardId) -> Vec<CardId> {
        let Some(room) = self.rooms.get(&board) else { return Vec::new() };
        let cards: std::collections::BTreeSet<CardId> =
            room.editing.keys().chain(room.typing.keys()).copied().collect();
        cards.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PresenceEvent::*;

    const B: BoardId = BoardId(1);
    const CARD: CardId = CardId(5);
    const SEC: Duration = Duration::from_secs(1);

    fn store() -> (MemoryPresence, Instant) {
        let timing = Timing { grace: 3 * SEC, editing_ttl: 30 * SEC, typing_ttl: 5 * SEC };
        (MemoryPresence::new(timing), Instant::now())
    }

    fn events(changes: &[Change]) -> Vec<(PresenceEvent, &str)> {
        changes.iter().map(|c| (c.event, c.user.as_str())).collect()
    }

    #[test]
    fn a_second_tab_of_the_same_user_does_not_join_again() {
        let (mut p, t0) = store();
        assert_eq!(events(&p.join(B, 1, "alice", t0)), [(Join, "alice")]);
        assert!(p.join(B, 2, "alice", t0).is_empty());
        assert_eq!(p.users(B), ["alice"]);
    }

    #[test]
    fn a_user_leaves_only_after_the_grace_period_of_their_last_tab() {
        let (mut p, t0) = store();
        p.join(B, 1, "alice", t0);
        p.join(B, 2, "alice", t0);
        p.leave(B, 1, "alice", t0);
        assert!(p.expire(t0 + 10 * SEC).is_empty(), "another tab is still open");
        p.leave(B, 2, "alice", t0 + 10 * SEC);
        assert!(p.expire(t0 + 12 * SEC).is_empty(), "within the grace period");
        assert_eq!(events(&p.expire(t0 + 13 * SEC)), [(Leave, "alice")]);
        assert!(p.users(B).is_empty());
    }

    #[test]
    fn a_reload_within_the_grace_period_neither_leaves_nor_joins() {
        let (mut p, t0) = store();
        p.join(B, 1, "alice", t0);
        p.leave(B, 1, "alice", t0);
        assert!(p.join(B, 2, "alice", t0 + 2 * SEC).is_empty());
        assert!(p.expire(t0 + 60 * SEC).iter().all(|c| c.event != Leave));
    }

    #[test]
    fn editing_is_a_lease_that_ends_unless_renewed() {
        let (mut p, t0) = store();
        assert_eq!(events(&p.signal(B, 1, "alice", Signal::Editing(CARD), t0)), [(Editing, "alice")]);
        assert!(p.signal(B, 1, "alice", Signal::Editing(CARD), t0 + 20 * SEC).is_empty(), "a renewal is no news");
        assert!(p.expire(t0 + 40 * SEC).is_empty(), "renewed at 20 s, so good until 50 s");
        assert_eq!(events(&p.expire(t0 + 50 * SEC)), [(EditingStop, "alice")]);
    }

    #[test]
    fn typing_expires_after_its_ttl_and_ends_when_the_card_is_saved() {
        let (mut p, t0) = store();
        p.signal(B, 1, "bob", Signal::Typing(CARD), t0);
        assert_eq!(p.activity(B, CARD).1, ["bob"]);
        assert_eq!(events(&p.expire(t0 + 5 * SEC)), [(TypingStop, "bob")]);
        p.signal(B, 1, "bob", Signal::Typing(CARD), t0 + 6 * SEC);
        assert_eq!(events(&p.saved(B, CARD, "bob")), [(TypingStop, "bob")]);
        assert!(p.active_cards(B).is_empty());
    }

    #[test]
    fn closing_the_editor_ends_editing_and_typing_both() {
        let (mut p, t0) = store();
        p.signal(B, 1, "alice", Signal::Editing(CARD), t0);
        p.signal(B, 1, "alice", Signal::Typing(CARD), t0);
        assert_eq!(
            events(&p.signal(B, 1, "alice", Signal::EditingStop(CARD), t0)),
            [(EditingStop, "alice"), (TypingStop, "alice")]
        );
    }

    #[test]
    fn a_disconnect_ends_at_once_what_that_connection_started() {
        let (mut p, t0) = store();
        p.signal(B, 1, "alice", Signal::Editing(CARD), t0);
        p.signal(B, 2, "alice", Signal::Editing(CardId(6)), t0);
        let changes = p.disconnect(1, "alice");
        assert_eq!(changes, [change(B, EditingStop, "alice", Some(CARD))]);
        assert_eq!(p.active_cards(B), [CardId(6)], "the other connection's lease stays");
    }

    #[test]
    fn a_removed_member_leaves_at_once_with_their_editing_and_typing() {
        let (mut p, t0) = store();
        p.join(B, 1, "carol", t0);
        p.signal(B, 1, "carol", Signal::Editing(CARD), t0);
        p.signal(B, 1, "carol", Signal::Typing(CARD), t0);
        assert_eq!(
            events(&p.remove_user(B, "carol")),
            [(EditingStop, "carol"), (TypingStop, "carol"), (Leave, "carol")]
        );
        assert!(p.users(B).is_empty());
        assert!(p.expire(t0 + 60 * SEC).is_empty(), "nothing is left to expire");
    }

    #[test]
    fn a_user_who_leaves_stops_editing_in_the_same_pass() {
        let (mut p, t0) = store();
        p.join(B, 1, "alice", t0);
        p.signal(B, 1, "alice", Signal::Editing(CARD), t0);
        p.leave(B, 1, "alice", t0);
        let changes = p.expire(t0 + 3 * SEC);
        let mut got = events(&changes);
        got.sort_by_key(|(e, _)| *e as u8);
        assert_eq!(got, [(Leave, "alice"), (EditingStop, "alice")]);
    }
}
