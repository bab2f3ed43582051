#!/usr/bin/env bats
# Promises of the man page on the Redis store that no other test held
# leaderrun to (the file store's are in 17-promises, etcd's in
# 52-etcd-promises): the held command killed, a leader that wakes after its
# deadline, giving up (-w, a signal) with an acquire in flight, and a
# leaderrun killed during --min-hold.  A real redis-server per test
# (tests/redis.bash).
load helpers
load redis

setup() { lr_setup; }
teardown() {
	lr_teardown
	redis_teardown
}

LOCK='leaderrun:{t}:lock'

lrr() { "$LEADERRUN" -S "$REDIS_URL" "$@"; }


rfield() { rcli get "$LOCK" | sed -n "s/^$1=//p"; }
gone() { [ "$(rcli exists "$LOCK")" = 0 ]; }

held_of() { ps -o pid=,sid= --ppid "$(pid_of "$1")" | awk '$1 != $2 { print $1 }'; }

@test "promise (Redis): if someone kills the held command while leaderrun waits, leaderrun gives up with 125" {
	redis_start
	bgr a -l t -t 2s -i a -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready" 10
	bgr w -l t -t 2s -i w -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	held=$(held_of w)
	[ "$(wc -w <<< "$held")" = 1 ]
	t0=$(now_ms)
	kill -KILL "$held"
	wait_exit w 5
	took=$(elapsed_ms "$t0")
	echo "gave up ${took}ms after the kill"
	cat "$OUT/w.err"
	[ "$STATUS" = 125 ]
	grep -q "^leaderrun: t: the command's process (pid $held) ended before it could start" "$OUT/w.err"
	[ ! -e "$OUT/ran" ]
	[ "$took" -lt "$AT_ONCE_MS" ]
	[ "$(rfield holder)" = a ]
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "promise (Redis): a leader that wakes up after its renew deadline stops its command, though Redis would renew" {
	need_shim
	redis_start
	env --default-signal=INT,QUIT LD_PRELOAD="$FAULTSHIM" \
	    LR_FAULT="clock:jump:ms=5000:while=$OUT/asleep" \
	    "$LEADERRUN" -S "$REDIS_URL" -l t -t 2s -r 50ms -- \
	    "${TRAPPER[@]}" TERM "$OUT/got" "$OUT/ready" 0 > "$OUT/l.out" 2> "$OUT/l.err" &
	echo $! > "$OUT/l.pid"
	wait_for "$OUT/ready" 10
	sleep 0.2
	t0=$(now_ms)
	touch "$OUT/asleep"
	wait_for "$OUT/got" 5
	took=$(elapsed_ms "$t0")
	echo "stopped ${took}ms after the wake-up (retry 50ms)"
	wait_exit l 5
	cat "$OUT/l.err"
	[ "$STATUS" = 124 ]
	grep -q "^leaderrun: t: lost leadership: no renewal within 1s" "$OUT/l.err"
	[ "$took" -lt "$AT_ONCE_MS" ]
}

# give_up HOW: a waiter's acquire goes to a stopped Redis (so that it may yet
# take the lock when Redis runs again) and the waiter gives up (HOW: -w, or
# SIGTERM) before an answer comes; once Redis runs again, no lock of it is
# left (the lock's own TTL, 2s, would take much longer).
give_up() {
	redis_start
	# A holder on another host whose lock runs out in 600ms.
	rcli set "$LOCK" "$(printf 'token=1:00000000deadbeef\nholder=far\nhost=elsewhere\nsys=x/1\npid=1\nstart=1\njob=0\nlease_ms=600\nacquired=1\n')" px 600
	if [ "$1" = -w ]; then
		bgr w -l t -t 2s -w 1300ms -i w -v -- touch "$OUT/ran"
	else
		bgr w -l t -t 2s -i w -v -- touch "$OUT/ran"
	fi
	wait_until 5 has waiting "$OUT/w.err"
	redis_pause
	# Its next look, as the holder's lock runs out, gets no answer.
	sleep 0.9
	if [ "$1" = -w ]; then
		wait_exit w 5
		[ "$STATUS" = 75 ]
	else
		kill -TERM "$(pid_of w)"
		wait_exit w 5
		[ "$STATUS" = 143 ]
	fi
	cat "$OUT/w.err"
	[ ! -e "$OUT/ran" ]
	redis_resume
	t0=$(now_ms)
	wait_until 1 gone
	echo "no lock $(elapsed_ms "$t0")ms after Redis resumed"
	sleep 0.2
	gone
	run -0 lrr -l t -t 2s -n -- true
}

@test "promise (Redis): giving up with -w while an acquire is unanswered leaves no lock behind" {
	give_up -w
}

@test "promise (Redis): giving up on a signal while an acquire is unanswered leaves no lock behind" {
	give_up TERM
}

@test "promise (Redis): a leaderrun killed during --min-hold leaves its lock: taken at once on this host, after the lease elsewhere" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	redis_start
	bgr a -l t -t 1s -i a --min-hold 30s -- true
	wait_until 5 eval '[ "$(rfield done)" = 1 ]'
	kill -KILL "$(pid_of a)"
	wait_exit a
	t0=$(now_ms)
	run -0 unshare --uts --pid --fork --mount-proc sh -c 'hostname other-host && exec "$@"' \
	    sh "$LEADERRUN" -S "$REDIS_URL" -l t -t 1s -w 10s -i b -- true
	took=$(elapsed_ms "$t0")
	echo "another host took over ${took}ms after the kill (lease 1s, retry 200ms)"
	[ "$took" -ge 700 ]
	bgr a -l t -t 1s -i a --min-hold 30s -- true
	wait_until 5 eval '[ "$(rfield done)" = 1 ]'
	kill -KILL "$(pid_of a)"
	wait_exit a
	t0=$(now_ms)
	run -0 lrr -l t -t 1s -w 10s -i c -- true
	took=$(elapsed_ms "$t0")
	echo "this host took over ${took}ms after the kill (lease 1s)"
	[ "$took" -lt "$AT_ONCE_MS" ]
}
