#!/usr/bin/env bash
# demo.sh: runs the OHO demo end to end against the development environment. `make demo` runs it
# after `scripts/devenv.sh up` and `make build`.
#
#   1. bin/starter migrate      bring the database schema up to date, as the owning role
#                               (MIGRATION_DATABASE_URL)
#   2. bin/worker               in the background, log in .dev/worker.log, as the application role
#                               (DATABASE_URL), like the demo
#   3. bin/starter demo         the demo itself, output on stdout
#   4. bin/starter serve       the web pages on http://127.0.0.1:8080 (DEMO_ADDR), on the demo's data,
#                               until Ctrl-C; DEMO_SERVE=0 skips them
#   5. stop the server and the worker (SIGTERM), also when the demo fails or is interrupted
#
# Exits with the demo's status (1 if the worker dies first). Uses TEMPORAL_ADDRESS, DATABASE_URL
# and MIGRATION_DATABASE_URL like every OHO binary, with the defaults of scripts/devenv.sh.
#
# Temporal payloads are encrypted (README, "Configuration"): with the keys of OHO_PAYLOAD_KEYS_FILE
# or OHO_PAYLOAD_KEYS when set, otherwise with the development key .dev/payload-keys, which
# `scripts/devenv.sh payload-keys` makes once. DEMO_ENCRYPT=0 runs the demo without encryption.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
export MIGRATION_DATABASE_URL=${MIGRATION_DATABASE_URL:-${DATABASE_URL:-postgres://oho_owner@127.0.0.1:5432/oho?sslmode=disable}}
export DATABASE_URL=${DATABASE_URL:-postgres://oho_app@127.0.0.1:5432/oho?sslmode=disable}

WORKER_LOG=.dev/worker.log
SERVE_LOG=.dev/serve.log
# Where the web pages are served after the demo.
DEMO_ADDR=${DEMO_ADDR:-127.0.0.1:8080}
# Seconds to wait for the worker to log that it started (it is used anyway if still alive).
WORKER_START_WAIT=3
# Seconds the worker gets to stop after SIGTERM before SIGKILL.
WORKER_STOP_WAIT=30

log() { echo "demo: $*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# alive PID: whether PID runs (a zombie, i.e. an exited child not yet waited for, does not).
alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

worker_log_tail() {
	log "last lines of $WORKER_LOG:"
	tail -n 30 "$WORKER_LOG" >&2 || true
}

[[ -x bin/worker && -x bin/starter ]] || die "bin/worker or bin/starter is missing; run make build"
mkdir -p .dev

if [[ ${DEMO_ENCRYPT:-1} == 0 ]]; then
	log "payloads are not encrypted (DEMO_ENCRYPT=0)"
	export OHO_PAYLOAD_KEYS_FILE='' OHO_PAYLOAD_KEYS=''
elif [[ -z ${OHO_PAYLOAD_KEYS_FILE:-} && -z ${OHO_PAYLOAD_KEYS:-} ]]; then
	eval "$(scripts/devenv.sh payload-keys)"
	log "payloads are encrypted with the key in ${OHO_PAYLOAD_KEYS_FILE#"$ROOT"/}"
fi
# The Web UI the pages link to, on the same site as the pages (127.0.0.1), so that the browser
# sends the session cookie to the codec server the UI calls at http://$DEMO_ADDR/codec.
export TEMPORAL_UI_URL=${TEMPORAL_UI_URL:-http://127.0.0.1:8233}

log "migrating the database"
bin/starter migrate

log "starting the worker (log $WORKER_LOG)"
demo_pid=
bin/worker </dev/null >"$WORKER_LOG" 2>&1 &
worker_pid=$!

# Stops the demo, if still running, and the worker on every exit path (background processes of a
# script ignore Ctrl-C), keeping the exit status of the script.
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	local deadline
	if [[ -n $demo_pid ]] && alive "$demo_pid"; then
		kill -TERM "$demo_pid" 2>/dev/null || true
	fi
	alive "$worker_pid" || return 0
	log "stopping the worker (pid $worker_pid)"
	kill -TERM "$worker_pid" 2>/dev/null || true
	deadline=$((SECONDS + WORKER_STOP_WAIT))
	while alive "$worker_pid"; do
		if ((SECONDS >= deadline)); then
			log "the worker ignored SIGTERM for ${WORKER_STOP_WAIT}s; killing it"
			kill -KILL "$worker_pid" 2>/dev/null || true
			deadline=$((SECONDS + WORKER_STOP_WAIT))
		fi
		sleep 0.2
	done
	wait "$worker_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wait for the worker to say it started (the Temporal SDK logs "Started Worker"); at least make
# sure it did not die right away.
deadline=$((SECONDS + WORKER_START_WAIT))
until grep -qi 'started' "$WORKER_LOG" 2>/dev/null; do
	if ! alive "$worker_pid"; then
		worker_log_tail
		die "the worker exited at start"
	fi
	((SECONDS < deadline)) || break
	sleep 0.2
done
alive "$worker_pid" || {
	worker_log_tail
	die "the worker exited at start"
}

log "running the demo"
bin/starter demo &
demo_pid=$!
# Watch the worker while the demo runs: without it the demo would only wait.
while alive "$demo_pid"; do
	if ! alive "$worker_pid"; then
		worker_log_tail
		die "the worker died during the demo"
	fi
	sleep 0.2
done
status=0
wait "$demo_pid" || status=$?
demo_pid=
if ((status != 0)); then
	log "demo failed (exit status $status)"
	exit "$status"
fi
log "demo succeeded"

# Then the web pages, on the demo's data, until Ctrl-C (DEMO_SERVE=0 skips them).
if [[ ${DEMO_SERVE:-1} == 0 ]]; then
	exit 0
fi
log "serving the web pages on http://$DEMO_ADDR (log $SERVE_LOG); log in as a person listed above; Ctrl-C stops"
if [[ -n ${OHO_PAYLOAD_KEYS_FILE:-}${OHO_PAYLOAD_KEYS:-} ]]; then
	log "to read the histories in the Web UI ($TEMPORAL_UI_URL), set its codec server to http://$DEMO_ADDR/codec with 'Include cross-origin credentials', and log in here as the auditor or the manager in the same browser"
fi
OHO_BASE_URL=${OHO_BASE_URL:-http://$DEMO_ADDR} bin/starter serve --addr "$DEMO_ADDR" </dev/null >"$SERVE_LOG" 2>&1 &
demo_pid=$!
while alive "$demo_pid"; do
	if ! alive "$worker_pid"; then
		worker_log_tail
		die "the worker died while the pages were served"
	fi
	sleep 0.5
done
wait "$demo_pid" || status=$?
log "the web server stopped (exit status $status); last lines of $SERVE_LOG:"
tail -n 20 "$SERVE_LOG" >&2 || true
exit 1
