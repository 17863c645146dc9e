#!/usr/bin/env bash
# Runs the browser suite, then prints the one closing line CI reads: `e2e: N passed, N failed`.
# Arguments go to `playwright test` (a spec file, --grep, --repeat-each …).
#
#   LIVEBOARD_BIN  the server binary to test (the Makefile passes target/debug/liveboard, the build the
#                  Rust tests used)
#   CHROMIUM_PATH  the browser (default /usr/bin/chromium; never `npx playwright install`)
set -uo pipefail
cd "$(dirname "$0")"

rm -f test-results/e2e-results.json
npx --no-install playwright test "$@"
status=$?
node summary.mjs || status=1
exit "$status"
