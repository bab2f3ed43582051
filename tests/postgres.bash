# A real PostgreSQL server for the bats suite: load after helpers
#
#	load helpers
#	load postgres
#	setup_file()    { postgres_start; }	# or setup(), per test
#	teardown_file() { postgres_teardown; }
#
# initdb into a fresh temporary directory (~1-2 s: start it once per file
# where the tests allow), then postgres on 127.0.0.1 at a free port and on a
# unix socket in that directory, with fsync off.  PostgreSQL refuses to run
# as root: as root both run as nobody (setpriv), in a directory nobody owns.
# The server dies with the shell that started it (setpriv --pdeathsig KILL)
# and postgres_teardown stops it by PID and removes the directory.  Call
# the start function in the test's own shell, never through `run` or $(...).
#
# Roles (pg_hba.conf, host lines on 127.0.0.1; the unix socket trusts all):
#   lr_scram / $PG_PASS_SCRAM   scram-sha-256
#   lr_md5   / $PG_PASS_MD5     md5, its password stored as MD5
#   lr_pass  / $PG_PASS_PLAIN   password (cleartext on the wire)
#   lr_trust                    trust
#   postgres                    superuser, trusted on the unix socket only
# Each may log in to the database leaderrun.
#
#   have_postgres         initdb, postgres and psql are there (no skip)
#   need_postgres         initdb and postgres there, or skip naming
#                         postgresql-15; with CI=true a missing one FAILS.
#                         $PG_BINDIR, else the directory of a postgres on
#                         PATH (links followed), else /usr/lib/postgresql/15/bin (Debian's
#                         place, outside PATH)
#   postgres_start        exports PG_PID PG_PORT PG_HOST PG_SOCKDIR (the
#                         socket: $PG_SOCKDIR/.s.PGSQL.$PG_PORT) PG_DIR PG_LOG
#   postgres_stop / postgres_kill     SIGTERM (fast shutdown; SIGKILL after
#                         5 s) / SIGKILL; both reap it
#   postgres_pause / postgres_resume  SIGSTOP / SIGCONT of the postmaster
#                         (the backends of open connections run on)
#   pg_pause_all / pg_resume_all      the same for the backends too
#   postgres_teardown     stop, and remove the directory; on a failed test
#                         print the log's tail
#   psql_ SQL...          psql as postgres over the unix socket (5 s bound)

: "${PG_DB:=leaderrun}"
export PG_PASS_SCRAM=scram-secret PG_PASS_MD5=md5-secret \
    PG_PASS_PLAIN=plain-secret

_PG_PID=

source "${BASH_SOURCE[0]%/*}/server.bash"

_pg_bindir() {
	local p
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
	elif p=$(command -v postgres 2> /dev/null) && p=$(readlink -f "$p"); then
		echo "${p%/*}"
	else
		echo /usr/lib/postgresql/15/bin
	fi
}

# have_postgres: the binaries are there (no skip: for setup_file).
have_postgres() {
	local d
	d=$(_pg_bindir)
	[ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/psql" ]
}

need_postgres() {
	have_postgres && return 0
	unmet "postgres, initdb or psql not found in $(_pg_bindir)" \
	    "(apt-get install postgresql-15; or set PG_BINDIR)"
}

# _pg_as CMD...: CMD as the server's user (nobody when we are root).
_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	else
		"$@"
	fi
}

psql_() {
	timeout 5 "$(_pg_bindir)/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
	    -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres -d "${PSQL_DB:-$PG_DB}" \
	    "${@/#/-c}"
}

_pg_ready() { PSQL_DB=postgres psql_ 'SELECT 1' > /dev/null 2>&1; }

_pg_launch() {
	echo "--- $(date '+%T.%N') start" >> "$PG_LOG"
	server_spawn "$PG_LOG" $([ "$(id -u)" = 0 ] && echo setpriv \
	    --reuid=nobody --regid=nogroup --clear-groups) \
	    "$(_pg_bindir)/postgres" -D "$PG_DIR/data" -p "$PG_PORT" \
	    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$PG_SOCKDIR" \
	    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
	    -c max_connections=40 -c log_min_messages=warning
	_PG_PID=$_SPAWNED
	export PG_PID=$_PG_PID
}

