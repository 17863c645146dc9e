#!/usr/bin/env bash
# Renames the template in place (`make rename NAME=acme`): crates, binary, templates crate, page
# titles, cookie, database file, metric prefix, environment variables, docs, CI and e2e references.
# Tested on a throwaway copy by scripts/rename-test.sh (run by `make test`).
#
#   scripts/rename.sh NAME [TITLE]
#
# NAME is lowercase kebab-case (`acme`, `name-two`); TITLE is what people read (default: NAME's
# words capitalized, `Name Two`). The current name is read from Cargo.toml, so renaming twice works.
# Each spelling of the current name becomes the same spelling of the new one:
#   kebab   name-two   crate, binary and package names, paths (the database file), prose
#   snake   name_two   Rust paths (`name_two::`), the cookie and metric names, log targets
#   UPPER   NAME_TWO   environment variables (NAME_TWO_BIN, NAME_TWO_PASSWORD)
#   Title   Name Two   page titles, headings, log lines
# Only files git knows (tracked or new, not ignored) that are text are edited; nothing is committed.
# migrations/ is left alone: sqlx refuses to start on a database whose applied migrations changed
# by a byte (their checksums are stored), so an old name in a comment there stays.
set -euo pipefail
cd "$(dirname "$0")/.."

new="${1:-}"
if [[ ! "$new" =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]]; then
    echo "usage: scripts/rename.sh NAME [TITLE]   (NAME: lowercase letters, digits and single dashes, e.g. name-two)" >&2
    exit 2
fi
title_of() { local IFS=-; local out=() w; for w in $1; do out+=("${w^}"); done; local IFS=' '; echo "${out[*]}"; }
new_title="${2:-$(title_of "$new")}"

old=$(sed -n '/^\[package\]/,/^\[/ s/^name = "\(.*\)"/\1/p' Cargo.toml | head -1)
[[ -n "$old" ]] || { echo "rename: no [package] name in Cargo.toml" >&2; exit 1; }
[[ "$old" != "$new" ]] || { echo "rename: already called $new" >&2; exit 1; }
old_title=$(title_of "$old")

export OLD_KEBAB="$old" OLD_SNAKE="${old//-/_}" OLD_TITLE="$old_title"
export NEW_KEBAB="$new" NEW_SNAKE="${new//-/_}" NEW_TITLE="$new_title"
export OLD_UPPER="${OLD_SNAKE^^}" NEW_UPPER="${NEW_SNAKE^^}"

mapfile -d '' files < <(git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -f "$f" && "$f" != migrations/* ]] && printf '%s\0' "$f"; done |
    xargs -0 -r grep -lIZ -e "$OLD_KEBAB" -e "$OLD_SNAKE" -e "$OLD_UPPER" -e "$OLD_TITLE" -- || true)

# One pass over each line, so a replacement is never replaced again. At each place the first
# alternative that fits wins: the spellings that must become snake_case (Rust paths, cookie and metric
# names, log targets; in Rust files a quoted bare name, the metric prefix) come before the plain
# lowercase name, which becomes kebab-case.
perl -pi -e '
    BEGIN { %e = %ENV }
    my $rs = $ARGV =~ /\.rs$/;
    s{
        (?<upper>\Q$e{OLD_UPPER}\E)
      | (?<title>\Q$e{OLD_TITLE}\E)
      | CARGO_BIN_EXE_\Q$e{OLD_KEBAB}\E\b(?<bin>)
      | "(?:\Q$e{OLD_KEBAB}\E|\Q$e{OLD_SNAKE}\E)"(?<quoted>)
      | \Q$e{OLD_SNAKE}\E(?=[_:=])(?<snake>)
      | (?<kebab>\Q$e{OLD_KEBAB}\E)
    }{
        defined $+{upper} ? $e{NEW_UPPER}
      : defined $+{title} ? $e{NEW_TITLE}
      : defined $+{bin} ? "CARGO_BIN_EXE_$e{NEW_KEBAB}"
      : defined $+{quoted} ? ($rs ? "\"$e{NEW_SNAKE}\"" : "\"$e{NEW_KEBAB}\"")
      : defined $+{snake} ? $e{NEW_SNAKE}
      : $e{NEW_KEBAB}
    }gex;
' "${files[@]}"

echo "renamed $old ($old_title) to $new ($new_title) in ${#files[@]} files; review with git diff, then commit"
