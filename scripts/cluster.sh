#!/usr/bin/env bash
# cluster.sh: a real Temporal server with PostgreSQL persistence and visibility, beside the dev
# server of scripts/devenv.sh: `make test-cluster` runs OHO's cycle against it across a restart of
# the server, and TEMPORAL_ADDRESS=127.0.0.1:7633 points the programs at it (README, "On a real
# Temporal cluster").
#
# Usage: scripts/cluster.sh build|up|stop|restart|status
#
#   build    build the Temporal server and its SQL tool (go.temporal.io/server v1.29.1, the version
#            the pinned CLI's dev server embeds) into .tools/temporal-server-v1.29.1/bin when
#            missing (about four minutes on a cold Go cache)
#   up       build; create the role and the two databases in PostgreSQL and apply the server's
#            schemas to them; start the server if it is not running (config
#            scripts/cluster/temporal.yaml, log .dev/cluster/temporal-server.log); register the
#            namespace and OHO's search attributes and wait until they can be used; then print
#            `export TEMPORAL_ADDRESS=...` on stdout, so that `eval "$(scripts/cluster.sh up)"`
#            points the calling shell's programs at it
#   stop     stop the server this script started (SIGTERM; SIGKILL after 30 s) and wait until its
#            ports are closed; the databases stay, so `up` resumes every workflow where it was
#   restart  stop, then up
#   status   one line each for the build, the databases and the server; exit 1 if any is missing
#
# Every subcommand is idempotent. Messages go to stderr and start with "cluster: ".
#
# Environment:
#   OHO_CLUSTER_ADDRESS   the frontend, 127.0.0.1:PORT (default 127.0.0.1:7633). The server's
#                         other services take the next eight ports (7634 to 7641 by default): the
#                         frontend's membership and HTTP ports, then gRPC and membership of
#                         history, matching and worker. Only ever on 127.0.0.1.
#   OHO_CLUSTER_NAMESPACE the namespace to register (default "default")
#   OHO_CLUSTER_PG_ADDRESS
#                         the PostgreSQL server, host:port (default 127.0.0.1:5432), on which the
#                         superuser postgres creates what the server needs; it must trust the
#                         server's role from this machine (no password is set)
#   OHO_CLUSTER_DB, OHO_CLUSTER_VISIBILITY_DB, OHO_CLUSTER_DB_USER
#                         the databases and their owning role (default temporal,
#                         temporal_visibility and temporal)
#   OHO_CLUSTER_LOG_LEVEL the server's log level (default warn)
set -euo pipefail

TEMPORAL_SERVER_VERSION=v1.29.1
TEMPORAL_SERVER_MODULE=go.temporal.io/server

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER_DIR=$ROOT/.tools/temporal-server-$TEMPORAL_SERVER_VERSION
SERVER_BIN=$SERVER_DIR/bin/temporal-server
SQL_TOOL=$SERVER_DIR/bin/temporal-sql-tool
# The binaries print no module version, so the one built is recorded here.
SERVER_STAMP=$SERVER_DIR/bin/version
# The Temporal CLI that scripts/devenv.sh installs.
TEMPORAL=$ROOT/.tools/bin/temporal
CONFIG_DIR=$ROOT/scripts/cluster
# The server reads $CONFIG_DIR/$CONFIG_ENV.yaml.
CONFIG_ENV=temporal
CLUSTER_DIR=$ROOT/.dev/cluster
SERVER_LOG=$CLUSTER_DIR/temporal-server.log
SERVER_PID=$CLUSTER_DIR/temporal-server.pid