postgres_start() {
	need_postgres || return 1
	local bin try rc
	bin=$(_pg_bindir)
	[ -z "$_PG_PID" ] || postgres_stop
	export PG_DIR PG_HOST=127.0.0.1
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/leaderrun-pg.XXXXXX") || return 1
	export PG_SOCKDIR=$PG_DIR/sock PG_LOG=$PG_DIR/log
	mkdir "$PG_SOCKDIR"
	[ "$(id -u)" != 0 ] || chown -R nobody:nogroup "$PG_DIR"
	chmod 755 "$PG_DIR"
	if ! _pg_as "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust \
	    -E UTF8 --no-locale --no-sync --no-instructions > "$PG_DIR/initdb.log" 2>&1; then
		echo "initdb failed:" >&2
		tail -n 15 "$PG_DIR/initdb.log" >&2
		return 1
	fi
	cat > "$PG_DIR/data/pg_hba.conf" <<-EOF
	local	all	all			trust
	host	all	lr_trust	127.0.0.1/32	trust
	host	all	lr_md5		127.0.0.1/32	md5
	host	all	lr_pass		127.0.0.1/32	password
	host	all	all		127.0.0.1/32	scram-sha-256
	EOF
	touch "$PG_LOG"
	[ "$(id -u)" != 0 ] || chown nobody:nogroup "$PG_LOG"
	for try in 1 2 3 4 5; do
		export PG_PORT
		PG_PORT=$(free_ports 1)
		_pg_launch
		rc=0
		server_wait 20 "$_PG_PID" _pg_ready || rc=$?
		[ $rc = 0 ] && break
		if [ $rc = 2 ] && grep -q 'already in use' "$PG_LOG"; then
			echo "postgres_start: port $PG_PORT was taken (attempt $try), retrying" >&2
			postgres_stop
			continue
		fi
		echo "postgres did not come up on port $PG_PORT; log:" >&2
		tail -n 15 "$PG_LOG" >&2
		postgres_stop
		return 1
	done
	[ $rc = 0 ] || { echo "postgres_start: no free port" >&2; return 1; }
	PSQL_DB=postgres psql_ "CREATE DATABASE $PG_DB" &&
	    psql_ "CREATE ROLE lr_scram LOGIN PASSWORD '$PG_PASS_SCRAM'" \
	    "CREATE ROLE lr_pass LOGIN PASSWORD '$PG_PASS_PLAIN'" \
	    "CREATE ROLE lr_trust LOGIN" \
	    "SET password_encryption = 'md5'; CREATE ROLE lr_md5 LOGIN PASSWORD '$PG_PASS_MD5'" \
	    "GRANT ALL ON SCHEMA public TO lr_scram, lr_md5, lr_pass, lr_trust"
}

_pg_end() {
	local sig=$1 pid=$_PG_PID end
	[ -n "$pid" ] || return 0
	if server_running "$pid"; then
		kill -"$sig" "$pid" 2> /dev/null || true
		kill -CONT "$pid" 2> /dev/null || true
		end=$(($(now_ms) + 5000))
		while server_running "$pid" && [ "$(now_ms)" -lt $end ]; do sleep 0.01; done
		if server_running "$pid"; then
			echo "postgres (pid $pid) ignored SIG$sig for 5s: SIGKILL" >&2
			kill -KILL "$pid" 2> /dev/null || true
			while server_running "$pid"; do sleep 0.01; done
		fi
	fi
	wait "$pid" 2> /dev/null || true
	echo "--- $(date '+%T.%N') stopped ($sig)" >> "$PG_LOG"
	_PG_PID=
}

# SIGINT: PostgreSQL's fast shutdown (SIGTERM waits for every session).
postgres_stop() { _pg_end INT; }
postgres_kill() { _pg_end KILL; }
postgres_pause() { kill -STOP "$_PG_PID"; }
postgres_resume() { kill -CONT "$_PG_PID"; }
# pg_pause_all / pg_resume_all: the postmaster and every backend (open
# connections stop answering too): a server that hangs.
pg_pause_all() { kill -STOP "$_PG_PID" $(pgrep -P "$_PG_PID"); }
pg_resume_all() { kill -CONT "$_PG_PID" $(pgrep -P "$_PG_PID"); }

postgres_teardown() {
	if [ -n "$_PG_PID" ] && [ -z "${BATS_TEST_COMPLETED:-}" ] &&
	    [ -n "${BATS_TEST_NAME:-}" ]; then
		echo "# postgres log tail ($PG_LOG):"
		tail -n 8 "$PG_LOG" 2> /dev/null | cut -c1-300
	fi
	postgres_stop 2> /dev/null || true
	# (A postmaster killed by SIGKILL leaves backends, which exit when
	# they notice: postgres_kill's callers restart or stop it again.)
	[ -z "${PG_DIR:-}" ] || rm -rf "$PG_DIR"
	return 0
}
