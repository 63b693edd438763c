# Talk — the two commands a newcomer needs are `make run` and `make test`.
CARGO ?= cargo
export CARGO_BUILD_JOBS ?= 2

.PHONY: run test lint fmt check-fmt clippy unused-deps build migrate chart-check bench bench-search

## Start Talk: every service in one process, SQLite and the in-process bus, on :8080.
run:
	$(CARGO) run -p talk -- serve all

## Run every test (installs and starts PostgreSQL and NATS when they are missing).
test:
	bash scripts/test-deps.sh
	bash scripts/chart-check.sh
	$(CARGO) build -p talk   # tests that restart services run the real binary
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast \
		&& $(CARGO) nextest run -p talk-e2e --features s3 --no-fail-fast files::s3; \
	else \
		$(CARGO) test --workspace --no-fail-fast \
		&& $(CARGO) test -p talk-e2e --features s3 --no-fail-fast files::s3; \
	fi

## Formatting and lints, as CI checks them.
lint: check-fmt clippy unused-deps

check-fmt:
	$(CARGO) fmt --all -- --check

## No unused dependencies: cargo-machete reads the sources (installed when missing).
unused-deps:
	@command -v cargo-machete >/dev/null || $(CARGO) install --locked cargo-machete
	cargo machete --skip-target-dir crates tests

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --workspace

## Apply database migrations of every service (uses TALK_* configuration).
migrate:
	$(CARGO) run -p talk -- migrate

## Render the Helm chart and validate every manifest against the Kubernetes schemas (offline).
chart-check:
	bash scripts/chart-check.sh

## Benchmark: release build, PostgreSQL + NATS + every service as its own process; writes docs/BENCHMARKS.md.
bench:
	bash scripts/bench.sh

## Search benchmark (issue 21): 1,000,000 messages in PostgreSQL; figures in docs/BENCHMARKS.md.
bench-search:
	$(CARGO) build -p talk
	bash scripts/bench-search.sh
