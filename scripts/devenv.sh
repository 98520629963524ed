#!/usr/bin/env bash
# devenv.sh: the local development environment of OHO (see DESIGN.md, "Components and how they
# start"): the pinned Temporal CLI, Debian's Chromium for the browser tests, a Temporal dev server
# and a PostgreSQL database.
#
# Usage: scripts/devenv.sh tools|chromium|temporal|search-attributes|postgres|up|payload-keys|stop|status
#
#   tools     install the pinned Temporal CLI into .tools/bin when missing or another version
#   chromium  install Debian's chromium package when /usr/bin/chromium is missing (the browser
#             tests of package e2e drive it); needs root, or sudo without a password
#   temporal  make sure a Temporal dev server answers on $TEMPORAL_ADDRESS (start one if not)
#   search-attributes
#             create OHO's search attributes on the server at $TEMPORAL_ADDRESS (never starts one)
#             and wait until they can be used (scripts/cluster.sh runs this)
#   postgres  make sure PostgreSQL answers, the roles exist and the database of $DATABASE_URL
#             exists, owned by the role of $MIGRATION_DATABASE_URL
#   up        tools + chromium + postgres + temporal, then print the environment on stdout, so that
#             `eval "$(scripts/devenv.sh up)"` sets it in the calling shell
#   payload-keys
#             make .dev/payload-keys (one fresh AES-256 key, readable by you alone; .dev/ is never
#             committed) when missing, and print `export OHO_PAYLOAD_KEYS_FILE=…` on stdout, so that
#             `eval "$(scripts/devenv.sh payload-keys)"` turns payload encryption on in the calling
#             shell (scripts/demo.sh does it for the demo)
#   stop      stop the Temporal dev server started by this script (PostgreSQL is left alone)
#   status    one line per service
#
# Every subcommand is idempotent and returns quickly when everything is already up. Messages go
# to stderr and start with "devenv: "; only `up` and `payload-keys` write to stdout (the export
# lines).
#
# Environment:
#   TEMPORAL_ADDRESS  host:port of the Temporal frontend (default 127.0.0.1:7233). A dev server is
#                     only ever started for a local address.
#   TEMPORAL_UI_PORT  port of the dev server's Web UI (default 8233 for port 7233: port + 1000)
#   DATABASE_URL      what the programs connect as: postgres://user@host:port/dbname?params
#                     (default postgres://oho_app@127.0.0.1:5432/oho?sslmode=disable)
#   MIGRATION_DATABASE_URL
#                     what `starter migrate` connects as, the owner of the database and its objects
#                     (default DATABASE_URL when that is set, as the programs read it, else
#                     postgres://oho_owner@127.0.0.1:5432/oho?sslmode=disable)
#   ADMIN_DATABASE_URL
#                     a superuser, who creates the roles and the database (default: user postgres,
#                     database postgres, on the server of DATABASE_URL)
#
# The roles (README, "Roles in PostgreSQL"): oho_app, the group role whose rights
# schema/005_least_privilege.sql grants, with LOGIN here because in development the programs log
# in as it; the user of DATABASE_URL, a member of oho_app when it is another role; the user of
# MIGRATION_DATABASE_URL, who owns the database. A database created earlier by another role
# (postgres, before the roles were split) is handed over to that owner with everything in its
# public schema, so that `starter migrate` can go on as the owner. Superusers named in the URLs
# are left as they are (a single-role setup). Roles get no password: the server trusts local
# connections.
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
# The development payload key file (README, "Configuration"): lines "ID BASE64KEY".
PAYLOAD_KEYS=$DEV_DIR/payload-keys

TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
TEMPORAL_HOST=${TEMPORAL_ADDRESS%:*}
TEMPORAL_PORT=${TEMPORAL_ADDRESS##*:}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-$((TEMPORAL_PORT + 1000))}

# Migrations fall back to DATABASE_URL when it is set, as `starter migrate` does.
MIGRATION_DATABASE_URL=${MIGRATION_DATABASE_URL:-${DATABASE_URL:-postgres://oho_owner@127.0.0.1:5432/oho?sslmode=disable}}
DATABASE_URL=${DATABASE_URL:-postgres://oho_app@127.0.0.1:5432/oho?sslmode=disable}
# The group role of schema/005_least_privilege.sql.
APP_ROLE=oho_app

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
# chromium

# The browser the browser tests drive (e2e/browser_test.go): Debian's package, not a browser
# build downloaded by a tool, which nothing but the package registries could serve here.
CHROMIUM=/usr/bin/chromium

# apt_get ARGS...: runs apt-get non-interactively as root (through sudo -n when we are not root),
# its output on stderr (stdout carries only the export lines of `up`), waiting up to 5 minutes
# for the dpkg lock when another install holds it (two `make test` at once).
apt_get() {
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null ||
			die "installing chromium needs root: run 'apt-get install -y chromium' as root, or install sudo"
		sudo=(sudo -n)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@" >&2
}

cmd_chromium() {
	[[ -x $CHROMIUM ]] && return 0
	command -v apt-get >/dev/null ||
		die "$CHROMIUM is missing and apt-get is not here: install Chromium so that $CHROMIUM runs it (the browser tests need it)"
	log "installing Debian's chromium package for the browser tests ($CHROMIUM is missing)"
	# The package lists already on the machine usually do; when they are missing or stale (a
	# fresh machine, a superseded version), update them and try once more.
	if ! apt_get install -y chromium; then
		log "apt-get install chromium failed; updating the package lists and trying again"
		apt_get update || die "apt-get update failed, so chromium cannot be installed"
		apt_get install -y chromium || die "apt-get install -y chromium failed (see above)"
	fi
	[[ -x $CHROMIUM ]] || die "apt-get installed chromium but $CHROMIUM is still missing"
	log "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
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

# ensure_search_attributes: creates the search attributes that are missing on a server we did not
# just start (in the namespace of $TEMPORAL_NAMESPACE, default "default", which the CLI reads),
# then waits until they can be used.
# With CLI v1.5.1, creating an attribute that already exists with the same type succeeds (prints
# "Search attributes have been added", exit 0); with another type it fails with "search attribute
# X already exists and has different type T", which is a real problem and is reported as such.
# One attribute per call: given several --name flags but one --type, the CLI only adds the first.
ensure_search_attributes() {
	local sa out listed created=
	listed=$("$TEMPORAL" operator search-attribute list --address "$TEMPORAL_ADDRESS" 2>&1) ||
		die "cannot list the search attributes on $TEMPORAL_ADDRESS: $listed"
	for sa in "${SEARCH_ATTRIBUTES[@]}"; do
		# The list is a table of "  NAME  TYPE" lines, read from the server's database.
		grep -Eq "^[[:space:]]*${sa%=*}[[:space:]]+${sa#*=}[[:space:]]*\$" <<<"$listed" && continue
		if ! out=$("$TEMPORAL" operator search-attribute create --address "$TEMPORAL_ADDRESS" \
			--name "${sa%=*}" --type "${sa#*=}" 2>&1); then
			die "cannot create search attribute $sa on $TEMPORAL_ADDRESS: $out"
		fi
		log "created search attribute $sa on $TEMPORAL_ADDRESS"
		created=1
	done
	wait_search_attributes "$created"
}

# wait_search_attributes [CREATED]: waits until the namespace's mapping of the search attributes
# is in force. On a server with SQL visibility (a real cluster with PostgreSQL; the dev server's
# SQLite too) an attribute is a per-namespace alias of a column, and each service (frontend,
# history, matching) reads that mapping from its own namespace cache, refreshed every 2 s
# (system.namespaceCacheRefreshInterval): right after the attributes were created, starting a
# cycle failed with "Namespace default has no mapping defined for search attribute OhoPhase". A
# count whose query names every attribute goes through the frontend's mapping, so it is polled
# until it succeeds (the attributes may have been created moments ago by another run, so this is
# checked every time). When they were just created, or the count had to wait, one more refresh
# interval is waited for the other services' caches.
wait_search_attributes() {
	local sa query='' out deadline=$((SECONDS + START_TIMEOUT)) settle=${1:-}
	for sa in "${SEARCH_ATTRIBUTES[@]}"; do
		[[ -n $query ]] && query+=" AND "
		case ${sa#*=} in
		Int) query+="${sa%=*} = 0" ;;
		*) query+="${sa%=*} = 'devenv-probe'" ;;
		esac
	done
	until out=$("$TEMPORAL" workflow count --address "$TEMPORAL_ADDRESS" --query "$query" \
		--client-connect-timeout 5s 2>&1); do
		((SECONDS < deadline)) ||
			die "the search attributes exist on $TEMPORAL_ADDRESS but are still not usable after ${START_TIMEOUT}s: $out"
		if [[ -z $settle ]]; then
			log "waiting for the namespace's mapping of the search attributes on $TEMPORAL_ADDRESS (${out//$'\n'/ })"
			settle=1
		fi
		sleep 0.5
	done
	if [[ -n $settle ]]; then
		sleep 2
		log "search attributes ${SEARCH_ATTRIBUTES[*]} usable on $TEMPORAL_ADDRESS"
	fi
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

# cmd_search_attributes: the search attributes on a server that answers, whoever started it.
cmd_search_attributes() {
	cmd_tools
	temporal_healthy || die "no Temporal server answers on $TEMPORAL_ADDRESS"
	ensure_search_attributes
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

# parse_url NAME URL: sets URL_USER, URL_HOSTPORT, URL_DB and URL_QUERY from URL
# (postgres://[user[:password]@]host[:port]/db[?params]); NAME is the variable, for messages.
parse_url() {
	local name=$1 rest authority
	[[ $2 =~ ^postgres(ql)?:// ]] || die "$name must be a postgres:// URL, got: $2"
	rest=${2#*://}
	URL_QUERY=
	if [[ $rest == *\?* ]]; then
		URL_QUERY="?${rest#*\?}"
		rest=${rest%%\?*}
	fi
	authority=${rest%%/*}
	URL_DB=oho
	[[ $rest == */* && -n ${rest#*/} ]] && URL_DB=${rest#*/}
	URL_USER=postgres
	URL_HOSTPORT=$authority
	if [[ $authority == *@* ]]; then
		URL_USER=${authority%@*}
		URL_USER=${URL_USER%%:*}
		URL_HOSTPORT=${authority##*@}
	fi
}

# parse_database_urls: sets PG_HOST, PG_PORT, PG_DB, APP_USER (of DATABASE_URL), OWNER_USER (of
# MIGRATION_DATABASE_URL) and PG_ADMIN_URL (ADMIN_DATABASE_URL, or the server of DATABASE_URL as
# postgres, database postgres). Both URLs must name the same database.
parse_database_urls() {
	local hostport query
	parse_url MIGRATION_DATABASE_URL "$MIGRATION_DATABASE_URL"
	OWNER_USER=$URL_USER
	hostport=$URL_HOSTPORT
	local owner_db=$URL_DB
	parse_url DATABASE_URL "$DATABASE_URL"
	APP_USER=$URL_USER
	PG_DB=$URL_DB
	query=$URL_QUERY
	[[ $owner_db == "$PG_DB" && ${hostport##*@} == "$URL_HOSTPORT" ]] ||
		die "DATABASE_URL and MIGRATION_DATABASE_URL must name the same database (got $URL_HOSTPORT/$PG_DB and $hostport/$owner_db)"
	PG_HOST=${URL_HOSTPORT%:*}
	PG_PORT=5432
	[[ $URL_HOSTPORT == *:* ]] && PG_PORT=${URL_HOSTPORT##*:}
	PG_HOST=${PG_HOST:-127.0.0.1}
	PG_ADMIN_URL=${ADMIN_DATABASE_URL:-postgres://postgres@$URL_HOSTPORT/postgres$query}
	parse_url ADMIN_DATABASE_URL "$PG_ADMIN_URL"
	ADMIN_USER=$URL_USER
}

# with_db URL DB: prints URL naming database DB instead.
with_db() {
	local url=$1 query= rest
	[[ $url == *\?* ]] && query="?${url#*\?}"
	url=${url%%\?*}
	rest=${url#*://}
	echo "${url%%://*}://${rest%%/*}/$2$query"
}

# admin_psql DB [psql args]: runs psql as the administrator on database DB, stopping at the first
# error, with the database and the roles as psql variables.
admin_psql() {
	local db=$1
	shift
	psql "$(with_db "$PG_ADMIN_URL" "$db")" -X -q -v ON_ERROR_STOP=1 -v db="$PG_DB" \
		-v app_role="$APP_ROLE" -v app_user="$APP_USER" -v owner="$OWNER_USER" "$@"
}

# The roles, idempotently. A DO block rather than `\gexec`, so that a role created meanwhile by
# another devenv.sh or a test run (dbtest creates oho_app too) is no error: both CREATE ROLEs can
# pass the NOT EXISTS check, and the second then fails with duplicate_object, or unique_violation
# when both inserted before either committed. The names reach the block through settings, as psql
# does not expand its variables inside dollar quotes.
# shellcheck disable=SC2016 # $$ is SQL
ROLES_SQL='
SELECT set_config($$oho.app_role$$, :'"'app_role'"', false), set_config($$oho.app_user$$, :'"'app_user'"', false),
       set_config($$oho.owner$$, :'"'owner'"', false);
DO $$
DECLARE
    app_role text := current_setting($q$oho.app_role$q$);
    app_user text := current_setting($q$oho.app_user$q$);
    owner    text := current_setting($q$oho.owner$q$);
    r        text;
BEGIN
    FOREACH r IN ARRAY ARRAY[app_role, app_user, owner] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format($q$CREATE ROLE %I LOGIN$q$, r);
                RAISE NOTICE $q$devenv: created role %$q$, r;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        ELSIF EXISTS (SELECT FROM pg_roles WHERE rolname = r AND NOT rolcanlogin AND NOT rolsuper) THEN
            -- In development the programs log in as these roles themselves.
            EXECUTE format($q$ALTER ROLE %I LOGIN$q$, r);
        END IF;
    END LOOP;
    -- Another login for the programs takes its rights from the group role.
    IF app_user <> app_role AND NOT pg_has_role(app_user, app_role, $q$MEMBER$q$)
       AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = app_user) THEN
        EXECUTE format($q$GRANT %I TO %I$q$, app_role, app_user);
    END IF;
END
$$;
'

# The database, created for its owner; one created earlier by someone else is handed over.
# A superuser owner (single-role setup) gets nothing handed over.
# shellcheck disable=SC2016 # $$ is SQL
DATABASE_SQL='
SELECT format($$CREATE DATABASE %I OWNER %I$$, :'"'db'"', :'"'owner'"')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'"'db'"') \gexec
SELECT set_config($$oho.db$$, :'"'db'"', false), set_config($$oho.owner$$, :'"'owner'"', false),
       set_config($$oho.app_role$$, :'"'app_role'"', false);
DO $$
DECLARE
    db       text := current_setting($q$oho.db$q$);
    owner    text := current_setting($q$oho.owner$q$);
    was      text;
BEGIN
    SELECT d.datdba::regrole::text INTO was
    FROM pg_database d, pg_roles o
    WHERE d.datname = db AND o.rolname = owner AND NOT o.rolsuper AND d.datdba <> o.oid;
    IF FOUND THEN
        EXECUTE format($q$ALTER DATABASE %I OWNER TO %I$q$, db, owner);
        RAISE NOTICE $q$devenv: handed database % from % to %$q$, db, was, owner;
    END IF;
    EXECUTE format($q$GRANT CONNECT ON DATABASE %I TO %I$q$, db, current_setting($q$oho.app_role$q$));
END
$$;
'

# Inside the database: hand whatever another role created in the public schema (tables with their
# sequences and indexes, views, other sequences, functions) to the owner, so that the migrations
# that follow, run as the owner, may alter them and grant on them (005 refuses to run otherwise).
# REASSIGN OWNED cannot do this: it refuses objects of postgres, which the database system needs.
# shellcheck disable=SC2016 # $$ is SQL
ADOPT_SQL='
SELECT set_config($$oho.owner$$, :'"'owner'"', false);
DO $$
DECLARE
    owner regrole := quote_ident(current_setting($q$oho.owner$q$))::regrole;
    stmt  text;
    n     int := 0;
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE oid = owner) THEN
        RETURN;
    END IF;
    FOR stmt IN
        SELECT format($q$ALTER SCHEMA public OWNER TO %s$q$, owner)
        FROM pg_namespace
        WHERE nspname = $q$public$q$ AND nspowner NOT IN (owner, $q$pg_database_owner$q$::regrole)
        UNION ALL
        SELECT format($q$ALTER %s %s OWNER TO %s$q$,
                      CASE c.relkind WHEN $q$v$q$ THEN $q$VIEW$q$ WHEN $q$m$q$ THEN $q$MATERIALIZED VIEW$q$
                                     WHEN $q$S$q$ THEN $q$SEQUENCE$q$ ELSE $q$TABLE$q$ END,
                      c.oid::regclass, owner)
        FROM pg_class c
        WHERE c.relnamespace = $q$public$q$::regnamespace AND c.relkind IN ($q$r$q$, $q$p$q$, $q$v$q$, $q$m$q$, $q$S$q$)
          AND c.relowner <> owner
          -- A serial column'"'"'s sequence goes with its table.
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = $q$pg_class$q$::regclass AND d.objid = c.oid
                                                    AND d.deptype IN ($q$a$q$, $q$i$q$))
        UNION ALL
        SELECT format($q$ALTER ROUTINE %s OWNER TO %s$q$, p.oid::regprocedure, owner)
        FROM pg_proc p
        WHERE p.pronamespace = $q$public$q$::regnamespace AND p.proowner <> owner
    LOOP
        EXECUTE stmt;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        RAISE NOTICE $q$devenv: handed % objects of the public schema to %$q$, n, owner;
    END IF;
END
$$;
'

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
	parse_database_urls
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
	# What changed (a role created, objects handed over) is worth a line: psql prints the NOTICEs
	# on stderr, as "NOTICE:  devenv: ...".
	admin_psql postgres <<<"$ROLES_SQL" >/dev/null ||
		die "cannot create the roles $APP_ROLE, $APP_USER and $OWNER_USER on $PG_HOST:$PG_PORT as $ADMIN_USER (set ADMIN_DATABASE_URL to a superuser)"
	admin_psql postgres <<<"$DATABASE_SQL" >/dev/null ||
		die "cannot create database $PG_DB for $OWNER_USER on $PG_HOST:$PG_PORT as $ADMIN_USER"
	admin_psql "$PG_DB" <<<"$ADOPT_SQL" >/dev/null ||
		die "cannot hand the objects of database $PG_DB to $OWNER_USER"
}

# ---------------------------------------------------------------------------------------------
# up, status

cmd_up() {
	cmd_tools
	cmd_chromium
	cmd_postgres
	cmd_temporal
	log "ready: Temporal on $TEMPORAL_ADDRESS, PostgreSQL database $PG_DB on $PG_HOST:$PG_PORT (programs as $APP_USER, migrations as $OWNER_USER)"
	echo "export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS@Q}"
	echo "export DATABASE_URL=${DATABASE_URL@Q}"
	echo "export MIGRATION_DATABASE_URL=${MIGRATION_DATABASE_URL@Q}"
}

# cmd_payload_keys: the development payload key file, made once. A new key is never written over
# an old one: histories encrypted with it would become unreadable.
cmd_payload_keys() {
	if [[ ! -s $PAYLOAD_KEYS ]]; then
		mkdir -p "$DEV_DIR"
		local key
		key=$(head -c 32 /dev/urandom | base64 -w 0)
		(
			umask 077
			printf '# OHO payload keys of this development environment (README, "Configuration").\n# Lines "ID BASE64KEY"; the first, or the one followed by "current", encrypts.\ndev1 %s\n' "$key" >"$PAYLOAD_KEYS.tmp"
		)
		mv "$PAYLOAD_KEYS.tmp" "$PAYLOAD_KEYS"
		log "made a payload key in ${PAYLOAD_KEYS#"$ROOT"/} (key ID dev1)"
	fi
	echo "export OHO_PAYLOAD_KEYS_FILE=${PAYLOAD_KEYS@Q}"
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
	if [[ -x $CHROMIUM ]]; then
		log "chromium: $CHROMIUM installed"
	else
		log "chromium: $CHROMIUM missing (scripts/devenv.sh chromium installs it)"
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
	parse_database_urls
	local state
	if ! pg_ready; then
		log "postgres: down on $PG_HOST:$PG_PORT"
		ok=1
	elif state=$(admin_psql postgres -A -t 2>/dev/null <<<"
SELECT coalesce((SELECT 'database ' || datname || ' exists, owned by ' || datdba::regrole
                 FROM pg_database WHERE datname = :'db'), 'database ' || :'db' || ' missing')
       || '; roles: ' || (SELECT string_agg(DISTINCT r || CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = r)
                                                       THEN '' ELSE ' (missing)' END, ', ')
                          FROM unnest(ARRAY[:'app_role', :'app_user', :'owner']) AS r)") &&
		[[ $state != *missing* ]]; then
		log "postgres: up on $PG_HOST:$PG_PORT, $state"
	else
		log "postgres: up on $PG_HOST:$PG_PORT, ${state:-cannot connect as $ADMIN_USER}"
		ok=1
	fi
	return "$ok"
}

usage() {
	sed -n '5,26s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

main() {
	[[ $# -eq 1 ]] || usage
	case $1 in
	tools) cmd_tools ;;
	chromium) cmd_chromium ;;
	temporal) cmd_temporal ;;
	search-attributes) cmd_search_attributes ;;
	postgres) cmd_postgres ;;
	up) cmd_up ;;
	payload-keys) cmd_payload_keys ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
