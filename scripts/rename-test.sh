#!/usr/bin/env bash
# Tests scripts/rename.sh (run by `make test`): renames a throwaway copy of this working tree, then
# the renamed workspace must type-check, every target, offline, and no spelling of the old name may
# be left in any file.
#
# Kept cheap: `cargo check` shares this tree's target/ (CARGO_TARGET_DIR), so dependencies are
# checked once and reused by later runs and by `make lint`; only the two renamed crates are new.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
new=acme-tasks

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rename-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The working tree as it is (uncommitted changes and new files included), without ignored files.
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -f "$f" ]] && printf '%s\0' "$f"; done |
    xargs -0 cp --parents -t "$tmp"
cd "$tmp"
git init -q && git add -A
old=$(sed -n '/^\[package\]/,/^\[/ s/^name = "\(.*\)"/\1/p' Cargo.toml | head -1)
# A new name that does not contain the old one, or the check below would find the new name.
[[ "$new" != *"$old"* ]] || new=widget-works

scripts/rename.sh "$new" >/dev/null

# migrations/ keeps the old name on purpose (see rename.sh).
if git grep -n -I -i -e "$old" -e "${old//-/_}" -- . ':!migrations'; then
    echo "rename-test: FAILED, the old name $old is left in the lines above" >&2
    exit 1
fi
grep -q "^name = \"$new\"$" Cargo.toml || { echo "rename-test: FAILED, Cargo.toml is not $new" >&2; exit 1; }
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" cargo check --offline --workspace --all-targets --quiet
echo "rename-test: $old renamed to $new, no trace left, cargo check passes"
