//! Mentions: the `@username`s a comment or a card description names. Pure text in, names out; the
//! notifications repository decides which of them are board members.
//!
//! repository (comment or card write) → **mentions** → notifications repository (same transaction).

use std::collections::BTreeSet;

/// Characters a username may hold (see [`crate::domain::Username`]).
fn in_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The usernames `text` mentions, ASCII-lowercased (usernames compare `nocase`), each once, sorted.
///
/// A mention is `@` followed by a username, where the `@` does not follow a name character (so
/// `alice@example.com` is not one) and trailing dots are punctuation (`thanks @bob.` names bob).
pub fn mentions(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == '@' && !prev.is_some_and(|p| in_name(p) || p == '@') {
            let rest = &text[i + 1..];
            let end = rest.find(|c: char| !in_name(c)).unwrap_or(rest.len());
            let name = rest[..end].trim_end_matches('.');
            if (3..=32).contains(&name.len()) {
                out.insert(name.to_ascii_lowercase());
            }
        }
        prev = Some(c);
    }
    out
}

/// The names `after` mentions that `before` did not: an edit notifies only those.
pub fn new_mentions(before: &str, after: &str) -> BTreeSet<String> {
    let old = mentions(before);
    mentions(after).into_iter().filter(|n| !old.contains(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        mentions(text).into_iter().collect()
    }

    #[test]
    fn a_name_after_an_at_sign_is_a_mention_and_punctuation_after_it_is_not_part_of_it() {
        assert_eq!(names("@bob can you look?"), ["bob"]);
        assert_eq!(names("thanks @bob."), ["bob"]);
        assert_eq!(names("(@carol), @dave!"), ["carol", "dave"]);
        assert_eq!(names("ping @bob.smith: now"), ["bob.smith"]);
        assert_eq!(names("@a_b-c"), ["a_b-c"]);
    }

    #[test]
    fn an_email_address_is_not_a_mention() {
        assert!(names("write to alice@example.com").is_empty());
        assert!(names("a@b.c").is_empty());
        assert!(names("@@bob").is_empty());
    }

    #[test]
    fn mentions_collapse_case_insensitively() {
        assert_eq!(names("@Bob and @bob and @BOB"), ["bob"]);
    }

    #[test]
    fn a_name_too_short_or_too_long_is_plain_text() {
        assert!(names("@ab @ and @").is_empty());
        assert!(names(&format!("@{}", "x".repeat(33))).is_empty());
        assert_eq!(names("mail@ x @été @bob"), ["bob"]);
    }

    #[test]
    fn an_edit_notifies_only_names_it_adds() {
        let added: Vec<String> = new_mentions("hi @bob", "hi @Bob and @carol").into_iter().collect();
        assert_eq!(added, ["carol"]);
        assert!(new_mentions("@bob", "@bob again").is_empty());
    }
}
