#!/usr/bin/env bash
# bench-pages.sh: how long the web pages take to make with a realistic amount of data.
#
#   1. a database of its own, oho_bench (made anew; BENCH_DB names another), owned by oho_owner
#   2. bin/starter migrate, then bin/worker and bin/starter demo on it: the demo's two cycles, its
#      people with the demo password
#   3. go run ./bench/pages: adds a million done tasks of other providers (-tasks N) and 10,000 open
#      ones (-open N: about a hundred in a running cycle of the demo's provider, a few dozen of them
#      north.nurse's, the rest in running cycles of a hundred others), prints, for each page and
#      person, the server time of 200 requests (p50, p95, max) and the HTML's size against the
#      budget (p95 at most 50 ms, at most 100 KB), then service.Inbox, 2,000 calls for each of three
#      people (p50, p99, max), against issue 11's goal (p99 at most 5 ms)
#
# Run it with 'make bench' (after 'make up'). Arguments go to bench/pages (e.g. -n 500, -tasks 100000).
# The database is left for a look afterwards; the next run makes it anew.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

DB=${BENCH_DB:-oho_bench}
PG=${PG_HOST_PORT:-127.0.0.1:5432}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
export DATABASE_URL="postgres://oho_app@$PG/$DB?sslmode=disable"
export MIGRATION_DATABASE_URL="postgres://oho_owner@$PG/$DB?sslmode=disable"
export ADMIN_DATABASE_URL="postgres://postgres@$PG/$DB?sslmode=disable"
export OHO_TASK_QUEUE=oho-bench
WORKER_LOG=.dev/bench-worker.log

log() { echo "bench: $*" >&2; }
[[ -x bin/worker && -x bin/starter ]] || { log "bin/worker or bin/starter is missing; run make build"; exit 1; }
mkdir -p .dev

log "making database $DB anew"
psql "postgres://postgres@$PG/postgres?sslmode=disable" -X -q -v ON_ERROR_STOP=1 \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER oho_owner"
bin/starter migrate >/dev/null

log "filling it with the demo (worker log $WORKER_LOG)"
bin/worker </dev/null >"$WORKER_LOG" 2>&1 &
worker_pid=$!
trap 'kill -TERM $worker_pid 2>/dev/null || true; wait $worker_pid 2>/dev/null || true' EXIT
sleep 1
bin/starter demo >/dev/null

log "measuring"
go run ./bench/pages "$@"
