# Real Redis servers for the bats suite: load after helpers
#
#	load helpers
#	load redis
#	setup()    { lr_setup; }
#	teardown() { redis_teardown; lr_teardown; }
#
# Each test starts its own redis-server (~10-30 ms) on a free loopback port,
# without persistence unless the test asks (--save '' --appendonly no), with
# its working directory under $BATS_TEST_TMPDIR, and redis_teardown stops it
# by PID.  Call the start functions in the test's own shell (never through
# `run` or $(...)): they export variables, and the server dies with the
# shell that started it (setpriv --pdeathsig KILL), so nothing outlives the
# test.  Servers do not carry LRT_TAG, so kill_tagged leaves them alone.
#
#   need_redis            redis-server and redis-cli installed, or skip; with
#                         CI=true a missing one FAILS (names the packages
#                         redis-server and redis-tools)
#   redis_start [ARG...]  one server; ARG... are extra redis-server options
#                         (--requirepass pw, --appendonly yes, ...); exports
#                         REDIS_PID REDIS_PORT REDIS_URL (redis://127.0.0.1:
#                         PORT) REDIS_DIR REDIS_LOG.  With --requirepass PW
#                         the harness's own redis-cli calls use PW.
#   redis_stop / redis_kill   SIGTERM (+SIGCONT; SIGKILL after 5 s) / SIGKILL
#   redis_pause / redis_resume   SIGSTOP / SIGCONT
#   redis_restart         stop, then the same server again: same port, same
#                         options, same directory; returns once it answers
#   redis_teardown        stops every server and fake this test started
#   rcli ARG...           redis-cli against this test's server (5 s bound)
#   redis_calls CMD       calls of CMD so far (INFO commandstats), 0 if none
#   fake_redis_start MODE a tests/fake_redis.py server (garbage, hang, close,
#                         big, deep); exports FAKE_PID FAKE_PORT FAKE_URL
#                         FAKE_LOG

: "${REDIS_SERVER_BIN:=redis-server}"
: "${REDIS_CLI_BIN:=redis-cli}"

_REDIS_PID= _REDIS_ARGS=() _REDIS_PASS= _FAKE_REDIS_PIDS=()

# CI or not, ports, spawning and waiting: tests/server.bash (and ci.bash).
source "${BASH_SOURCE[0]%/*}/server.bash"

# need_redis: redis-server and redis-cli are there; else skip, or fail in CI.
need_redis() {
	local miss=
	command -v "$REDIS_SERVER_BIN" > /dev/null 2>&1 || miss+=" $REDIS_SERVER_BIN (package redis-server)"
	command -v "$REDIS_CLI_BIN" > /dev/null 2>&1 || miss+=" $REDIS_CLI_BIN (package redis-tools)"
	[ -z "$miss" ] && return 0
	unmet "redis-server not installed (apt-get install redis-server redis-tools)"
}

rcli() {
	if [ -n "$_REDIS_PASS" ]; then
		REDISCLI_AUTH=$_REDIS_PASS timeout 5 "$REDIS_CLI_BIN" -p "$REDIS_PORT" "$@"
	else
		timeout 5 "$REDIS_CLI_BIN" -p "$REDIS_PORT" "$@"
	fi
}

_redis_launch() {
	mkdir -p "$REDIS_DIR"
	echo "--- $(date '+%T.%N') start" >> "$REDIS_LOG"
	server_spawn "$REDIS_LOG" "$REDIS_SERVER_BIN" --port "$REDIS_PORT" \
	    --bind 127.0.0.1 --save '' --appendonly no --dir "$REDIS_DIR" \
	    --daemonize no --logfile '' "${_REDIS_ARGS[@]}"
	_REDIS_PID=$_SPAWNED
	export REDIS_PID=$_REDIS_PID
}

# _redis_wait_ready: 0 once it answers PING, 1 timed out, 2 it exited.
_redis_pong() { [ "$(rcli ping 2> /dev/null)" = PONG ]; }
_redis_wait_ready() { server_wait 10 "$_REDIS_PID" _redis_pong; }

