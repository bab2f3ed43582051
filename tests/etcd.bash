# Real etcd servers for the bats suite: load after helpers
#
#	load helpers
#	load etcd
#	setup()    { lr_setup; }
#	teardown() { lr_teardown; etcd_teardown; }
#
# Each test starts its own servers (one member answers 0.1-0.25 s after the
# start on an idle 2-CPU machine, 0.25-0.45 s at load 16; three members
# 0.5-0.6 s) on free loopback ports, with data under $BATS_TEST_TMPDIR (or
# $BATS_FILE_TMPDIR when called from setup_file), and etcd_teardown stops all
# of them by PID.  Call the start functions in the test's own shell (in a
# test, setup or setup_file; never through `run` or $(...)): they export
# variables, and every server dies with the shell that started it (it runs
# under setpriv --pdeathsig KILL), so nothing outlives the test, even when
# bats itself is killed.  Servers do not carry LRT_TAG: kill_tagged and the
# "nothing left" checks of helpers.bash do not see them.
#
#   need_etcd          etcd and etcdctl installed, or skip; with CI=true a
#                      missing binary FAILS (names the package etcd-server)
#   etcd_start [NAME]  one member; exports ETCD_PID ETCD_EP (127.0.0.1:PORT)
#                      ETCD_URL (etcd://127.0.0.1:PORT) ETCD_DATA ETCD_LOG
#                      ETCD_PORT.  Member index 0.
#   etcd_cluster3      three members m1 m2 m3 (indexes 1 2 3), returns once
#                      each of them answers a linearizable read (so there is a
#                      raft leader); exports ETCD_EP1..3 ETCD_PID1..3
#                      ETCD_DATA1..3 ETCD_LOG1..3, ETCD_EPS (ep1,ep2,ep3),
#                      ETCD_URL (etcd://ep1,ep2,ep3), ETCD_EP (= ETCD_EPS, for
#                      etcdctl_) and ETCD_PID (= ETCD_PID1)
#   etcd_stop [I]      SIGTERM (+SIGCONT), SIGKILL after 5 s; reaps it
#   etcd_kill [I]      SIGKILL at once; reaps it
#   etcd_pause [I] / etcd_resume [I]   SIGSTOP / SIGCONT
#   etcd_restart [I]   etcd_stop, then the same member again: same ports, same
#                      data dir; returns once it answers (a cluster member:
#                      once it answers with a leader)
#   etcd_teardown      stops every server and fake server this test started
#                      (SIGCONT first); call it from teardown (before or
#                      after lr_teardown).  On a failed test it prints the
#                      tails of the etcd logs.
#   etcd_leader        prints the index (1..3) of the cluster's raft leader
#   etcdctl_ ARG...    etcdctl (API 3) against $ETCD_EP
#   etcd_metric NAME [EP]   prints the value of a Prometheus counter/gauge on
#                      EP's /metrics (default: the first of $ETCD_EP), summed
#                      over its labels, as an integer; fails if absent
#   etcd_http EP PATH [BODY]  one HTTP/1.0 request (POST with BODY, else GET),
#                      prints the raw response (status line, headers, body)
#   fake_server_start MODE [CONNS] [SECONDS]  tests/fake_server.py MODE on a
#                      free port; exports FAKE_PID FAKE_PORT FAKE_EP FAKE_URL
#                      FAKE_LOG (one "conn N ..." line per connection)
#
# Variants (set them in the test before a start function; tests/secure.bash
# sets them for TLS):
#   ETCD_ARGS=(...)    more etcd flags for every member (--auth-token-ttl 1)
#   ETCD_SCHEME=https  the scheme of the client URLs (default http)
#   ETCD_READY=FUNC    FUNC EP succeeds once member EP serves (default: a
#                      linearizable read over plain HTTP)
#
# Timing.  Members run with --heartbeat-interval $ETCD_HEARTBEAT_MS (25) and
# --election-timeout $ETCD_ELECTION_MS (250): a 3-member cluster elects a new
# leader within ~0.5 s of losing one, and a single member is ready in ~0.1 s
# (the defaults 100/1000 take ~0.75 s).
#
# Minimum lease TTL.  etcd 3.4 (etcdserver/server.go) grants
# max(requested, minTTL) with minTTL = ceil(((3 * electionTicks) / 2) *
# heartbeat) seconds, electionTicks = election-timeout / heartbeat (integer
# divisions).  Defaults: 10 ticks -> 15 * 100 ms = 1.5 s -> 2 s (WIRE.md).
# Here: 10 ticks -> 15 * 25 ms = 375 ms -> 1 s.  Measured on 3.4.23 with
# 25/250, 10/100, 50/500 and 100/700: "TTL":0 and "TTL":1 are granted as 1,
# 2 as 2, 3 as 3; with the defaults, 0/1/2 are granted as 2.  So with this
# harness a lease of -t 1s gets TTL 1 (ETCD_MIN_TTL below); the minimum stays
# 1 s as long as 1.5 * election-timeout <= 1 s (about 666 ms).
#
# Ports.  python3 binds port 0 on 127.0.0.1 for all the ports a start needs
# at once (so they are distinct), closes them and hands them to etcd; if
# another process takes one in between, etcd fails with "address already in
# use" and the start is retried with new ports (5 attempts).  Without
# python3, random ports in 20000-59999, same retry.  No fixed ports, so test
# files may run in parallel (bats --jobs).

