#!/usr/bin/env bash
# devenv.sh: the local development environment of OHO (see DESIGN.md, "Components and how they
# start"): the pinned Temporal CLI, a Temporal dev server and a PostgreSQL database.
#
# Usage: scripts/devenv.sh tools|temporal|postgres|up|stop|status
#
#   tools     install the pinned Temporal CLI into .tools/bin when missing or another version
#   temporal  make sure a Temporal dev server answers on $TEMPORAL_ADDRESS (start one if not)
#   postgres  make sure PostgreSQL answers and the database of $DATABASE_URL exists
#   up        tools + postgres + temporal, then print the environment on stdout, so that
#             `eval "$(scripts/devenv.sh up)"` sets it in the calling shell
#   stop      stop the Temporal dev server started by this script (PostgreSQL is left alone)
#   status    one line per service
#
# Every subcommand is idempotent and returns quickly when everything is already up. Messages go
# to stderr and start with "devenv: "; only `up` writes to stdout (the export lines).
#
# Environment:
#   TEMPORAL_ADDRESS  host:port of the Temporal frontend (default 127.0.0.1:7233). A dev server is
#                     only ever started for a local address.
#   TEMPORAL_UI_PORT  port of the dev server's Web UI (default 8233 for port 7233: port + 1000)
#   DATABASE_URL      postgres://user@host:port/dbname?params
#                     (default postgres://postgres@127.0.0.1:5432/oho?sslmode=disable)
set -euo pipefail

# The pinned Temporal CLI. Later versions cannot be installed with `go install` (their go.mod has
# replace directives).
TEMPORAL_CLI_VERSION=v1.5.1
TEMPORAL_CLI_PACKAGE=github.com/temporalio/cli/cmd/temporal

# The search attributes the workflows use, NAME=TYPE.
SEARCH_ATTRIBUTES=(OhoProvider=Keyword OhoYear=Int OhoPhase=Keyword)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_BIN=$ROOT/.tools/bin
TEMPORAL=$TOOLS_BIN/temporal
# `temporal --version` prints 0.0.0-DEV, so the installed version is recorded here.
TEMPORAL_STAMP=$TOOLS_BIN/temporal.version
DEV_DIR=$ROOT/.dev
TEMPORAL_DB=$DEV_DIR/temporal.db
TEMPORAL_LOG=$DEV_DIR/temporal.log
TEMPORAL_PID=$DEV_DIR/temporal.pid

TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
TEMPORAL_HOST=${TEMPORAL_ADDRESS%:*}
TEMPORAL_PORT=${TEMPORAL_ADDRESS##*:}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-$((TEMPORAL_PORT + 1000))}

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/oho?sslmode=disable}

# Seconds to wait for a service to come up or go away.
START_TIMEOUT=60
STOP_TIMEOUT=30

log() { echo "devenv: $*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# is_local HOST: whether HOST is this machine (the only place we start services).
is_local() {
	case $1 in
	127.0.0.1 | localhost | '[::1]' | ::1 | '') return 0 ;;
	*) return 1 ;;
	esac
}

