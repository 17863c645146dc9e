# Liveboard: the two commands are `make dev` and `make test`. Everything else is a helper.
SHELL := /bin/bash
CARGO ?= cargo
CHROMIUM_PATH ?= $(shell command -v chromium 2>/dev/null || echo /usr/bin/chromium)
# Where cargo puts builds: target/ unless CARGO_TARGET_DIR says otherwise.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)

.PHONY: dev test test-deps test-rust test-rename rename test-build e2e e2e-deps release fmt lint bench

## Run the app on http://127.0.0.1:3000 with an embedded SQLite file and demo data.
dev:
	SEED_DEMO=true $(CARGO) run --bin liveboard

## Run every test: Rust (unit + integration), the rename script, then the browser suite against the
## same debug build.
test: test-rust test-rename e2e

test-rust: test-deps
	$(CARGO) test --workspace --all-targets

## The cluster tests start their own redis-server (Debian's, installed when missing); no system
## service is started or needed.
test-deps:
	@command -v redis-server >/dev/null || { echo "installing redis-server (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; }

## scripts/rename.sh on a throwaway copy: no trace of the old name, and the copy type-checks.
test-rename:
	./scripts/rename-test.sh

## Rename the template: `make rename NAME=acme` (optionally TITLE="Acme Boards"), see scripts/rename.sh.
rename:
	@[[ -n "$(NAME)" ]] || { echo 'usage: make rename NAME=acme [TITLE="Acme"]'; exit 2; }
	./scripts/rename.sh "$(NAME)" "$(TITLE)"

## Builds what test-rust builds, and no more. The server binary comes out of the same compile as the
## tests (same profile, same features: a plain `cargo build` would unify features differently and
## recompile dozens of crates), so after test-rust this is a no-op.
test-build:
	$(CARGO) test --workspace --all-targets --no-run

## Browser end-to-end tests (installs Debian's chromium and the npm packages when missing).
e2e: e2e-deps test-deps test-build
	cd e2e && CHROMIUM_PATH=$(CHROMIUM_PATH) LIVEBOARD_BIN=$(TARGET_DIR)/debug/liveboard ./run.sh

e2e-deps:
	@command -v chromium >/dev/null || { echo "installing chromium (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }
	cd e2e && npm ci --no-audit --no-fund

## The production binary, target/release/liveboard (see docs/DEPLOY.md).
release:
	$(CARGO) build --release --bin liveboard

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Benchmarks: builds the release server, runs the load generator against it and the Node peer
## (docs/BENCHMARKS.md), then the scale-out run with Redis, a writer and two edges
## (docs/BENCHMARKS-scaleout.md; skipped with BENCH_SCALEOUT=0 or BENCH_QUICK=1).
bench:
	./bench/run.sh
	@if [[ "$${BENCH_SCALEOUT:-1}" != 0 && "$${BENCH_QUICK:-}" != 1 ]]; then \
	  $(MAKE) --no-print-directory test-deps && SCALEOUT_OUT=$(CURDIR)/docs/BENCHMARKS-scaleout.md ./bench/scaleout.sh; fi