redis_start() {
	need_redis || return 1
	local try rc i
	[ -z "$_REDIS_PID" ] || redis_stop
	_REDIS_ARGS=("$@")
	_REDIS_PASS=
	for ((i = 0; i < $#; i++)); do
		[ "${_REDIS_ARGS[$i]}" != --requirepass ] || _REDIS_PASS=${_REDIS_ARGS[$((i + 1))]}
	done
	export REDIS_DIR=$(server_tmp)/redis.data REDIS_LOG=$(server_tmp)/redis.log
	for try in 1 2 3 4 5; do
		export REDIS_PORT=$(free_ports 1)
		export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
		_redis_launch
		rc=0
		_redis_wait_ready || rc=$?
		[ $rc = 0 ] && return 0
		if [ $rc = 2 ] && grep -q 'Address already in use' "$REDIS_LOG"; then
			echo "redis_start: port $REDIS_PORT was taken (attempt $try), retrying" >&2
			redis_stop
			continue
		fi
		echo "redis-server did not come up on port $REDIS_PORT; log:" >&2
		tail -n 15 "$REDIS_LOG" >&2
		redis_stop
		return 1
	done
	echo "redis_start: no free port after 5 attempts" >&2
	return 1
}

_redis_end() {
	local sig=$1 pid=$_REDIS_PID end
	[ -n "$pid" ] || return 0
	if server_running "$pid"; then
		kill -"$sig" "$pid" 2> /dev/null || true
		kill -CONT "$pid" 2> /dev/null || true
		end=$(($(now_ms) + 5000))
		while server_running "$pid" && [ "$(now_ms)" -lt $end ]; do sleep 0.01; done
		if server_running "$pid"; then
			echo "redis-server (pid $pid) ignored SIG$sig for 5s: SIGKILL" >&2
			kill -KILL "$pid" 2> /dev/null || true
			while server_running "$pid"; do sleep 0.01; done
		fi
	fi
	wait "$pid" 2> /dev/null || true
	echo "--- $(date '+%T.%N') stopped ($sig)" >> "$REDIS_LOG"
	_REDIS_PID=
}

redis_stop() { _redis_end TERM; }
redis_kill() { _redis_end KILL; }
redis_pause() { kill -STOP "$_REDIS_PID"; }
redis_resume() { kill -CONT "$_REDIS_PID"; }

redis_restart() {
	local rc=0
	redis_stop
	_redis_launch
	_redis_wait_ready || rc=$?
	if [ $rc != 0 ]; then
		echo "redis-server did not come back on port $REDIS_PORT; log:" >&2
		tail -n 15 "$REDIS_LOG" >&2
		return 1
	fi
}

# redis_calls CMD: how many times CMD (lower case: eval, subscribe, ...) ran.
redis_calls() {
	rcli info commandstats | tr -d '\r' |
	    sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | grep . || echo 0
}

# bgr NAME ARG...: bg (helpers.bash) on this test's Redis.
bgr() {
	local n=$1
	shift
	env --default-signal=INT,QUIT "$LEADERRUN" -S "$REDIS_URL" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

# fake_redis_start MODE: tests/fake_redis.py MODE on a free port.
fake_redis_start() {
	command -v python3 > /dev/null 2>&1 ||
	    unmet "python3 not installed (apt-get install python3)" || return
	local f end
	f=$(server_tmp)/fake-$1.$RANDOM.port
	export FAKE_LOG=${f%.port}.log
	server_spawn "$FAKE_LOG" python3 "$BATS_TEST_DIRNAME/fake_redis.py" "$1" "$f"
	export FAKE_PID=$_SPAWNED
	_FAKE_REDIS_PIDS+=("$FAKE_PID")
	end=$(($(now_ms) + 5000))
	until [ -s "$f" ]; do
		if ! server_running "$FAKE_PID" || [ "$(now_ms)" -ge $end ]; then
			echo "fake_redis_start: no port from fake_redis.py $1:" >&2
			cat "$FAKE_LOG" >&2
			return 1
		fi
		sleep 0.01
	done
	export FAKE_PORT=$(cat "$f")
	export FAKE_URL=redis://127.0.0.1:$FAKE_PORT
}

redis_teardown() {
	local p
	for p in "${_FAKE_REDIS_PIDS[@]}"; do
		kill -KILL "$p" 2> /dev/null || true
		wait "$p" 2> /dev/null || true
	done
	_FAKE_REDIS_PIDS=()
	if [ -n "$_REDIS_PID" ] && [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "# redis-server log tail ($REDIS_LOG):"
		tail -n 8 "$REDIS_LOG" 2> /dev/null | cut -c1-300
	fi
	redis_stop 2> /dev/null || true
	return 0
}