# port_open HOST PORT: whether something accepts TCP connections on HOST:PORT.
port_open() {
	# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
	timeout 1 bash -c ': >"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# lock: serializes the subcommands that start or stop the dev server (two `make` runs at once),
# until the script exits. The descriptor is not passed on to the dev server (see start_dev_server).
lock() {
	mkdir -p "$DEV_DIR"
	exec 9>"$DEV_DIR/devenv.lock"
	flock -w 300 9 || die "another devenv.sh has held $DEV_DIR/devenv.lock for 5 minutes"
}

# ---------------------------------------------------------------------------------------------
# tools

# temporal_installed: whether the pinned Temporal CLI is in .tools/bin.
temporal_installed() {
	[[ -x $TEMPORAL ]] || return 1
	[[ -f $TEMPORAL_STAMP && $(<"$TEMPORAL_STAMP") == "$TEMPORAL_CLI_VERSION" ]] && return 0
	# No or other stamp: the binary's build information has the truth (a binary installed by hand
	# or by an older version of this script). Record it when it is the pinned one.
	if go version -m "$TEMPORAL" 2>/dev/null |
		grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/temporalio/cli[[:space:]]+${TEMPORAL_CLI_VERSION}[[:space:]]"; then
		echo "$TEMPORAL_CLI_VERSION" >"$TEMPORAL_STAMP"
		return 0
	fi
	return 1
}

cmd_tools() {
	temporal_installed && return 0
	command -v go >/dev/null || die "go is not on PATH; it is needed to install the Temporal CLI"
	log "installing Temporal CLI $TEMPORAL_CLI_VERSION into .tools/bin (takes a few minutes on a cold cache)"
	mkdir -p "$TOOLS_BIN"
	rm -f "$TEMPORAL_STAMP"
	# Run outside the repository so that its go.mod and GOFLAGS such as -mod=vendor do not apply.
	(cd / && GOBIN=$TOOLS_BIN GOFLAGS='' go install "$TEMPORAL_CLI_PACKAGE@$TEMPORAL_CLI_VERSION") ||
		die "go install $TEMPORAL_CLI_PACKAGE@$TEMPORAL_CLI_VERSION failed"
	echo "$TEMPORAL_CLI_VERSION" >"$TEMPORAL_STAMP"
	log "installed Temporal CLI $TEMPORAL_CLI_VERSION"
}

# ---------------------------------------------------------------------------------------------
# temporal

# temporal_healthy: whether a Temporal frontend answers on $TEMPORAL_ADDRESS. The TCP probe first
# keeps the common "nothing there" case fast and independent of the CLI.
temporal_healthy() {
	port_open "$TEMPORAL_HOST" "$TEMPORAL_PORT" || return 1
	[[ -x $TEMPORAL ]] || return 0 # without the CLI an open port is the best we can tell
	"$TEMPORAL" operator cluster health --address "$TEMPORAL_ADDRESS" \
		--client-connect-timeout 2s >/dev/null 2>&1
}

# dev_server_pid: prints the pid of the dev server this script started, if it still runs.
dev_server_pid() {
	local pid
	[[ -f $TEMPORAL_PID ]] || return 1
	pid=$(<"$TEMPORAL_PID")
	# Check the process is still ours (pids get reused).
	if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'server start-dev'; then
		echo "$pid"
		return 0
	fi
	return 1
}

# dev_server_port PID: prints the --port the dev server PID was started with.
dev_server_port() {
	tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | grep -A1 -x -- --port | tail -n 1
}

# wait_temporal PID [LOG_OFFSET]: waits until the dev server answers; fails loudly, with the end
# of its log (from byte LOG_OFFSET on: this start's part), if it dies or times out.
wait_temporal() {
	local pid=$1 offset=${2:-0} deadline=$((SECONDS + START_TIMEOUT)) why=
	until temporal_healthy; do
		if ! kill -0 "$pid" 2>/dev/null; then
			why="exited"
		elif ((SECONDS >= deadline)); then
			why="does not answer on $TEMPORAL_ADDRESS after ${START_TIMEOUT}s"
		fi
		if [[ -n $why ]]; then
			log "the Temporal dev server (pid $pid) $why; last lines of $TEMPORAL_LOG:"
			tail -c +"$((offset + 1))" "$TEMPORAL_LOG" 2>/dev/null | tail -n 30 >&2 || true
			die "Temporal dev server failed to start"
		fi
		sleep 0.25
	done
}

# ensure_search_attributes: creates the search attributes on a server we did not just start.
# With CLI v1.5.1, creating an attribute that already exists with the same type succeeds (prints
# "Search attributes have been added", exit 0); with another type it fails with "search attribute
# X already exists and has different type T", which is a real problem and is reported as such.
# One attribute per call: given several --name flags but one --type, the CLI only adds the first.
ensure_search_attributes() {
	local sa out
	for sa in "${SEARCH_ATTRIBUTES[@]}"; do
		if ! out=$("$TEMPORAL" operator search-attribute create --address "$TEMPORAL_ADDRESS" \
			--name "${sa%=*}" --type "${sa#*=}" 2>&1); then
			die "cannot create search attribute $sa on $TEMPORAL_ADDRESS: $out"
		fi
	done
}

# start_dev_server: starts the dev server fully detached and waits for it.
start_dev_server() {
	local args=(server start-dev --db-filename "$TEMPORAL_DB" --ip "$TEMPORAL_HOST"
		--port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" --log-level warn)
	local sa pid offset
	for sa in "${SEARCH_ATTRIBUTES[@]}"; do
		args+=(--search-attribute "$sa")
	done
	mkdir -p "$DEV_DIR"
	offset=$(stat -c %s "$TEMPORAL_LOG" 2>/dev/null || echo 0)
	log "starting Temporal dev server on $TEMPORAL_ADDRESS (UI http://$TEMPORAL_HOST:$TEMPORAL_UI_PORT, log .dev/temporal.log)"
	{
		echo
		echo "=== $(date '+%F %T') devenv: $TEMPORAL ${args[*]}"
	} >>"$TEMPORAL_LOG"
	# Fully detached: own session, no terminal, stdin from /dev/null, output to the log and no
	# other inherited descriptors, so that it never holds the caller's stdout (CI reads the pipe
	# until EOF) or anything else open.
	(
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
		done
		exec setsid nohup "$TEMPORAL" "${args[@]}" </dev/null >>"$TEMPORAL_LOG" 2>&1
	) &
	pid=$!
	echo "$pid" >"$TEMPORAL_PID"
	wait_temporal "$pid" "$offset"
	log "Temporal dev server is up on $TEMPORAL_ADDRESS (pid $pid)"
}

cmd_temporal() {
	local pid
	if temporal_healthy; then
		cmd_tools
		ensure_search_attributes
		return 0
	fi
	is_local "$TEMPORAL_HOST" ||
		die "no Temporal server answers on $TEMPORAL_ADDRESS, and it is not local, so none is started"
	cmd_tools
	lock
	# Another devenv.sh may have started it while we waited for the lock.
	if temporal_healthy; then
		ensure_search_attributes
		return 0
	fi
	# Ours, but not answering yet (still starting, or stuck): wait for it rather than start a
	# second one on the same database file.
	if pid=$(dev_server_pid); then
		[[ $(dev_server_port "$pid") == "$TEMPORAL_PORT" ]] ||
			die "the dev server of this checkout (pid $pid) runs on port $(dev_server_port "$pid"), not $TEMPORAL_PORT; run scripts/devenv.sh stop first"
		log "Temporal dev server (pid $pid) is running but does not answer yet; waiting"
		wait_temporal "$pid"
		ensure_search_attributes
		return 0
	fi
	if port_open "$TEMPORAL_HOST" "$TEMPORAL_PORT"; then
		die "something listens on $TEMPORAL_ADDRESS but is not a healthy Temporal server"
	fi
	start_dev_server
}

# cmd_stop: stops the dev server this script started and waits for its port to close (the SQLite
# database stays locked briefly after exit, see DESIGN.md).
cmd_stop() {
	local pid port deadline
	lock
	if ! pid=$(dev_server_pid); then
		rm -f "$TEMPORAL_PID"
		if port_open "$TEMPORAL_HOST" "$TEMPORAL_PORT"; then
			log "Temporal on $TEMPORAL_ADDRESS was not started by devenv; leaving it running"
		else
			log "Temporal dev server is not running"
		fi
		return 0
	fi
	# Wait below for the port it was started with, whatever TEMPORAL_ADDRESS says now.
	port=$(dev_server_port "$pid")
	port=${port:-$TEMPORAL_PORT}
	log "stopping Temporal dev server (pid $pid, port $port)"
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + STOP_TIMEOUT))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "Temporal dev server (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + STOP_TIMEOUT))
		fi
		sleep 0.2
	done
	rm -f "$TEMPORAL_PID"
	deadline=$((SECONDS + STOP_TIMEOUT))
	while port_open 127.0.0.1 "$port"; do
		((SECONDS < deadline)) || die "port $port is still open ${STOP_TIMEOUT}s after the dev server exited"
		sleep 0.2
	done
	log "Temporal dev server stopped"
}

