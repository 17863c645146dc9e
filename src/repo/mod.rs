//! Repositories: the only writers. Each change and its event row commit together; events publish after.
//!
//! handler → **repository** → event bus. Handlers never run SQL; repositories never render.

pub mod activity;
pub mod boards;
pub mod cards;
pub mod checklist;
pub mod comments;
pub mod events;
pub mod notifications;
pub mod rows;
pub mod undo;
pub mod users;

use crate::{
    domain::{BoardId, Role, UserId},
    error::{Error, Result},
};

/// Checks that `user` belongs to `board`: 404 if the board does not exist *or* they are not a member,
/// so ids cannot be probed for what exists.
pub async fn require_member<'e>(db: impl sqlx::SqliteExecutor<'e>, board: BoardId, user: UserId) -> Result<Role> {
    let role: Option<Option<Role>> = sqlx::query_scalar(
        r#"select (select role from board_members m where m.board_id = b.id and m.user_id = ?)
           from boards b where b.id = ?"#,
    )
    .bind(user)
    .bind(board)
    .fetch_optional(db)
    .await?;
    match role {
        None | Some(None) => Err(Error::NotFound),
        Some(Some(role)) => Ok(role),
    }
}

/// Now, as stored in every `*_at` column.
pub(crate) fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Ranks: fractional indexes as strings that sort bytewise, so a move rewrites one row.
pub mod rank {
    use fractional_index::FractionalIndex;

    use crate::{
        domain::Place,
        error::{Error, Result},
    };

    fn parse(s: &str) -> Option<FractionalIndex> {
        FractionalIndex::from_string(s).ok()
    }

    /// Turns a one-step move into a move next to a neighbour; `None` when already at that end.
    pub fn step(all: &[(i64, String)], id: i64, place: Place) -> Option<Place> {
        let i = all.iter().position(|(s, _)| *s == id)?;
        match place {
            Place::Earlier => i.checked_sub(1).map(|j| Place::Before(all[j].0)),
            Place::Later => all.get(i + 1).map(|(n, _)| Place::After(*n)),
            p => Some(p),
        }
    }

    /// The rank that puts an item at `place` among `siblings` (id, rank) in order.
    pub fn rank_for(siblings: &[(i64, String)], place: Place) -> Result<String> {
        let pos = |id: i64| {
            siblings.iter().position(|(s, _)| *s == id).ok_or(Error::invalid("position", "that neighbour is not here"))
        };
        let (lo, hi) = match place {
            Place::First | Place::Earlier => (None, siblings.first()),
            Place::Last | Place::Later => (siblings.last(), None),
            Place::After(id) => {
                let i = pos(id)?;
                (siblings.get(i), siblings.get(i + 1))
            }
            Place::Before(id) => {
                let i = pos(id)?;
                (i.checked_sub(1).and_then(|j| siblings.get(j)), siblings.get(i))
            }
        };
        let (lo, hi) = (lo.map(|(_, r)| r.as_str()), hi.map(|(_, r)| r.as_str()));
        // Equal neighbours can only come from a hand-edited database; step past the lower one.
        Ok(if lo.is_some() && lo == hi { between(lo, None) } else { between(lo, hi) })
    }

    /// A rank strictly between `lo` and `hi` (either may be open).
    pub fn between(lo: Option<&str>, hi: Option<&str>) -> String {
        let lo = lo.and_then(parse);
        let hi = hi.and_then(parse);
        let r = match (&lo, &hi) {
            (None, None) => Some(FractionalIndex::default()),
            (Some(l), None) => Some(FractionalIndex::new_after(l)),
            (None, Some(h)) => Some(FractionalIndex::new_before(h)),
            (Some(l), Some(h)) => FractionalIndex::new_between(l, h),
        };
        // new_between is None only if lo >= hi, which callers avoid; after lo is the safe fallback.
        r.or_else(|| lo.as_ref().map(FractionalIndex::new_after)).unwrap_or_default().to_string()
    }

    #[cfg(test)]
    mod tests {
        use super::between;

        #[test]
        fn ranks_between_neighbours_sort_between_them() {
            let a = between(None, None);
            let c = between(Some(&a), None);
            let b = between(Some(&a), Some(&c));
            let z = between(None, Some(&a));
            assert!(z < a && a < b && b < c, "{z} {a} {b} {c}");
            let mut lo = a.clone();
            for _ in 0..200 {
                let mid = between(Some(&lo), Some(&b));
                assert!(lo < mid && mid < b);
                lo = mid;
            }
        }
    }
}
