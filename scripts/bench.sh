#!/usr/bin/env bash
# bench.sh: every benchmark of 'make bench', apart from everything else that runs on this machine,
# printed as one table and written as JSON under out/bench/ (README, "Performance").
#
#   1. a Temporal dev server of its own from the pinned CLI (.tools/bin/temporal; installed by
#      'scripts/devenv.sh tools' when missing): headless on $BENCH_TEMPORAL_ADDRESS (default
#      127.0.0.1:7833, never the shared 127.0.0.1:7233), its history in .dev/bench/temporal.db (made
#      anew), with OHO's search attributes; stopped when the script ends, however it ends. On
#      another port the files go to .dev/bench-PORT and out/bench-PORT instead of .dev/bench and
#      out/bench, so that runs on two ports at once do not overwrite each other's
#   2. the pages' benchmark (scripts/bench-pages.sh, its database oho_bench) on that server; its
#      table is kept in out/bench/pages.txt and taken into the one table (BENCH_PAGES=0 skips it)
#   3. a database of its own, oho_bench_cycle (made anew; BENCH_CYCLE_DB names another), migrated,
#      with OHO's worker polling task queue oho-bench-cycle (log .dev/bench/worker.log)
#   4. bench/cycle, built into .dev/bench/cycle, runs the bare baseline's worker in a process of
#      its own (-serve-bare), as OHO's worker is one ($BENCH_WORKER, default bin/worker: another
#      build of the worker, an older commit's say, measures that one instead), then measures the
#      complete-task round trip against two bare Temporal baselines on the same server, whole
#      cycles (-cycles, 10 of 10 units) against the same baselines doing the same Updates,
#      everyone signing at once, the history of a large cycle and its replay, the audit trail's
#      append and verify rates, and one worker's scale: bench/cycle starts a second process of
#      $BENCH_WORKER on task queue oho-bench-scale (log .dev/bench/scale-worker.log), holds
#      -scale-cycles open cycles of 10 units in it (default 1,000) and reads its memory, stops it
#      with SIGTERM, starts a fresh one and times how long until every workflow is picked up again;
#      bench/cycle stops the processes it starts however it ends (SIGTERM to them should it be
#      killed). It prints the table and writes out/bench/cycle.json
#
# Arguments go to bench/cycle (e.g. -run roundtrip -clients 1,4). Figures are never judged on their
# own: goals are ratios to the baselines measured in the same run on the same server. Nothing
# here drops a database other than its own two, or touches the shared Temporal server.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { echo "bench: $*" >&2; }
die() {
	log "$*"
	exit 1
}

ADDR=${BENCH_TEMPORAL_ADDRESS:-127.0.0.1:7833}
HOST=${ADDR%:*}
PORT=${ADDR##*:}
[[ $PORT != 7233 ]] || die "BENCH_TEMPORAL_ADDRESS=$ADDR is the shared dev server's port; the benchmarks run on a server of their own"
DIR=.dev/bench
OUT=out/bench
if [[ $PORT != 7833 ]]; then
	DIR+=-$PORT
	OUT+=-$PORT
fi
DB=${BENCH_CYCLE_DB:-oho_bench_cycle}
PG=${PG_HOST_PORT:-127.0.0.1:5432}
TEMPORAL=.tools/bin/temporal
SEARCH_ATTRIBUTES=(OhoProvider=Keyword OhoYear=Int OhoPhase=Keyword)

[[ -x bin/worker && -x bin/starter ]] || die "bin/worker or bin/starter is missing; run make build"
mkdir -p "$DIR" "$OUT"
scripts/devenv.sh tools
# PostgreSQL up, with the roles (and this benchmark's database, made anew below).
export DATABASE_URL="postgres://oho_app@$PG/$DB?sslmode=disable"
export MIGRATION_DATABASE_URL="postgres://oho_owner@$PG/$DB?sslmode=disable"
export ADMIN_DATABASE_URL="postgres://postgres@$PG/$DB?sslmode=disable"
export OHO_TASK_QUEUE=oho-bench-cycle
scripts/devenv.sh postgres

# Everything below talks to the benchmark's own server only.
export TEMPORAL_ADDRESS=$ADDR
unset TEMPORAL_NAMESPACE

if "$TEMPORAL" operator cluster health --address "$ADDR" >/dev/null 2>&1; then
	die "something already answers on $ADDR (a benchmark's server left running?); stop it or set BENCH_TEMPORAL_ADDRESS"
fi

server_pid=
worker_pid=
bare_pid=
cleanup() {
	local pid
	for pid in $worker_pid $bare_pid; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $server_pid ]]; then
		log "stopping the benchmark's Temporal server (pid $server_pid)"
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT

rm -f "$DIR"/temporal.db "$DIR"/temporal.db-*
args=(server start-dev --ip "$HOST" --port "$PORT" --headless --db-filename "$DIR/temporal.db" --log-level warn)
for sa in "${SEARCH_ATTRIBUTES[@]}"; do
	args+=(--search-attribute "$sa")
done
log "starting a Temporal dev server of the benchmark's own on $ADDR (log $DIR/temporal.log)"
"$TEMPORAL" "${args[@]}" </dev/null >"$DIR/temporal.log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + 60))
until "$TEMPORAL" operator cluster health --address "$ADDR" >/dev/null 2>&1; do
	kill -0 "$server_pid" 2>/dev/null || die "the Temporal server stopped at once: $(tail -5 "$DIR/temporal.log")"
	((SECONDS < deadline)) || die "the Temporal server does not answer on $ADDR after 60 s"
	sleep 0.5
done
# The namespace's mapping of the search attributes comes a moment after the server answers (see
# devenv.sh, wait_search_attributes): wait until a query naming them all goes through.
until "$TEMPORAL" workflow count --address "$ADDR" --query "OhoProvider = 'x' AND OhoYear = 0 AND OhoPhase = 'x'" >/dev/null 2>&1; do
	((SECONDS < deadline)) || die "OHO's search attributes are not usable on $ADDR after 60 s"
	sleep 0.5
done
sleep 2

if [[ ${BENCH_PAGES:-1} != 0 ]]; then
	log "the pages' benchmark (scripts/bench-pages.sh) on $ADDR"
	scripts/bench-pages.sh >"$OUT/pages.txt"
	log "its table is in $OUT/pages.txt; its rows come in the one table below"
	pages=(-pages "$OUT/pages.txt")
else
	pages=()
fi

log "making database $DB anew"
psql "postgres://postgres@$PG/postgres?sslmode=disable" -X -q -v ON_ERROR_STOP=1 \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB OWNER oho_owner"
bin/starter migrate >/dev/null

# OHO's worker and the bare baseline's each run in a process of their own.
BENCH_WORKER=${BENCH_WORKER:-bin/worker}
log "starting $BENCH_WORKER on task queue $OHO_TASK_QUEUE (log $DIR/worker.log)"
"$BENCH_WORKER" </dev/null >"$DIR/worker.log" 2>&1 &
worker_pid=$!
go build -o "$DIR/cycle" ./bench/cycle
log "starting the bare baseline's worker (log $DIR/bare-worker.log)"
"$DIR/cycle" -serve-bare </dev/null >"$DIR/bare-worker.log" 2>&1 &
bare_pid=$!

BENCH_TEMPORAL_CLI=$(cat .tools/bin/temporal.version 2>/dev/null || echo unknown)
BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || BENCH_COMMIT+=-dirty
export BENCH_TEMPORAL_CLI BENCH_COMMIT BENCH_WORKER
"$DIR/cycle" -out "$OUT/cycle.json" -scale-log "$DIR/scale-worker.log" "${pages[@]}" "$@"
