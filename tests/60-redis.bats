#!/usr/bin/env bats
# The Redis store (issue 9): -S redis://[USER@]HOST:PORT[/DB], on a real
# redis-server that each test starts (tests/redis.bash, no persistence) and
# on hostile fakes (tests/fake_redis.py).  Redis TTLs are milliseconds, so
# the leases here are: -t 400ms (retry 80ms, renew-deadline 200ms,
# kill-after 120ms) unless a test needs room.
load helpers
load redis

setup() { lr_setup; }
teardown() {
	lr_teardown
	redis_teardown
}

LOCK='leaderrun:{t}:lock'
# A ThreadSanitizer build needs ~1.2 s from its command's death to its own
# exit (1355 ms against 5 ms plain, measured); upper bounds allow for it.
SAN_MS=0
[ -z "${LEADERRUN_SANITIZED:-}" ] || SAN_MS=1500
FENCE='leaderrun:{t}:fence'

# lrr ARG...: leaderrun on this test's Redis.
lrr() { "$LEADERRUN" -S "$REDIS_URL" "$@"; }


# lead_hold NAME ARG...: contender NAME on lease t running HOLD with
# READY=$OUT/NAME.ready GO=$OUT/NAME.go; returns once its command runs.
lead_hold() {
	local n=$1
	shift
	bgr "$n" -l t "$@" -- "${HOLD[@]}" "$OUT/$n.ready" "$OUT/$n.go"
	wait_for "$OUT/$n.ready" 10
}

# rfield FIELD [NAME]: line FIELD=... of the lock key's value.
rfield() { rcli get "leaderrun:{${2:-t}}:lock" | sed -n "s/^$1=//p"; }

# gone [NAME]: the lock key of NAME does not exist.
gone() { [ "$(rcli exists "leaderrun:{${1:-t}}:lock")" = 0 ]; }

one_line_error() {
	printf 'stderr: %s\n' "${stderr_lines[@]}"
	[[ "${stderr_lines[0]}" == "leaderrun: "* ]]
	case ${#stderr_lines[@]} in
	1) ;;
	2) [ "${stderr_lines[1]}" = "Try 'leaderrun --help' for more information." ] ;;
	*) false ;;
	esac
}

# ---- the harness -------------------------------------------------------------

@test "harness: with CI=true a missing redis-server fails the test and names redis-server; else it skips" {
	mkdir "$OUT/empty"
	probe='skip() { echo "SKIPPED: $*"; exit 0; }
		source "$1/redis.bash"; need_redis; echo "need_redis returned $?"'
	run -0 env CI=true PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
	echo "$output"
	[[ "$output" == *redis-server* ]]
	[[ "$output" == *"need_redis returned 1" ]]
	[[ "$output" != *SKIPPED* ]]
	run -0 env -u CI PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
	[[ "$output" == "SKIPPED: "*redis-server* ]]
}

