#!/usr/bin/env bash
# End-to-end benchmark of Talk (issue 7): builds in release mode, makes sure
# PostgreSQL and NATS run, starts every service as its own process on free
# loopback ports with production-like settings, measures the physical
# references (pgbench, NATS), runs the scenarios with `talk-bench`, stops
# everything and writes docs/BENCHMARKS.md (the generated section).
#
#   bash scripts/bench.sh            # full run (~5 min after the build)
#   bash scripts/bench.sh --quick    # every scenario small: a minute or two
#   extra arguments go to talk-bench, e.g. --scenarios AE --inflight 8
#   BENCH_OUT=/tmp/x.md writes the report elsewhere.
#   BENCH_KEYS=0 posts without an Idempotency-Key (every post carries one by
#   default, as a client that retries safely sends it), to compare the two.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bash scripts/bench.sh${*:+ $*}"
QUICK=
EXTRA=()
for arg in "$@"; do
  case $arg in
    --quick) QUICK=--quick ;;
    *) EXTRA+=("$arg") ;;
  esac
done

# BENCH_PROFILE=debug uses unoptimised binaries (only to test the script itself).
PROFILE=${BENCH_PROFILE:-release}
echo "== build ($PROFILE)"
# BENCH_NO_BUILD_TALK=1 reuses the talk binary already built (still builds talk-bench).
TALK_PKG=(-p talk)
[ -n "${BENCH_NO_BUILD_TALK:-}" ] && TALK_PKG=()
if [ "$PROFILE" = release ]; then cargo build --release "${TALK_PKG[@]}" -p talk-bench
else cargo build "${TALK_PKG[@]}" -p talk-bench; fi
TALK=$ROOT/target/$PROFILE/talk
BENCH=$ROOT/target/$PROFILE/talk-bench

echo "== PostgreSQL and NATS"
bash scripts/test-deps.sh
command -v pgbench >/dev/null || {
  echo "pgbench missing: installing postgresql-contrib" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq postgresql-contrib >/dev/null
  else sudo apt-get install -y -qq postgresql-contrib >/dev/null; fi
}

# 10,000 WebSocket connections need as many descriptors in the gateway and in the bench.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" -lt 12000 ] && [ -z "$QUICK" ]; then
  echo "warning: open-file limit $(ulimit -n) is below what scenario D needs" >&2
fi

RUN_ID=$(date +%s)_$RANDOM
RUN_DIR=$(mktemp -d "/tmp/talk-bench.$RUN_ID.XXXX")
DB=bench_$RUN_ID
PGB_DB=pgbench_$RUN_ID
STREAM=TALKBENCH_$RUN_ID
PSQL=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qtA)
PIDS=()
NAMES=()

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  "$BENCH" --delete-stream "$STREAM" 2>/dev/null || true
  "${PSQL[@]}" -d postgres -c "drop database if exists $DB with (force)" 2>/dev/null || true
  "${PSQL[@]}" -d postgres -c "drop database if exists $PGB_DB with (force)" 2>/dev/null || true
  echo "logs of this run: $RUN_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port below the ephemeral range (outgoing connections take their local
