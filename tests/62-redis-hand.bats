#!/usr/bin/env bats
# A Redis lock removed by hand never gives two commands at once (issue 23).
# The leader's job needs 300 ms to stop after SIGTERM, a waiter queues
# behind it, and a witness flock catches two jobs at once (tests/hand.bash).
# Then the lock goes by hand (DEL, SET over it, FLUSHDB, a restart without
# persistence).  -t 2s -r 100ms: renew-deadline 1s, kill-after 600ms, so a
# holder that cannot renew has stopped 1.6s after its last renewal.
load helpers
load redis
load hand

setup() { lr_setup; }
teardown() {
	lr_teardown
	redis_teardown
}

LOCK='leaderrun:{t}:lock'
HELD='leaderrun:{t}:held'

# contend NAME [ARG...]: a contender for t running job.sh as NAME.
contend() {
	local n=$1
	shift
	bgr "$n" -l t -t 2s -r 100ms -k 600ms -i "$n" -v "$@" -- \
	    "$OUT/job.sh" "$OUT/log" "$OUT/wit" "$n"
}


# leader_and_waiter: a leads, b waits (b has looked at a's lock).
leader_and_waiter() {
	write_job
	contend a
	wait_for "$OUT/log.a" 10
	contend b
	wait_until 5 has "waiting" "$OUT/b.err"
	sleep 0.25	# b has looked at the lock a few times
}

@test "redis hand delete: DEL of a held lock: the waiter starts only after the old job stopped, at once after it" {
	redis_start
	leader_and_waiter
	t0=$(now_ms)
	rcli del "$LOCK" > /dev/null
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	grep -q "was deleted (by hand?) while a on" "$OUT/b.err"
	# a sees the DEL at its next renewal (100ms), its job takes 300ms,
	# then its clean end wakes b: far less than its 2s lease.
	echo "b started ${took}ms after the DEL"
	[ "$took" -lt 1500 ]
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}

@test "redis hand delete: a newcomer that never saw the lock does not start while the deleted lock's job runs" {
	redis_start
	write_job
	contend a
	wait_for "$OUT/log.a" 10
	kill -STOP "$(pid_of a)"	# its job runs on, nobody renews
	rcli del "$LOCK" > /dev/null
	contend b
	wait_until 5 has "was deleted (by hand?)" "$OUT/b.err"
	sleep 0.5
	[ ! -e "$OUT/log.b" ]
	[ "$(rcli exists "$HELD")" = 1 ]
	kill -CONT "$(pid_of a)"
	wait_for "$OUT/log.b" 10
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}

@test "redis hand delete: SET over a held lock, expiring at once: the waiter still waits for the old job" {
	redis_start
	leader_and_waiter
	rcli set "$LOCK" someone-else px 50 > /dev/null
	wait_exit a 5
	[ "$STATUS" = 124 ]
	wait_for "$OUT/log.b" 10
	no_overlap
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}

@test "redis hand delete: FLUSHDB while held: the waiter keeps the place for the old job until it stopped" {
	redis_start
	leader_and_waiter
	rcli flushdb > /dev/null
	wait_for "$OUT/log.b" 10
	no_overlap
	grep -q "went without a clean end (FLUSHDB" "$OUT/b.err"
	wait_exit a 5
	[ "$STATUS" = 124 ]
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}

@test "redis hand delete: FLUSHDB while the leader is stopped: the waiter waits its renew-deadline + kill-after, no less" {
	redis_start
	leader_and_waiter
	kill -STOP "$(pid_of a)"	# it cannot renew nor end cleanly
	rcli flushdb > /dev/null
	t0=$(now_ms)
	wait_until 5 has "went without a clean end" "$OUT/b.err"
	[ "$(rcli exists "$HELD")" = 1 ]
	# The supervisor is stopped, but its job is not: stop it by hand as
	# the supervisor would have, within renew-deadline + kill-after.
	sleep 0.3
	[ ! -e "$OUT/log.b" ]
	kill -TERM -- "-$(cat "$OUT/log.a.pid")"
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	echo "b started ${took}ms after the FLUSHDB (stop 1.6s)"
	[ "$took" -ge 1500 ]
	kill -CONT "$(pid_of a)"
	no_overlap
	wait_exit a 5
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}

@test "redis hand delete: a restart without persistence: no overlap" {
	redis_start
	leader_and_waiter
	redis_restart
	wait_for "$OUT/log.b" 10
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}

@test "redis: a clean release leaves no held key, and says so in the ended key" {
	redis_start
	run -0 "$LEADERRUN" -S "$REDIS_URL" -l t -- true
	[ "$(rcli exists "$LOCK")" = 0 ]
	[ "$(rcli exists "$HELD")" = 0 ]
	[[ "$(rcli get 'leaderrun:{t}:ended')" == token=* ]]
}

@test "redis: a lock that expires (the leader stopped) is taken at its TTL, not a renew-deadline later" {
	redis_start
	leader_and_waiter
	kill -STOP "$(pid_of a)"
	t0=$(now_ms)
	# Its job is gone, as its supervisor would have seen to.
	kill -KILL -- "-$(cat "$OUT/log.a.pid")"
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	echo "b started ${took}ms after a stopped (lease 2s)"
	[ "$took" -lt 2600 ]
	run ! grep -q "without a clean end\|deleted (by hand?)" "$OUT/b.err"
	run ! grep -q OVERLAP "$OUT/log"
	kill -KILL "$(pid_of a)"
	kill -TERM "$(pid_of b)"
	wait_exit b 5
}