ADDRESS=${OHO_CLUSTER_ADDRESS:-127.0.0.1:7633}
HOST=${ADDRESS%:*}
PORT=${ADDRESS##*:}
NAMESPACE=${OHO_CLUSTER_NAMESPACE:-default}
PG_ADDRESS=${OHO_CLUSTER_PG_ADDRESS:-127.0.0.1:5432}
PG_HOST=${PG_ADDRESS%:*}
PG_PORT=${PG_ADDRESS##*:}
DB=${OHO_CLUSTER_DB:-temporal}
VISIBILITY_DB=${OHO_CLUSTER_VISIBILITY_DB:-temporal_visibility}
DB_USER=${OHO_CLUSTER_DB_USER:-temporal}

# Seconds to wait for the server to come up or go away. A cold start creates its shards and the
# system namespace; a restart takes its shards back.
START_TIMEOUT=120
STOP_TIMEOUT=30

log() { echo "cluster: $*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

[[ $HOST == 127.0.0.1 && $PORT =~ ^[0-9]+$ ]] ||
	die "OHO_CLUSTER_ADDRESS must be 127.0.0.1:PORT (the server only binds to loopback), got $ADDRESS"
[[ $PG_PORT =~ ^[0-9]+$ ]] || die "OHO_CLUSTER_PG_ADDRESS must be HOST:PORT, got $PG_ADDRESS"
# The ports of scripts/cluster/temporal.yaml, in order; the first is the frontend's.
PORTS=()
for i in 0 1 2 3 4 5 6 7 8; do
	PORTS+=($((PORT + i)))
done
export OHO_CLUSTER_FRONTEND_PORT=${PORTS[0]} OHO_CLUSTER_FRONTEND_MEMBERSHIP_PORT=${PORTS[1]} \
	OHO_CLUSTER_FRONTEND_HTTP_PORT=${PORTS[2]} OHO_CLUSTER_HISTORY_PORT=${PORTS[3]} \
	OHO_CLUSTER_HISTORY_MEMBERSHIP_PORT=${PORTS[4]} OHO_CLUSTER_MATCHING_PORT=${PORTS[5]} \
	OHO_CLUSTER_MATCHING_MEMBERSHIP_PORT=${PORTS[6]} OHO_CLUSTER_WORKER_PORT=${PORTS[7]} \
	OHO_CLUSTER_WORKER_MEMBERSHIP_PORT=${PORTS[8]} \
	OHO_CLUSTER_PG_ADDRESS=$PG_ADDRESS OHO_CLUSTER_DB=$DB OHO_CLUSTER_VISIBILITY_DB=$VISIBILITY_DB \
	OHO_CLUSTER_DB_USER=$DB_USER OHO_CLUSTER_LOG_LEVEL=${OHO_CLUSTER_LOG_LEVEL:-warn}

# port_open HOST PORT: whether something accepts TCP connections on HOST:PORT.
port_open() {
	# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
	timeout 1 bash -c ': >"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# lock: serializes the subcommands that build, start or stop the server, until the script exits.
# The descriptor is not passed on to the server (see start_server).
lock() {
	mkdir -p "$CLUSTER_DIR"
	exec 9>"$CLUSTER_DIR/cluster.lock"
	flock -w 600 9 || die "another cluster.sh has held $CLUSTER_DIR/cluster.lock for 10 minutes"
}

# ---------------------------------------------------------------------------------------------
# build

# built: whether both binaries of the pinned version are in place.
built() {
	[[ -x $SERVER_BIN && -x $SQL_TOOL ]] || return 1
	[[ -f $SERVER_STAMP && $(<"$SERVER_STAMP") == "$TEMPORAL_SERVER_VERSION" ]] && return 0
	# No stamp: the binaries' build information has the truth. Record it when it is the pinned one.
	local bin
	for bin in "$SERVER_BIN" "$SQL_TOOL"; do
		go version -m "$bin" 2>/dev/null |
			grep -Eq "^[[:space:]]+mod[[:space:]]+${TEMPORAL_SERVER_MODULE}[[:space:]]+${TEMPORAL_SERVER_VERSION}[[:space:]]" ||
			return 1
	done
	echo "$TEMPORAL_SERVER_VERSION" >"$SERVER_STAMP"
}

cmd_build() {
	built && return 0
	lock
	built && return 0
	command -v go >/dev/null || die "go is not on PATH; it is needed to build the Temporal server"
	log "building Temporal server $TEMPORAL_SERVER_VERSION into ${SERVER_DIR#"$ROOT"/}/bin (about four minutes on a cold Go cache)"
	local tmp=$SERVER_DIR/bin.new start=$SECONDS
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# Outside the repository, so that its go.mod and GOFLAGS such as -mod=vendor do not apply.
	(cd / && GOBIN=$tmp GOFLAGS='' go install \
		"$TEMPORAL_SERVER_MODULE/cmd/server@$TEMPORAL_SERVER_VERSION" \
		"$TEMPORAL_SERVER_MODULE/cmd/tools/sql@$TEMPORAL_SERVER_VERSION") ||
		die "go install $TEMPORAL_SERVER_MODULE/cmd/server and cmd/tools/sql @$TEMPORAL_SERVER_VERSION failed"
	mkdir -p "$SERVER_DIR/bin"
	mv -f "$tmp/server" "$SERVER_BIN"
	mv -f "$tmp/sql" "$SQL_TOOL"
	rmdir "$tmp"
	echo "$TEMPORAL_SERVER_VERSION" >"$SERVER_STAMP"
	log "built Temporal server $TEMPORAL_SERVER_VERSION in $((SECONDS - start))s"
}

# schema_dir: prints the server module's PostgreSQL schema folder (the module cache has it once
# the server is built; a cleaned cache gets it back from the module proxy).
schema_dir() {
	local dir
	dir=$(cd / && GOFLAGS='' go mod download -json "$TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
		die "go mod download $TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION failed"
	dir=$dir/schema/postgresql/v12
	[[ -d $dir/temporal/versioned && -d $dir/visibility/versioned ]] ||
		die "the module $TEMPORAL_SERVER_MODULE@$TEMPORAL_SERVER_VERSION has no $dir/{temporal,visibility}/versioned"
	echo "$dir"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

pg_ready() {
	pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
}

admin_psql() {
	psql "postgres://postgres@$PG_ADDRESS/postgres?sslmode=disable" -X -q -v ON_ERROR_STOP=1 \
		-v user="$DB_USER" -v db="$DB" -v vdb="$VISIBILITY_DB"
}

# The role and both databases, owned by it, created when missing.
# shellcheck disable=SC2016 # $$ is SQL
DATABASES_SQL='
SELECT format($$CREATE ROLE %I LOGIN$$, :'"'user'"')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'"'user'"') \gexec
SELECT format($$CREATE DATABASE %I OWNER %I$$, d, :'"'user'"')
FROM unnest(ARRAY[:'"'db'"', :'"'vdb'"']) AS d
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d) \gexec
'

# sql_tool DB ARGS...: the server's SQL tool on database DB, as the owning role.
sql_tool() {
	local db=$1
	shift
	"$SQL_TOOL" --plugin postgres12 --endpoint "$PG_HOST" --port "$PG_PORT" --user "$DB_USER" \
		--database "$db" "$@"
}

# schema_version DB: prints the version of the server's schema in DB, empty when it has none.
schema_version() {
	psql "postgres://postgres@$PG_ADDRESS/$1?sslmode=disable" -X -q -A -t 2>/dev/null \
		-c "SELECT curr_version FROM schema_version WHERE version_partition = 0 AND db_name = '$1'" || true
}

# apply_schema DB KIND: brings the schema of database DB (KIND temporal or visibility) to the
# newest version of the server's module: the versioning tables first (setup-schema -v 0.0, only
# on a database without them), then every versioned step up from where it is (update-schema).
apply_schema() {
	local db=$1 kind=$2 dir out before
	dir=$(schema_dir)/$kind/versioned
	before=$(schema_version "$db")
	if [[ -z $before ]]; then
		out=$(sql_tool "$db" setup-schema -v 0.0 2>&1) ||
			die "setting up the schema versioning of database $db failed: $out"
	fi
	out=$(sql_tool "$db" update-schema -d "$dir" 2>&1) ||
		die "updating the $kind schema of database $db from $dir failed: $out"
	local after
	after=$(schema_version "$db")
	[[ -n $after ]] || die "database $db has no schema version after update-schema: $out"
	[[ $before == "$after" ]] || log "database $db: $kind schema ${before:-none} -> $after"
}

cmd_postgres() {
	command -v psql >/dev/null || die "psql is not on PATH (PostgreSQL's client)"
	pg_ready || die "PostgreSQL does not answer on $PG_ADDRESS (scripts/devenv.sh postgres starts the local one)"
	admin_psql <<<"$DATABASES_SQL" >/dev/null ||
		die "cannot create role $DB_USER and databases $DB, $VISIBILITY_DB on $PG_ADDRESS as postgres"
	apply_schema "$DB" temporal
	apply_schema "$VISIBILITY_DB" visibility
}

# ---------------------------------------------------------------------------------------------
# the server

healthy() {
	port_open "$HOST" "$PORT" || return 1
	"$TEMPORAL" operator cluster health --address "$ADDRESS" --client-connect-timeout 2s >/dev/null 2>&1
}

# server_pid: prints the pid of the server this script started, if it still runs.
server_pid() {
	local pid
	[[ -f $SERVER_PID ]] || return 1
	pid=$(<"$SERVER_PID")
	# Check the process is still ours (pids get reused).
	if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$SERVER_BIN "; then
		echo "$pid"
		return 0
	fi
	return 1
}

# wait_server PID LOG_OFFSET: waits until the server answers; fails loudly, with the end of this
# start's part of the log, if it dies or times out.
wait_server() {
	local pid=$1 offset=$2 deadline=$((SECONDS + START_TIMEOUT)) why=
	until healthy; do
		if ! kill -0 "$pid" 2>/dev/null; then
			why="exited"
		elif ((SECONDS >= deadline)); then
			why="does not answer on $ADDRESS after ${START_TIMEOUT}s"
		fi
		if [[ -n $why ]]; then
			log "the Temporal server (pid $pid) $why; last lines of ${SERVER_LOG#"$ROOT"/}:"
			tail -c +"$((offset + 1))" "$SERVER_LOG" 2>/dev/null | tail -n 30 >&2 || true
			die "the Temporal server failed to start"
		fi
		sleep 0.25
	done
}

start_server() {
	local pid offset p start=$SECONDS
	for p in "${PORTS[@]}"; do
		port_open 127.0.0.1 "$p" && die "port $p is taken: the server needs ports ${PORTS[0]} to ${PORTS[8]} (set OHO_CLUSTER_ADDRESS to move them)"
	done
	mkdir -p "$CLUSTER_DIR"
	offset=$(stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0)
	local args=(--root "$ROOT" --config "${CONFIG_DIR#"$ROOT"/}" --env "$CONFIG_ENV" --allow-no-auth start)
	log "starting Temporal server $TEMPORAL_SERVER_VERSION on $ADDRESS (PostgreSQL $PG_ADDRESS, databases $DB and $VISIBILITY_DB; log ${SERVER_LOG#"$ROOT"/})"
	{
		echo
		echo "=== $(date '+%F %T') cluster: $SERVER_BIN ${args[*]}"
	} >>"$SERVER_LOG"
	# Fully detached: own session, no terminal, stdin from /dev/null, output to the log and no
	# other inherited descriptors (the lock among them), so that it never holds the caller's
	# stdout (make and CI read the pipe until EOF) or anything else open.
	(
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
		done
		cd "$CLUSTER_DIR"
		exec setsid nohup "$SERVER_BIN" "${args[@]}" </dev/null >>"$SERVER_LOG" 2>&1
	) &
	pid=$!
	echo "$pid" >"$SERVER_PID"
	wait_server "$pid" "$offset"
	log "Temporal server is up on $ADDRESS (pid $pid, $((SECONDS - start))s)"
}

# ensure_namespace: registers the namespace when the server does not know it (a new server has
# only its system namespace), then waits until the frontend serves it.
ensure_namespace() {
	local out deadline=$((SECONDS + START_TIMEOUT))
	"$TEMPORAL" operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1 && return 0
	if ! out=$("$TEMPORAL" operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" \
		--retention 72h 2>&1) && [[ $out != *"already exists"* && $out != *"AlreadyExists"* ]]; then
		die "cannot register namespace $NAMESPACE on $ADDRESS: $out"
	fi
	log "registered namespace $NAMESPACE"
	until out=$("$TEMPORAL" workflow count --address "$ADDRESS" --namespace "$NAMESPACE" 2>&1); do
		((SECONDS < deadline)) || die "namespace $NAMESPACE is registered on $ADDRESS but not served after ${START_TIMEOUT}s: $out"
		sleep 0.5
	done
}

cmd_up() {
	local pid
	cmd_build
	[[ -x $TEMPORAL ]] || "$ROOT/scripts/devenv.sh" tools
	lock
	if healthy; then
		pid=$(server_pid) || log "a Temporal server answers on $ADDRESS but was not started by cluster.sh; using it as it is"
	else
		cmd_postgres
		if pid=$(server_pid); then
			log "Temporal server (pid $pid) is running but does not answer yet; waiting"
			wait_server "$pid" 0
		else
			start_server
		fi
	fi
	ensure_namespace
	# OHO's search attributes, created and waited for as devenv.sh does it for any server.
	TEMPORAL_ADDRESS=$ADDRESS TEMPORAL_NAMESPACE=$NAMESPACE "$ROOT/scripts/devenv.sh" search-attributes
	log "ready: Temporal server $TEMPORAL_SERVER_VERSION on $ADDRESS, namespace $NAMESPACE, persistence and visibility in PostgreSQL ($DB, $VISIBILITY_DB on $PG_ADDRESS)"
	echo "export TEMPORAL_ADDRESS=${ADDRESS@Q}"
}

# cmd_stop: stops the server this script started and waits until all its ports are closed.
cmd_stop() {
	local pid deadline p start=$SECONDS
	lock
	if ! pid=$(server_pid); then
		rm -f "$SERVER_PID"
		if port_open "$HOST" "$PORT"; then
			log "the Temporal server on $ADDRESS was not started by cluster.sh; leaving it running"
		else
			log "Temporal server is not running"
		fi
		return 0
	fi
	log "stopping Temporal server (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + STOP_TIMEOUT))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "Temporal server (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((SECONDS + STOP_TIMEOUT))
		fi
		sleep 0.2
	done
	rm -f "$SERVER_PID"
	deadline=$((SECONDS + STOP_TIMEOUT))
	for p in "${PORTS[@]}"; do
		while port_open 127.0.0.1 "$p"; do
			((SECONDS < deadline)) || die "port $p is still open ${STOP_TIMEOUT}s after the server exited"
			sleep 0.2
		done
	done
	log "Temporal server stopped ($((SECONDS - start))s)"
}

# cmd_status: one line each; exit status 0 when all is there and up, 1 otherwise.
cmd_status() {
	local ok=0 pid v vv
	if built; then
		log "build: Temporal server $TEMPORAL_SERVER_VERSION in ${SERVER_DIR#"$ROOT"/}/bin"
	else
		log "build: Temporal server $TEMPORAL_SERVER_VERSION not built (scripts/cluster.sh build)"
		ok=1
	fi
	if ! pg_ready; then
		log "postgres: down on $PG_ADDRESS"
		ok=1
	else
		v=$(schema_version "$DB")
		vv=$(schema_version "$VISIBILITY_DB")
		log "postgres: $PG_ADDRESS, database $DB schema ${v:-missing}, $VISIBILITY_DB schema ${vv:-missing}"
		[[ -n $v && -n $vv ]] || ok=1
	fi
	if healthy; then
		if pid=$(server_pid); then
			log "server: up on $ADDRESS (pid $pid, started by cluster.sh; log ${SERVER_LOG#"$ROOT"/})"
		else
			log "server: up on $ADDRESS (not started by cluster.sh)"
		fi
	elif pid=$(server_pid); then
		log "server: not answering on $ADDRESS (pid $pid is running; see ${SERVER_LOG#"$ROOT"/})"
		ok=1
	else
		log "server: down on $ADDRESS"
		ok=1
	fi
	return "$ok"
}

usage() {
	sed -n '7,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

main() {
	[[ $# -eq 1 ]] || usage
	case $1 in
	build) cmd_build ;;
	up) cmd_up ;;
	stop) cmd_stop ;;
	restart)
		cmd_stop
		exec 9>&- # cmd_up takes the lock again
		cmd_up
		;;
	status) cmd_status ;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