: "${ETCD_BIN:=etcd}"
: "${ETCDCTL_BIN:=etcdctl}"
: "${ETCD_HEARTBEAT_MS:=25}"
: "${ETCD_ELECTION_MS:=250}"
: "${ETCD_START_TIMEOUT:=15}" # seconds, per attempt
# python3 for the port picker and the fake server: the system one first (a
# pyenv shim first on PATH costs ~0.1 s per start, seconds on a busy machine).
if [ -z "${ETCD_PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then ETCD_PYTHON=/usr/bin/python3; else ETCD_PYTHON=python3; fi
fi
ETCD_MIN_TTL=1

# Per-member state, by index (0: etcd_start; 1-3: etcd_cluster3).
_ETCD_NAME=() _ETCD_CPORT=() _ETCD_PPORT=() _ETCD_DIR=() _ETCD_LOGF=()
_ETCD_PIDS=() _ETCD_INIT=() _ETCD_TOKEN=()
_FAKE_PIDS=()

# CI or not, ports, spawning and waiting: tests/server.bash (and ci.bash).
source "${BASH_SOURCE[0]%/*}/server.bash"

# need_etcd: etcd and etcdctl are there; else skip, or fail in CI.
need_etcd() {
	local miss=
	command -v "$ETCD_BIN" > /dev/null 2>&1 || miss+=" $ETCD_BIN (package etcd-server)"
	command -v "$ETCDCTL_BIN" > /dev/null 2>&1 || miss+=" $ETCDCTL_BIN (package etcd-client)"
	[ -z "$miss" ] && return 0
	unmet "etcd not installed (apt-get install etcd-server etcd-client)"
}

# need_python3: for the fake server; skip, or fail in CI.
need_python3() {
	command -v "$ETCD_PYTHON" > /dev/null 2>&1 && return 0
	unmet "python3 not installed (apt-get install python3)"
}

# _etcd_ours PID DIR: PID runs with DIR in its command line (guards against a
# reused pid).
_etcd_ours() {
	server_running "$1" &&
	    tr '\0' '\n' < "/proc/$1/cmdline" 2> /dev/null | grep -qxF -- "$2"
}

# _etcd_launch I: start member I as configured in the arrays.
_etcd_launch() {
	local i=$1 c=${_ETCD_CPORT[$1]} p=${_ETCD_PPORT[$1]}
	mkdir -p "${_ETCD_DIR[$i]}"
	echo "--- $(date '+%T.%N') start" >> "${_ETCD_LOGF[$i]}"
	server_spawn "${_ETCD_LOGF[$i]}" "$ETCD_BIN" --name "${_ETCD_NAME[$i]}" \
	    --data-dir "${_ETCD_DIR[$i]}" \
	    --listen-client-urls "${ETCD_SCHEME:-http}://127.0.0.1:$c" \
	    --advertise-client-urls "${ETCD_SCHEME:-http}://127.0.0.1:$c" \
	    --listen-peer-urls "http://127.0.0.1:$p" \
	    --initial-advertise-peer-urls "http://127.0.0.1:$p" \
	    --initial-cluster "${_ETCD_INIT[$i]}" \
	    --initial-cluster-token "${_ETCD_TOKEN[$i]}" \
	    --heartbeat-interval "$ETCD_HEARTBEAT_MS" \
	    --election-timeout "$ETCD_ELECTION_MS" \
	    --logger zap --log-outputs stderr ${ETCD_ARGS[@]+"${ETCD_ARGS[@]}"}
	_ETCD_PIDS[$i]=$_SPAWNED
	echo "$_SPAWNED ${_ETCD_DIR[$i]}" >> "$(server_tmp)/etcd.pids"
}

# etcd_http EP PATH [BODY]: one HTTP/1.0 request, raw response on stdout.
# Bounded by ETCD_HTTP_TIMEOUT seconds (2).  Never half-closes (WIRE.md 1.1).
etcd_http() {
	LC_ALL=C timeout "${ETCD_HTTP_TIMEOUT:-2}" bash -c '
		exec 3<> "/dev/tcp/${1%:*}/${1##*:}" || exit 1
		if [ $# -ge 3 ]; then
			printf "POST %s HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" \
			    "$2" "${#3}" "$3" >&3
		else
			printf "GET %s HTTP/1.0\r\n\r\n" "$2" >&3
		fi
		cat <&3' etcd_http "$@" 2> /dev/null
}

# _etcd_answers EP: EP serves a linearizable read (so it has a leader).
_etcd_answers() {
	local r
	r=$(ETCD_HTTP_TIMEOUT=1 etcd_http "$1" /v3/kv/range '{"key":"AA=="}') || return 1
	[[ "$r" == "HTTP/1."?" 200 "* ]]
}

# _etcd_wait_ready SECONDS I...: wait until members I... all answer.
# 0 ready, 1 timed out, 2 one of them exited (its log says why).
_etcd_wait_ready() {
	local end=$(($(now_ms) + $1 * 1000)) i ok
	shift
	while :; do
		ok=1
		for i in "$@"; do
			server_running "${_ETCD_PIDS[$i]}" || return 2
			"${ETCD_READY:-_etcd_answers}" "127.0.0.1:${_ETCD_CPORT[$i]}" ||
			    { ok=0; break; }
		done
		[ $ok = 1 ] && return 0
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.01
	done
}

# _etcd_bind_failed I: member I's log says a port was taken.
_etcd_bind_failed() { grep -q 'address already in use' "${_ETCD_LOGF[$1]}" 2> /dev/null; }

# _etcd_fail_start I...: report a start failure with the logs' tails.
_etcd_fail_start() {
	local i
	for i in "$@"; do
		echo "etcd member ${_ETCD_NAME[$i]} (pid ${_ETCD_PIDS[$i]}," \
		    "client port ${_ETCD_CPORT[$i]}) did not come up; log ${_ETCD_LOGF[$i]}:" >&2
		tail -n 15 "${_ETCD_LOGF[$i]}" >&2
	done
}

_etcd_export_one() {
	export ETCD_PID=${_ETCD_PIDS[0]} ETCD_PORT=${_ETCD_CPORT[0]}
	export ETCD_EP=127.0.0.1:${_ETCD_CPORT[0]}
	export ETCD_URL=etcd://$ETCD_EP ETCD_DATA=${_ETCD_DIR[0]} ETCD_LOG=${_ETCD_LOGF[0]}
}

# etcd_start [NAME]: one etcd member on free loopback ports.
etcd_start() {
	need_etcd || return 1
	local name=${1:-etcd} try ports rc base
	base=$(server_tmp)
	[ -z "${_ETCD_PIDS[0]:-}" ] || etcd_stop 0
	for try in 1 2 3 4 5; do
		ports=($(free_ports 2))
		_ETCD_NAME[0]=$name
		_ETCD_CPORT[0]=${ports[0]}
		_ETCD_PPORT[0]=${ports[1]}
		_ETCD_DIR[0]=$base/etcd-$name.data
		_ETCD_LOGF[0]=$base/etcd-$name.log
		_ETCD_INIT[0]=$name=http://127.0.0.1:${ports[1]}
		_ETCD_TOKEN[0]=lrt-${ports[0]}
		rm -rf "${_ETCD_DIR[0]}"
		_etcd_launch 0
		rc=0
		_etcd_wait_ready "$ETCD_START_TIMEOUT" 0 || rc=$?
		if [ $rc = 0 ]; then
			_etcd_export_one
			return 0
		fi
		if [ $rc = 2 ] && _etcd_bind_failed 0; then
			echo "etcd_start: a port was taken (attempt $try), retrying" >&2
			etcd_stop 0
			mv "${_ETCD_LOGF[0]}" "${_ETCD_LOGF[0]}.$try"
			continue
		fi
		_etcd_fail_start 0
		etcd_stop 0
		return 1
	done
	echo "etcd_start: no free ports after 5 attempts" >&2
	return 1
}

# etcd_cluster3: a three-member cluster on free loopback ports.
etcd_cluster3() {
	need_etcd || return 1
	local try ports rc i init base
	base=$(server_tmp)
	for i in 1 2 3; do [ -z "${_ETCD_PIDS[$i]:-}" ] || etcd_stop $i; done
	for try in 1 2 3 4 5; do
		ports=($(free_ports 6))
		init=
		for i in 1 2 3; do
			init+=${init:+,}m$i=http://127.0.0.1:${ports[2 * i - 1]}
		done
		for i in 1 2 3; do
			_ETCD_NAME[$i]=m$i
			_ETCD_CPORT[$i]=${ports[2 * i - 2]}
			_ETCD_PPORT[$i]=${ports[2 * i - 1]}
			_ETCD_DIR[$i]=$base/etcd-m$i.data
			_ETCD_LOGF[$i]=$base/etcd-m$i.log
			_ETCD_INIT[$i]=$init
			_ETCD_TOKEN[$i]=lrt-${ports[0]}
			rm -rf "${_ETCD_DIR[$i]}"
		done
		for i in 1 2 3; do _etcd_launch $i; done
		rc=0
		_etcd_wait_ready "$ETCD_START_TIMEOUT" 1 2 3 || rc=$?
		if [ $rc = 0 ]; then
			_etcd_export_cluster
			return 0
		fi
		if [ $rc = 2 ] && { _etcd_bind_failed 1 || _etcd_bind_failed 2 || _etcd_bind_failed 3; }; then
			echo "etcd_cluster3: a port was taken (attempt $try), retrying" >&2
			for i in 1 2 3; do
				etcd_stop $i
				mv "${_ETCD_LOGF[$i]}" "${_ETCD_LOGF[$i]}.$try"
			done
			continue
		fi
		_etcd_fail_start 1 2 3
		for i in 1 2 3; do etcd_stop $i; done
		return 1
	done
	echo "etcd_cluster3: no free ports after 5 attempts" >&2
	return 1
}

_etcd_export_cluster() {
	local i
	for i in 1 2 3; do
		export "ETCD_PID$i=${_ETCD_PIDS[$i]}" "ETCD_EP$i=127.0.0.1:${_ETCD_CPORT[$i]}"
		export "ETCD_DATA$i=${_ETCD_DIR[$i]}" "ETCD_LOG$i=${_ETCD_LOGF[$i]}"
	done
	export ETCD_EPS=$ETCD_EP1,$ETCD_EP2,$ETCD_EP3
	export ETCD_EP=$ETCD_EPS ETCD_URL=etcd://$ETCD_EPS ETCD_PID=$ETCD_PID1
}

# etcd_stop [I]: stop member I (default 0) by its pid: SIGTERM (and SIGCONT,
# should it be stopped), SIGKILL after 5 s; reap it.
etcd_stop() { _etcd_end "${1:-0}" TERM; }

# etcd_kill [I]: SIGKILL member I (default 0) at once; reap it.
etcd_kill() { _etcd_end "${1:-0}" KILL; }

_etcd_end() {
	local i=$1 sig=$2 pid=${_ETCD_PIDS[$1]:-} end
	[ -n "$pid" ] || return 0
	if _etcd_ours "$pid" "${_ETCD_DIR[$i]}"; then
		kill -"$sig" "$pid" 2> /dev/null || true
		kill -CONT "$pid" 2> /dev/null || true
		end=$(($(now_ms) + 5000))
		while server_running "$pid" && [ "$(now_ms)" -lt $end ]; do sleep 0.01; done
		if server_running "$pid"; then
			echo "etcd member ${_ETCD_NAME[$i]} (pid $pid) ignored SIGTERM for 5s: SIGKILL" >&2
			kill -KILL "$pid" 2> /dev/null || true
			end=$(($(now_ms) + 5000))
			while server_running "$pid" && [ "$(now_ms)" -lt $end ]; do sleep 0.01; done
		fi
	fi
	# Reap it if it is our child; never block on a live one.
	server_running "$pid" || wait "$pid" 2> /dev/null || true
	echo "--- $(date '+%T.%N') stopped ($sig)" >> "${_ETCD_LOGF[$i]}"
	_ETCD_PIDS[$i]=
}

# etcd_pause [I] / etcd_resume [I]: SIGSTOP / SIGCONT member I (default 0).
etcd_pause() { kill -STOP "${_ETCD_PIDS[${1:-0}]}"; }
etcd_resume() { kill -CONT "${_ETCD_PIDS[${1:-0}]}"; }

# etcd_restart [I]: stop member I (default 0) and start it again with the
# same ports and data dir; wait until it answers.
etcd_restart() {
	local i=${1:-0} rc=0
	etcd_stop "$i"
	_etcd_launch "$i"
	_etcd_wait_ready "$ETCD_START_TIMEOUT" "$i" || rc=$?
	if [ $rc != 0 ]; then
		_etcd_fail_start "$i"
		return 1
	fi
	if [ "$i" = 0 ]; then
		_etcd_export_one
	else
		export "ETCD_PID$i=${_ETCD_PIDS[$i]}"
		[ "$i" != 1 ] || export ETCD_PID=$ETCD_PID1
	fi
}

# etcd_leader: the index (1..3) of the cluster's raft leader.
etcd_leader() {
	local i
	for i in 1 2 3; do
		server_running "${_ETCD_PIDS[$i]:-}" || continue
		if [ "$(etcd_metric etcd_server_is_leader "127.0.0.1:${_ETCD_CPORT[$i]}" 2> /dev/null)" = 1 ]; then
			echo $i
			return 0
		fi
	done
	echo "etcd_leader: no member is the raft leader" >&2
	return 1
}

# etcdctl_ ARG...: etcdctl against this test's etcd.
etcdctl_() { ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints "$ETCD_EP" "$@"; }

# etcd_metric NAME [EP]: the value of metric NAME (summed over its labels).
etcd_metric() {
	local ep=${2:-${ETCD_EP%%,*}}
	etcd_http "$ep" /metrics | tr -d '\r' | awk -v n="$1" '
		$1 == n || index($1, n "{") == 1 { s += $NF; f = 1 }
		END { if (!f) exit 1; printf "%.0f\n", s }'
}

# fake_server_start MODE [CONNS] [SECONDS]: tests/fake_server.py MODE on a
# free loopback port; it exits after CONNS connections (20) or SECONDS (30).
fake_server_start() {
	need_python3 || return 1
	local mode=$1 n=${2:-20} t=${3:-30} base f t0
	base=$(server_tmp)
	f=$base/fake-$mode.$$.$RANDOM.port
	export FAKE_LOG=${f%.port}.log
	server_spawn "$FAKE_LOG" "$ETCD_PYTHON" "$BATS_TEST_DIRNAME/fake_server.py" \
	    "$mode" "$f" "$n" "$t"
	export FAKE_PID=$_SPAWNED
	_FAKE_PIDS+=("$FAKE_PID")
	t0=$(now_ms)
	until [ -s "$f" ]; do
		if ! server_running "$FAKE_PID" || [ $(($(now_ms) - t0)) -ge 10000 ]; then
			echo "fake_server_start: no port from fake_server.py $mode" \
			    "(pid $FAKE_PID, $(($(now_ms) - t0))ms," \
			    "$(server_running "$FAKE_PID" && echo running || echo ended)); its log:" >&2
			cat "$FAKE_LOG" >&2
			return 1
		fi
		sleep 0.01
	done
	export FAKE_PORT=$(cat "$f")
	export FAKE_EP=127.0.0.1:$FAKE_PORT FAKE_URL=etcd://127.0.0.1:$FAKE_PORT
}

# etcd_teardown: stop every server this test started; never fails.
etcd_teardown() {
	local i p dir failed=
	[ -n "${BATS_TEST_COMPLETED:-}" ] || failed=1
	for p in "${_FAKE_PIDS[@]}"; do
		kill -KILL "$p" 2> /dev/null || true
		server_running "$p" || wait "$p" 2> /dev/null || true
	done
	_FAKE_PIDS=()
	for i in "${!_ETCD_PIDS[@]}"; do
		[ -n "${_ETCD_PIDS[$i]}" ] || continue
		if [ -n "$failed" ]; then
			echo "# etcd member ${_ETCD_NAME[$i]} log tail (${_ETCD_LOGF[$i]}):"
			tail -n 8 "${_ETCD_LOGF[$i]}" 2> /dev/null | cut -c1-300
		fi
		etcd_stop "$i" 2> /dev/null || true
	done
	# Anything started where the arrays did not see it (a subshell).
	if [ -f "$(server_tmp)/etcd.pids" ]; then
		while read -r p dir; do
			if _etcd_ours "$p" "$dir"; then
				kill -KILL "$p" 2> /dev/null || true
				kill -CONT "$p" 2> /dev/null || true
			fi
		done < "$(server_tmp)/etcd.pids"
	fi
	return 0
}

# ---- shared by 50-etcd.bats and 51-etcd-faults.bats -----------------------

# lre ARG...: leaderrun on this test's etcd.
lre() { "$LEADERRUN" -S "$ETCD_URL" "$@"; }

# bge NAME ARG...: bg (helpers.bash) on this test's etcd.
bge() {
	local n=$1
	shift
	env --default-signal=INT,QUIT "$LEADERRUN" -S "$ETCD_URL" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

# keys [NAME] [PREFIX]: the contenders' keys PREFIX/NAME/..., oldest first.
keys() {
	etcdctl_ get --prefix "${2:-leaderrun}/${1:-t}/" --sort-by=CREATE \
	    --order=ASCEND --keys-only | sed '/^$/d'
}

# holder_key [NAME] [PREFIX]: the key with the lowest create_revision.
holder_key() { keys "$@" | head -n 1; }

# efield FIELD [NAME] [PREFIX]: line FIELD=... of the holder key's value.
efield() {
	local k
	k=$(holder_key "${2:-t}" "${3:-leaderrun}")
	[ -n "$k" ] || return 0
	etcdctl_ get "$k" --print-value-only | sed -n "s/^$1=//p"
}

# knum KEY FIELD: a number (create_revision, mod_revision, lease) of KEY.
knum() {
	etcdctl_ get "$1" -w json | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2
}

# nkeys [NAME]: how many contenders' keys lease NAME has.
nkeys() { keys "$@" | wc -l; }

# has_nkeys N: exactly N queue keys now (for wait_until, which must run the
# count each time: "wait_until S test "$(nkeys)" = N" counts only once).
has_nkeys() { [ "$(nkeys)" = "$1" ]; }

# nleases [ETCDCTL]: how many leases hold a key.  A clean end leaves its
# lease, bound to nothing, to run out by itself: not counted.  ETCDCTL:
# the etcdctl function to ask with (etcdctl_).
nleases() {
	local ctl=${1:-etcdctl_} id n=0
	for id in $($ctl lease list | sed 1d); do
		$ctl lease timetolive --keys "$id" |
		    grep -q 'attached keys(\[[^]]' && n=$((n + 1))
	done
	echo "$n"
}

# granted_ttl HEX: the TTL etcd granted lease HEX, in seconds.
granted_ttl() {
	etcdctl_ lease timetolive "$1" | sed -n 's/.*granted with TTL(\([0-9]*\)s).*/\1/p'
}

# lead_hold NAME ARG...: contender NAME (bge) on lease t running HOLD with
# READY=$OUT/NAME.ready GO=$OUT/NAME.go; returns once its command runs.
lead_hold() {
	local n=$1
	shift
	bge "$n" -l t "$@" -- "${HOLD[@]}" "$OUT/$n.ready" "$OUT/$n.go"
	wait_for "$OUT/$n.ready" 10
}

# no_leftovers: etcd holds no key of ours but PREFIX/NAME.ended (the last
# clean end of NAME, kept on purpose), and no lease of ours.
no_leftovers() {
	[ "$(etcdctl_ get --prefix leaderrun/ --keys-only | sed '/^$/d' |
	    grep -cv '\.ended$')" = 0 ] &&
	    [ "$(nleases)" = 0 ]
}

# used_etcd: this etcd granted leases (so leaderrun really ran on it).
used_etcd() {
	local n
	n=$(etcd_metric etcd_debugging_lease_granted_total)
	echo "etcd granted $n leases"
	[ "$n" -gt 0 ]
}

# one_line_error: $stderr (run --separate-stderr) is one "leaderrun: " line,
# plus at most the --help hint (as for every bad option, see 04-bad-input).
one_line_error() {
	printf 'stderr: %s\n' "${stderr_lines[@]}"
	[[ "${stderr_lines[0]}" == "leaderrun: "* ]]
	case ${#stderr_lines[@]} in
	1) ;;
	2) [ "${stderr_lines[1]}" = "Try 'leaderrun --help' for more information." ] ;;
	*) false ;;
	esac
}