# ---------------------------------------------------------------------------------------------
# postgres

# parse_database_url: sets PG_USER, PG_HOST, PG_PORT, PG_DB and PG_ADMIN_URL (the same server,
# database "postgres") from DATABASE_URL (postgres://[user[:password]@]host[:port]/db[?params]).
parse_database_url() {
	local rest authority hostport query=
	[[ $DATABASE_URL =~ ^postgres(ql)?:// ]] ||
		die "DATABASE_URL must be a postgres:// URL, got: $DATABASE_URL"
	rest=${DATABASE_URL#*://}
	if [[ $rest == *\?* ]]; then
		query="?${rest#*\?}"
		rest=${rest%%\?*}
	fi
	authority=${rest%%/*}
	PG_DB=oho
	[[ $rest == */* && -n ${rest#*/} ]] && PG_DB=${rest#*/}
	PG_USER=postgres
	hostport=$authority
	if [[ $authority == *@* ]]; then
		PG_USER=${authority%@*}
		PG_USER=${PG_USER%%:*}
		hostport=${authority##*@}
	fi
	PG_HOST=${hostport%:*}
	PG_PORT=5432
	[[ $hostport == *:* ]] && PG_PORT=${hostport##*:}
	PG_HOST=${PG_HOST:-127.0.0.1}
	PG_ADMIN_URL=${DATABASE_URL%%://*}://$authority/postgres$query
}

pg_ready() {
	pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
}

# start_postgres: starts the local cluster that owns PG_PORT (the newest version if several).
start_postgres() {
	local version cluster conf found=
	command -v pg_ctlcluster >/dev/null || die "PostgreSQL is down and pg_ctlcluster is not installed"
	for version in $(cd /etc/postgresql 2>/dev/null && printf '%s\n' * | sort -rV); do
		for conf in /etc/postgresql/"$version"/*/postgresql.conf; do
			[[ -f $conf ]] || continue
			cluster=$(basename "$(dirname "$conf")")
			# Prefer the cluster configured for our port; fall back to "main".
			if grep -Eq "^[[:space:]]*port[[:space:]]*=[[:space:]]*$PG_PORT\b" "$conf"; then
				found="$version $cluster"
				break 2
			fi
			[[ -z $found && $cluster == main ]] && found="$version $cluster"
		done
	done
	[[ -n $found ]] || die "PostgreSQL is down and no cluster was found under /etc/postgresql"
	log "starting PostgreSQL cluster $found"
	# shellcheck disable=SC2086 # $found is "version cluster"
	pg_ctlcluster --skip-systemctl-redirect $found start ||
		die "pg_ctlcluster --skip-systemctl-redirect $found start failed"
}

cmd_postgres() {
	local deadline
	parse_database_url
	if ! pg_ready; then
		is_local "$PG_HOST" ||
			die "PostgreSQL does not answer on $PG_HOST:$PG_PORT, and it is not local, so it is not started"
		start_postgres
		deadline=$((SECONDS + START_TIMEOUT))
		until pg_ready; do
			((SECONDS < deadline)) || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT after ${START_TIMEOUT}s"
			sleep 0.25
		done
		log "PostgreSQL is up on $PG_HOST:$PG_PORT"
	fi
	# Create the database when missing; \gexec runs the CREATE only when the SELECT returns a row.
	local sql="SELECT format('CREATE DATABASE %I', :'db')
		WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \\gexec"
	if ! psql "$PG_ADMIN_URL" -X -q -v ON_ERROR_STOP=1 -v db="$PG_DB" <<<"$sql" >/dev/null; then
		die "cannot create database $PG_DB on $PG_HOST:$PG_PORT as $PG_USER"
	fi
}

# ---------------------------------------------------------------------------------------------
# up, status

cmd_up() {
	cmd_tools
	cmd_postgres
	cmd_temporal
	log "ready: Temporal on $TEMPORAL_ADDRESS, PostgreSQL database $PG_DB on $PG_HOST:$PG_PORT"
	echo "export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS@Q}"
	echo "export DATABASE_URL=${DATABASE_URL@Q}"
}

# cmd_status: one line per service; exit status 0 when all are up, 1 otherwise.
cmd_status() {
	local ok=0 pid how
	if temporal_installed; then
		log "tools: Temporal CLI $TEMPORAL_CLI_VERSION installed in .tools/bin"
	else
		log "tools: Temporal CLI $TEMPORAL_CLI_VERSION not installed"
		ok=1
	fi
	if pid=$(dev_server_pid); then how="dev server pid $pid, started by devenv"; else how="not started by devenv"; fi
	if temporal_healthy; then
		log "temporal: up on $TEMPORAL_ADDRESS ($how)"
	elif pid=$(dev_server_pid); then
		log "temporal: not answering on $TEMPORAL_ADDRESS (dev server pid $pid is running; see .dev/temporal.log)"
		ok=1
	else
		log "temporal: down on $TEMPORAL_ADDRESS"
		ok=1
	fi
	parse_database_url
	if ! pg_ready; then
		log "postgres: down on $PG_HOST:$PG_PORT"
		ok=1
	elif [[ $(psql "$PG_ADMIN_URL" -X -A -t -v db="$PG_DB" <<<"SELECT 1 FROM pg_database WHERE datname = :'db'" 2>/dev/null) == 1 ]]; then
		log "postgres: up on $PG_HOST:$PG_PORT, database $PG_DB exists"
	else
		log "postgres: up on $PG_HOST:$PG_PORT, database $PG_DB missing"
		ok=1
	fi
	return "$ok"
}

usage() {
	sed -n '4,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

main() {
	[[ $# -eq 1 ]] || usage
	case $1 in
	tools) cmd_tools ;;
	temporal) cmd_temporal ;;
	postgres) cmd_postgres ;;
	up) cmd_up ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