@test "harness: redis_start answers on a free port, redis_restart keeps the port and loses the data, redis_stop ends it" {
	t0=$(now_ms)
	redis_start
	echo "redis up in $(elapsed_ms "$t0")ms at $REDIS_URL (pid $REDIS_PID)"
	[[ "$REDIS_URL" =~ ^redis://127\.0\.0\.1:[0-9]+$ ]]
	rcli set probe one
	[ "$(rcli get probe)" = one ]
	old=$REDIS_PID
	redis_restart
	[ "$REDIS_PID" != "$old" ]
	[ -z "$(rcli get probe)" ]
	redis_pause
	run timeout 1 redis-cli -p "$REDIS_PORT" ping
	[ "$status" = 124 ]
	redis_resume
	p=$REDIS_PID
	redis_pause
	redis_stop
	dead "$p"
}

# ---- the store -----------------------------------------------------------

@test "-S redis://: the command runs, its status passes through, the lock key is gone after" {
	redis_start
	run -7 lrr -l t -- sh -c 'echo "ran $LEADERRUN_NAME"; exit 7'
	[ "$output" = "ran t" ]
	gone
	run -0 "$LEADERRUN" --store "$REDIS_URL" -l t -- true
	run -0 "$LEADERRUN" --store="$REDIS_URL" -l t -- true
	gone
	[ "$(rcli get "$FENCE")" = 3 ]
}

@test "keys leaderrun:{NAME}:lock and :fence; the value is a token line and the holder's; LEADERRUN_TERM is the fence" {
	redis_start
	rcli set "$FENCE" 41
	bgr a -l t -i node-a -t 2s -- sh -c '
		echo "$LEADERRUN_TERM" > "$1.tmp"; mv "$1.tmp" "$1"; echo $$ > "$2"
		until [ -e "$3" ]; do sleep 0.01; done' sh "$OUT/term" "$OUT/cmd.pid" "$OUT/go"
	wait_for "$OUT/term" 10
	rcli get "$LOCK"
	[ "$(cat "$OUT/term")" = 42 ]
	[ "$(rcli get "$FENCE")" = 42 ]
	[[ "$(rcli get "$LOCK" | head -n 1)" =~ ^token=$(pid_of a):[0-9a-f]{16}$ ]]
	[ "$(rfield holder)" = node-a ]
	[ "$(rfield host)" = "$(hostname)" ]
	[ "$(rfield pid)" = "$(pid_of a)" ]
	[ "$(rfield sys)" = "$(sys_id)" ]
	[ "$(rfield lease_ms)" = 2000 ]
	wait_until 3 eval '[ "$(rfield job)" = "$(cat "$OUT/cmd.pid")" ]'
	ttl=$(rcli pttl "$LOCK")
	echo "pttl $ttl"
	[ "$ttl" -gt 1000 ] && [ "$ttl" -le 2000 ]
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
	gone
	[ "$(rcli exists "$FENCE")" = 1 ]
}

@test "-t 400ms: the key's PTTL is milliseconds; a leader that stops renewing loses the key at its TTL" {
	redis_start
	lead_hold a "${FAST[@]}"
	ttl=$(rcli pttl "$LOCK")
	echo "pttl $ttl"
	[ "$ttl" -gt 0 ] && [ "$ttl" -le 400 ]
	kill -STOP "$(pid_of a)"
	t0=$(now_ms)
	wait_until 3 gone
	took=$(elapsed_ms "$t0")
	echo "key gone ${took}ms after the supervisor stopped (lease 400ms)"
	[ "$took" -le 700 ]
	kill -CONT "$(pid_of a)"
	wait_exit a
	[ "$STATUS" = 124 ]
}

@test "-l: names are independent leases; LEADERRUN_NAME is the name" {
	redis_start
	lead_hold a "${FAST[@]}"
	run -0 lrr -l two -n "${FAST[@]}" -- sh -c 'echo "$LEADERRUN_NAME"'
	[ "$output" = two ]
	run -75 lrr -l t -n "${FAST[@]}" -- true
	touch "$OUT/a.go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "-i ID is holder= in the value and LEADERRUN_NODE_ID; the default is HOST:PID" {
	redis_start
	# Written aside, then renamed: wait_for must not see it half written.
	bgr a -l t -i node-i "${FAST[@]}" -- sh -c 'echo "$LEADERRUN_NODE_ID" > "$1.new"
	    mv "$1.new" "$1"; until [ -e "$2" ]; do sleep 0.01; done' \
	    sh "$OUT/id" "$OUT/go"
	wait_for "$OUT/id" 10
	[ "$(cat "$OUT/id")" = node-i ]
	[ "$(rfield holder)" = node-i ]
	touch "$OUT/go"
	wait_exit a
	run -0 lrr -l t "${FAST[@]}" -- sh -c 'echo "$LEADERRUN_NODE_ID $(hostname):$PPID"'
	set -- $output
	[ "$1" = "$2" ]
}

@test "-r: the leader renews (one EVAL) every retry period" {
	redis_start
	n0=$(redis_calls eval)
	run -0 lrr -l t -t 2s -r 50ms -- sleep 1
	n1=$(redis_calls eval)
	run -0 lrr -l t -t 2s --retry-period=400ms -- sleep 1
	n2=$(redis_calls eval)
	echo "EVALs in 1s: -r 50ms: $((n1 - n0)), -r 400ms: $((n2 - n1))"
	[ $((n1 - n0)) -ge 12 ]
	[ $((n1 - n0)) -le 30 ]
	[ $((n2 - n1)) -le 8 ]
}

@test "-k: a command that ignores the stop signal gets SIGKILL after kill-after; -s picks the signal" {
	redis_start
	bgr l -l t -t 2s -r 50ms -k 300ms -s USR1 -- sh -c 'trap "" USR1; echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid" 10
	t0=$(now_ms)
	rcli del "$LOCK"
	wait_exit l 5
	took=$(elapsed_ms "$t0")
	echo "exit ${took}ms after the key was deleted (retry 50ms, kill-after 300ms)"
	[ "$STATUS" = 124 ]
	[ "$took" -ge 280 ]
	[ "$took" -le $((900 + SAN_MS)) ]
	dead "$(cat "$OUT/cmd.pid")"
}

@test "-n is 75 while another leads, -E sets that code, -w gives up after its time with no key left behind" {
	redis_start
	lead_hold a -t 2s -i a
	run --separate-stderr -75 lrr -l t -n -v -- touch "$OUT/ran"
	[[ "$stderr" == *"not elected: held by a on $(hostname) (term 1)"* ]]
	run -3 lrr -l t -n -E 3 -- touch "$OUT/ran"
	t0=$(now_ms)
	run -75 lrr -l t -w 300ms -t 2s -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "-w 300ms gave up after ${took}ms"
	[ "$took" -ge 280 ] && [ "$took" -le 1000 ]
	[ ! -e "$OUT/ran" ]
	[ "$(rfield holder)" = a ]
	touch "$OUT/a.go"
	wait_exit a
	[ "$STATUS" = 0 ]
	gone
}

@test "-v reports waiting, elected and released on Redis" {
	redis_start
	lead_hold a "${FAST[@]}" -i a
	bgr b -l t "${FAST[@]}" -i b -v -- true
	wait_until 5 has "waiting: held by a" "$OUT/b.err"
	touch "$OUT/a.go"
	wait_exit b
	[ "$STATUS" = 0 ]
	cat "$OUT/b.err"
	grep -q "elected (term 2, node b)" "$OUT/b.err"
	grep -q "released (term 2)" "$OUT/b.err"
}

@test "/DB selects the database; the same name in two databases is two leases" {
	redis_start
	REDIS_URL=$REDIS_URL/3 lead_hold a "${FAST[@]}"
	[ "$(rcli -n 3 exists "$LOCK")" = 1 ]
	[ "$(rcli -n 0 exists "$LOCK")" = 0 ]
	run -0 lrr -l t -n "${FAST[@]}" -- true
	run -75 "$LEADERRUN" -S "$REDIS_URL/3" -l t -n -- true
	touch "$OUT/a.go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "--list: the leases of the database in name order, held and free, keys that name no lease skipped with a warning" {
	redis_start
	for n in beta alpha; do run -0 lrr -l "$n" "${FAST[@]}" -- true; done
	lead_hold a "${FAST[@]}" -i holder-a
	rcli set 'leaderrun:odd' x > /dev/null
	rcli set 'leaderrun:{bad name}:lock' x > /dev/null
	rcli -n 2 set 'leaderrun:{other-db}:fence' 1 > /dev/null
	run --separate-stderr -0 lrr --list
	printf '%s\n' "$output"
	[ "${#lines[@]}" = 4 ]
	[[ "${lines[0]}" == NAME* ]]
	[[ "${lines[1]}" == "alpha "*free* ]]
	[[ "${lines[2]}" == "beta "*free* ]]
	[[ "${lines[3]}" == "t "*held*holder-a* ]]
	[[ "$stderr" == *"skipped 'leaderrun:odd': not a key of a lease"* ]]
	[[ "$stderr" == *"skipped 'leaderrun:{bad name}:': not a lease name"* ]]
	run -0 lrr --list --json
	[[ "$output" == *'"name":"t"'*'"holder":"holder-a"'* ]]
	touch "$OUT/a.go"
	wait_exit a
	[ "$STATUS" = 0 ]
	run -0 "$LEADERRUN" -S "$REDIS_URL/2" --list
	[[ "$output" == *other-db* ]]
	[[ "$output" != *alpha* ]]
}

# Exclusion, handover, crash failover, a stopped Redis and --status:
# scenarios.suite (42).

# ---- a crashed leader ----------------------------------------------------

# crash_failover [REDIS OPTION...]: SIGKILL of the leader's supervisor; the
# old job is dead when the next starts, within 300ms (lease 10s).
crash_failover() {
	bgr a -l t -t 10s -i a -- sh -c 'echo "$LEADERRUN_TERM" > "$2.new"; mv "$2.new" "$2"; echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' \
	    sh "$OUT/cmd.pid" "$OUT/a.term"
	wait_for "$OUT/cmd.pid" 10
	bgr b -l t -t 10s -i b -v -- sh -c '
		cat "/proc/$(cat "$1")/stat" > "$2" 2>/dev/null; echo "$LEADERRUN_TERM" > "$3"' \
	    sh "$OUT/cmd.pid" "$OUT/old.stat" "$OUT/b.started"
	wait_until 5 has waiting "$OUT/b.err"
	t0=$(now_ms)
	kill -KILL "$(pid_of a)"
	wait_for "$OUT/b.started" 5
	took=$(elapsed_ms "$t0")
	echo "took over ${took}ms after the kill (lease 10s)"
	if [ -s "$OUT/old.stat" ]; then
		cat "$OUT/old.stat"
		[[ "$(cat "$OUT/old.stat")" == *") Z "* ]]
	fi
	[ "$took" -lt 300 ]
	[ "$(cat "$OUT/b.started")" = $(($(cat "$OUT/a.term") + 1)) ]
	wait_until 2 dead "$(cat "$OUT/cmd.pid")"
	wait_exit b
	[ "$STATUS" = 0 ]
	gone
}

@test "a dead holder on this host (supervisor and job gone, no farewell) is taken over at once, a live one is not" {
	redis_start
	# A holder value as a leaderrun on this host writes it, whose
	# supervisor and job do not exist, with 10s left.
	sh -c 'exit 0' & dead_pid=$!
	wait $dead_pid
	val=$(printf 'token=%s:00000000deadbeef\nholder=ghost\nhost=%s\nsys=%s\npid=%s\nstart=1\njob=%s\nlease_ms=10000\nacquired=1\n' \
	    "$dead_pid" "$(hostname)" "$(sys_id)" "$dead_pid" "$dead_pid")
	rcli set "$LOCK" "$val" px 10000
	t0=$(now_ms)
	run -0 lrr -l t -w 2s -- true
	took=$(elapsed_ms "$t0")
	echo "ran ${took}ms after the start (the dead holder had 10s left)"
	[ "$took" -lt $((500 + SAN_MS)) ]
	# The same with a live supervisor pid (this shell): it waits.
	val=$(printf 'token=%s:00000000deadbeef\nholder=live\nhost=%s\nsys=%s\npid=%s\nstart=%s\njob=0\nlease_ms=10000\nacquired=1\n' \
	    "$$" "$(hostname)" "$(sys_id)" "$$" "$(start_ticks $$)")
	rcli set "$LOCK" "$val" px 10000
	run -75 lrr -l t -w 300ms -- true
	[ "$(rfield holder)" = live ]
}

# ---- a lost lease ------------------------------------------------------------

@test "Redis SIGSTOPped under a leader: 124 within renew-deadline + kill-after, no ghost lock once it resumes" {
	redis_start
	# -t 2s -r 50ms --renew-deadline 500ms -k 300ms; a waiter too, whose
	# acquires time out while Redis is stopped ("maybe acquired").
	bgr l -l t -t 2s -r 50ms --renew-deadline 500ms -k 300ms -i l -- \
	    sh -c 'trap "" TERM; echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid" 10
	cmd=$(cat "$OUT/cmd.pid")
	bgr w -l t -t 2s -r 50ms --renew-deadline 500ms -k 300ms -i w -v -- \
	    sh -c 'cat "/proc/$1/stat" > "$2" 2>/dev/null; echo "$LEADERRUN_TERM" > "$3"' \
	    sh "$cmd" "$OUT/old.stat" "$OUT/w.started"
	wait_until 5 has waiting "$OUT/w.err"
	sleep 0.1
	redis_pause
	t0=$(now_ms)
	wait_until 3 dead "$cmd"
	took=$(elapsed_ms "$t0")
	echo "job killed ${took}ms after Redis stopped (deadline 500ms + kill-after 300ms)"
	[ "$took" -ge 400 ]
	[ "$took" -le 950 ]
	wait_exit l 5
	echo "leader exited $(elapsed_ms "$t0")ms after Redis stopped, status $STATUS"
	cat "$OUT/l.err"
	[ "$STATUS" = 124 ]
	[ "$(elapsed_ms "$t0")" -le $((1600 + SAN_MS)) ]
	# Resume before the old key's TTL ran out: what was queued runs now.
	redis_resume
	wait_for "$OUT/w.started" 5
	wait_exit w 5
	[ "$STATUS" = 0 ]
	if [ -s "$OUT/old.stat" ]; then
		[[ "$(cat "$OUT/old.stat")" == *") Z "* ]]
	fi
	[ "$(cat "$OUT/w.started")" -ge 2 ]
	# Nobody holds it now, and nothing queued brings a key back.
	wait_until 2 gone
	sleep 0.3
	gone
}

@test "the key deleted with redis-cli DEL: the leader loses within a retry period (124)" {
	redis_start
	bgr l -l t -t 2s -r 100ms -- "${TRAPPER[@]}" TERM "$OUT/term" "$OUT/ready" 0
	wait_for "$OUT/ready" 10
	t0=$(now_ms)
	rcli del "$LOCK"
	wait_for "$OUT/term" 5
	took=$(elapsed_ms "$t0")
	echo "stopped ${took}ms after the DEL (retry 100ms)"
	[ "$took" -lt 250 ]
	wait_exit l 5
	[ "$STATUS" = 124 ]
	grep -q "lost leadership: redis key leaderrun:{t}:lock is gone" "$OUT/l.err"
	gone
}

@test "the key overwritten with redis-cli SET: the leader loses within a retry period and leaves the new value alone" {
	redis_start
	bgr l -l t -t 2s -r 100ms -- "${TRAPPER[@]}" TERM "$OUT/term" "$OUT/ready" 0
	wait_for "$OUT/ready" 10
	t0=$(now_ms)
	rcli set "$LOCK" someone-else px 5000
	wait_for "$OUT/term" 5
	took=$(elapsed_ms "$t0")
	echo "stopped ${took}ms after the SET (retry 100ms)"
	[ "$took" -lt 250 ]
	wait_exit l 5
	[ "$STATUS" = 124 ]
	grep -q "now holds another value" "$OUT/l.err"
	[ "$(rcli get "$LOCK")" = someone-else ]
	# A key of another type is someone else's too.
	rcli del "$LOCK"
	lead_hold m -t 2s -r 100ms
	rcli del "$LOCK"
	rcli hset "$LOCK" f v
	wait_exit m 5
	[ "$STATUS" = 124 ]
	[ "$(rcli type "$LOCK")" = hash ]
}

@test "Redis restarted without persistence: the leader loses, the waiter warns that the fence went back and keeps its place until it stopped, no overlap" {
	redis_start
	for i in 1 2 3; do run -0 lrr -l t -- true; done
	# a logs "start a TERM", and "stop a TERM" on SIGTERM; b logs "start b TERM".
	cat > "$OUT/a.sh" <<'EOF'
#!/bin/sh
say() { flock "$1.lk" sh -c 'echo "$1" >> "$2"' sh "$2" "$1"; }
trap 'say "$1" "stop a $LEADERRUN_TERM"; exit 0' TERM
say "$1" "start a $LEADERRUN_TERM"
touch "$2"
while :; do sleep 0.01; done
EOF
	cat > "$OUT/b.sh" <<'EOF'
#!/bin/sh
flock "$1.lk" sh -c 'echo "$1" >> "$2"' sh "start b $LEADERRUN_TERM" "$1"
EOF
	chmod +x "$OUT/a.sh" "$OUT/b.sh"
	bgr a -l t -t 2s -r 50ms -i a -- "$OUT/a.sh" "$OUT/log" "$OUT/a.ready"
	wait_for "$OUT/a.ready" 10
	bgr b -l t -t 2s -r 50ms -i b -v -- "$OUT/b.sh" "$OUT/log"
	wait_until 5 has "term 4" "$OUT/b.err"
	redis_restart
	t0=$(now_ms)
	wait_exit a 5
	echo "a: $STATUS after $(elapsed_ms "$t0")ms"
	cat "$OUT/a.err"
	[ "$STATUS" = 124 ]
	wait_exit b 5
	took=$(elapsed_ms "$t0")
	cat "$OUT/b.err" "$OUT/log"
	echo "b ended ${took}ms after the restart (lease 2s)"
	[ "$STATUS" = 0 ]
	# Either b looked first: the counter is gone (0), the lock went before
	# it could have run out, and b keeps a's place until a's clean end
	# (after its job stopped); or a's clean end came first, and b, taking
	# the lock at term 1, waits out a lease before it uses it.
	grep -Eq "warning: redis 127.0.0.1:$REDIS_PORT: the fencing counter leaderrun:\{t\}:fence went back from 4 to [01]" "$OUT/b.err"
	[ "$(cat "$OUT/log")" = "start a 4"$'\n'"stop a 4"$'\n'"start b 1" ]
}

# ---- hostile servers ---------------------------------------------------------

# hostile MODE: leaderrun against fake MODE: 125 with one clear message in
# bounded time, and the command never ran.
hostile() {
	fake_redis_start "$1"
	t0=$(now_ms)
	run --separate-stderr timeout 30 "$LEADERRUN" -S "$FAKE_URL" -l t -t 2s -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "exit $status after ${took}ms; stderr: $stderr"
	cat "$FAKE_LOG"
	[ "$status" = 125 ]
	one_line_error
	[ ! -e "$OUT/ran" ]
	[ "$took" -lt 3000 ]
}

@test "a server that answers garbage: 125, a clear message, no command" {
	hostile garbage
	[[ "$stderr" == *"not a RESP reply"*"not a Redis server?"* ]]
}

@test "a server that never answers: 125 in bounded time; --status too" {
	hostile hang
	[[ "$stderr" == *"127.0.0.1:$FAKE_PORT: timed out"* ]]
	run --separate-stderr timeout 30 "$LEADERRUN" --status -S "$FAKE_URL" -l t
	[ "$status" = 125 ]
}

@test "a server that closes mid-reply, or sends a 100 MB bulk or a deep array: 125, no command" {
	hostile close
	[[ "$stderr" == *"closed"* ]]
	hostile big
	[[ "$stderr" == *"bulk string of more than"* ]]
	hostile deep
	[[ "$stderr" == *"nested deeper"* ]]
}

@test "a server error longer than a reply line (protected mode's -DENIED): 125, and the message shows how it starts" {
	hostile denied
	[[ "$stderr" == *"server error (longer than 1024 bytes): DENIED Redis is running in protected mode because"*"..." ]]
}

@test "nothing listening: 125 naming the address" {
	need_redis
	port=$(free_ports 1)
	run --separate-stderr -125 "$LEADERRUN" -S "redis://127.0.0.1:$port" -l t -- touch "$OUT/ran"
	one_line_error
	[[ "$stderr" == *"127.0.0.1:$port"*"refused"* ]]
	[ ! -e "$OUT/ran" ]
}

# ---- passwords ---------------------------------------------------------------

@test "requirepass: the password comes from LEADERRUN_STORE_PASSWORD; none or a wrong one is 125 without echoing it" {
	redis_start --requirepass 's3cret-Pw'
	LEADERRUN_STORE_PASSWORD='s3cret-Pw' run -0 lrr -l t -- sh -c 'echo ok'
	[ "$output" = ok ]
	run --separate-stderr -125 lrr -l t -- touch "$OUT/ran"
	one_line_error
	[[ "$stderr" == *NOAUTH*"LEADERRUN_STORE_PASSWORD"* ]]
	LEADERRUN_STORE_PASSWORD='wr0ng-Guess' run --separate-stderr -125 lrr -l t -- touch "$OUT/ran"
	one_line_error
	[[ "$stderr" == *WRONGPASS* ]]
	[[ "$stderr" != *wr0ng-Guess* ]]
	LEADERRUN_STORE_PASSWORD='wr0ng-Guess' run --separate-stderr -125 lrr --status -l t
	[[ "$stderr" != *wr0ng-Guess* ]]
	[ ! -e "$OUT/ran" ]
	# The farewell logs in too: a crash still hands over at once.
	export LEADERRUN_STORE_PASSWORD='s3cret-Pw'
	crash_failover
}

@test "a password in the URL is refused (125) without echoing it" {
	run --separate-stderr -125 "$LEADERRUN" -S 'redis://me:hunter2@127.0.0.1:6379' -l t -- touch "$OUT/ran"
	one_line_error
	[[ "$stderr" == *"password in the URL is refused"*"every local user can read"*LEADERRUN_STORE_PASSWORD* ]]
	[[ "$stderr" != *hunter2* ]]
	run --separate-stderr -125 "$LEADERRUN" -S 'redis://:hunter2@127.0.0.1:6379' -l t -- touch "$OUT/ran"
	[[ "$stderr" != *hunter2* ]]
	LEADERRUN_STORE='redis://me:hunter2@127.0.0.1:6379' run --separate-stderr -125 "$LEADERRUN" -l t -- touch "$OUT/ran"
	[[ "$stderr" != *hunter2* ]]
	[ ! -e "$OUT/ran" ]
}

@test "an ACL user: redis://USER@HOST:PORT with its password from the environment" {
	redis_start
	rcli acl setuser lr on '>lr-Pass' '~leaderrun:*' '&leaderrun:*' +@all
	export LEADERRUN_STORE_PASSWORD=lr-Pass
	URL=redis://lr@127.0.0.1:$REDIS_PORT
	run -0 "$LEADERRUN" -S "$URL" -l t -- sh -c 'echo "$LEADERRUN_TERM"'
	[ "$output" = 1 ]
	LEADERRUN_STORE_PASSWORD=nope run --separate-stderr -125 "$LEADERRUN" -S "$URL" -l t -- touch "$OUT/ran"
	one_line_error
	[[ "$stderr" == *"AUTH as lr"*WRONGPASS* ]]
	[[ "$stderr" != *nope* ]]
	# A user with no channel rights: waiters poll, and say so once.
	rcli acl setuser lr2 on '>lr-Pass' '~leaderrun:*' resetchannels +@all
	REDIS_URL=redis://lr2@127.0.0.1:$REDIS_PORT lead_hold a "${FAST[@]}"
	REDIS_URL=redis://lr2@127.0.0.1:$REDIS_PORT bgr b -l t "${FAST[@]}" -- true
	sleep 0.2
	touch "$OUT/a.go"
	wait_exit b 5
	[ "$STATUS" = 0 ]
	cat "$OUT/b.err"
	[ "$(grep -c "SUBSCRIBE leaderrun:{t}:wake:[0-9a-f:]* refused: NOPERM" "$OUT/b.err")" = 1 ]
	[ ! -e "$OUT/ran" ]
}

@test "redis+unix:///PATH: Redis on its unix socket, with ?db=N; bad forms are 125" {
	redis_start --unixsocket "$BATS_TEST_TMPDIR/r.sock" --unixsocketperm 700
	local url="redis+unix://$BATS_TEST_TMPDIR/r.sock"
	run -0 "$LEADERRUN" -S "$url" -l t -- sh -c 'echo "term $LEADERRUN_TERM"'
	[ "$output" = "term 1" ]
	run -0 "$LEADERRUN" -S "$url?db=3" -l t -- sh -c 'echo "term $LEADERRUN_TERM"'
	[ "$output" = "term 1" ]	# another database, another counter
	[ "$("$REDIS_CLI_BIN" -s "$BATS_TEST_TMPDIR/r.sock" -n 3 GET 'leaderrun:{t}:fence')" = 1 ]
	# Exclusion over the socket: a second contender with -n is refused.
	"$LEADERRUN" -S "$url" -l t -t 1s -- sh -c 'touch "$0"; sleep 5' "$OUT/held" &
	wait_for "$OUT/held"
	run -75 "$LEADERRUN" -S "$url" -n -l t -- touch "$OUT/ran"
	run -0 "$LEADERRUN" --status -S "$url" -l t
	[[ "$output" == *"lease:      redis+unix://$BATS_TEST_TMPDIR/r.sock?db=0 leaderrun:{t}:lock"* ]]
	[[ "$output" == *"state:      held"* ]]
	for bad in "redis+unix://x" "redis+unix:///x?db=a" "redis+unix://a:b@/x"; do
		run --separate-stderr -125 "$LEADERRUN" -S "$bad" -l t -- touch "$OUT/ran"
		[[ "${stderr_lines[0]}" == "leaderrun: store '"* ]]
	done
	[ ! -e "$OUT/ran" ]
}