# ports from that range and could take a port picked there before it is bound).
free_port() { python3 -c '
import random, socket
while True:
    port = random.randrange(20000, 32768)
    try:
        socket.socket().bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass'; }

echo "== machine"
{
  echo "cores (nproc): $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  free -h | sed -n '1,2p'
  echo "kernel: $(uname -sr)"
  echo "postgres: $("${PSQL[@]}" -d postgres -c 'show server_version'), synchronous_commit=$("${PSQL[@]}" -d postgres -c 'show synchronous_commit'), fsync=$("${PSQL[@]}" -d postgres -c 'show fsync'), max_connections=$("${PSQL[@]}" -d postgres -c 'show max_connections'), autovacuum=$("${PSQL[@]}" -d postgres -c 'show autovacuum')"
  echo "nats-server: $(nats-server --version 2>&1 | head -n1)"
  echo "open files limit: $(ulimit -n)"
} | tee "$RUN_DIR/machine.txt"

echo "== pgbench reference: single-row INSERT+COMMIT, 4 clients"
PGB_SECS=10
"${PSQL[@]}" -d postgres -c "create database $PGB_DB"
"${PSQL[@]}" -d "$PGB_DB" -c "create table bench_insert (id bigserial primary key, payload text not null, at timestamptz not null default now())"
echo "insert into bench_insert (payload) values (repeat('x', 100));" >"$RUN_DIR/insert.sql"
pgbench -h 127.0.0.1 -U postgres -n -c 4 -j 2 -T "$PGB_SECS" -f "$RUN_DIR/insert.sql" "$PGB_DB" >"$RUN_DIR/pgbench.txt" 2>&1
PGB_TPS=$(grep -m1 '^tps' "$RUN_DIR/pgbench.txt" | sed -E 's/^tps = ([0-9.]+).*/\1/')
echo "pgbench: $PGB_TPS tx/s"

echo "== services"
"${PSQL[@]}" -d postgres -c "create database $DB"
EDGE_PORT=$(free_port); PUSH_PORT=$(free_port); AGENT_PORT=$(free_port)
TALK_PORT=$(free_port); MESSAGE_PORT=$(free_port); WEBHOOK_PORT=$(free_port)
ADMIN_PASSWORD=bench-admin-$RANDOM$RANDOM
export TALK_BUS=nats TALK_NATS_URL=nats://127.0.0.1:4222 TALK_NATS_STREAM=$STREAM
export TALK_SUBJECT_PREFIX=talkbench$RUN_ID
export TALK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export TALK_JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export TALK_ADMIN_PASSWORD=$ADMIN_PASSWORD TALK_DATA_DIR=$RUN_DIR/data
# Rate limits on, but far above what the load generator sends: the buckets are
# spent on every request (their cost is measured) and never refuse.
export TALK_RATE_AGENT_WRITES_PER_SEC=${BENCH_RATE:-1000000} TALK_RATE_AGENT_READS_PER_SEC=${BENCH_RATE:-1000000}
export TALK_RATE_CUSTOMER_PER_SEC=${BENCH_RATE:-1000000}
export TALK_RATE_LOGIN_ADDRESS_PER_MIN=${BENCH_RATE:-1000000} TALK_RATE_LOGIN_USERNAME_PER_MIN=${BENCH_RATE:-1000000}
export TALK_EDGE_ADDR=127.0.0.1:$EDGE_PORT TALK_PUSH_ADDR=127.0.0.1:$PUSH_PORT
export TALK_AGENT_ADDR=127.0.0.1:$AGENT_PORT TALK_TALK_ADDR=127.0.0.1:$TALK_PORT
export TALK_MESSAGE_ADDR=127.0.0.1:$MESSAGE_PORT TALK_PUSH_GRPC_ADDR=127.0.0.1:$(free_port)
export TALK_AGENT_SERVICE_URL=http://127.0.0.1:$AGENT_PORT
export TALK_TALK_SERVICE_URL=http://127.0.0.1:$TALK_PORT
export TALK_MESSAGE_SERVICE_URL=http://127.0.0.1:$MESSAGE_PORT
# Scenario W's receiver is a plain-HTTP endpoint on loopback.
export TALK_WEBHOOK_ADDR=127.0.0.1:$WEBHOOK_PORT TALK_WEBHOOK_SERVICE_URL=http://127.0.0.1:$WEBHOOK_PORT
export TALK_WEBHOOK_ALLOW_PRIVATE=true
export TALK_LOG_FORMAT=json RUST_LOG=warn
"$TALK" migrate >"$RUN_DIR/migrate.log" 2>&1

# Each process has its /healthz, /readyz and /metrics on an ops port of its own.
declare -A OPS_PORTS
start() { # name
  OPS_PORTS[$1]=$(free_port)
  TALK_OPS_ADDR=127.0.0.1:${OPS_PORTS[$1]} "$TALK" serve "$1" >"$RUN_DIR/$1.log" 2>&1 &
  PIDS+=($!)
  NAMES+=("$1")
}
ready() { # name
  for _ in $(seq 1 300); do
    curl -fs -o /dev/null "http://127.0.0.1:${OPS_PORTS[$1]}/readyz" && return 0
    sleep 0.1
  done
  echo "$1 not ready on ops port ${OPS_PORTS[$1]}; its log:" >&2
  tail -n 20 "$RUN_DIR/$1.log" >&2
  return 1
}
start agent-service; start talk-service; start message-service; start push-gateway
start webhook-service; start edge
ready agent-service; ready talk-service; ready message-service; ready push-gateway
ready webhook-service; ready edge
echo "ready: edge :$EDGE_PORT, push-gateway :$PUSH_PORT"

PID_ARGS=()
for i in "${!PIDS[@]}"; do PID_ARGS+=(--pid "${NAMES[$i]}=${PIDS[$i]}"); done

echo "== scenarios"
status=0
"$BENCH" --edge "http://127.0.0.1:$EDGE_PORT" --push "127.0.0.1:$PUSH_PORT" \
  --admin-password "$ADMIN_PASSWORD" "${PID_ARGS[@]}" --clk-tck "$(getconf CLK_TCK)" \
  --pgbench-tps "$PGB_TPS" --machine "$RUN_DIR/machine.txt" --command "$COMMAND" \
  --out "${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}" $QUICK "${EXTRA[@]}" || status=$?

for i in "${!PIDS[@]}"; do
  kill -0 "${PIDS[$i]}" 2>/dev/null || { echo "${NAMES[$i]} died during the run" >&2; status=1; }
done
[ "$status" = 0 ] && echo "== ${BENCH_OUT:-docs/BENCHMARKS.md} written"
exit "$status"
