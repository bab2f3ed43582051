#!/usr/bin/env bats
# An etcd lock removed by hand never gives two commands at once (issue 23).
# The leader's job needs 300 ms to stop after SIGTERM, a waiter queues
# behind it, and a witness flock catches two jobs at once (tests/hand.bash).
# Then the lock goes by hand: the leader's lease revoked, its keys deleted.
# -t 3s -k 600ms: retry 600ms, renew-deadline 1.5s, so a leader that
# cannot renew has stopped 2.1s after its last renewal.  Real etcd.
load helpers
load etcd
load hand

setup() { lr_setup; }
teardown() {
	lr_teardown
	etcd_teardown
}

# contend NAME [ARG...]: a contender for t running job.sh as NAME.
contend() {
	local n=$1
	shift
	bge "$n" -l t -t 3s -k 600ms -i "$n" -v "$@" -- \
	    "$OUT/job.sh" "$OUT/log" "$OUT/wit" "$n"
}

# leader_and_waiter: a leads, b waits right behind it, and has asked how
# long a's lease has left.
leader_and_waiter() {
	write_job
	contend a
	wait_for "$OUT/log.a" 10
	contend b
	wait_until 5 has "waiting" "$OUT/b.err"
	sleep 1.3	# past a's first renewal and b's first questions
}

# a_lease: the etcd lease of a's key (its name: leaderrun/t/<lease in hex>).
a_lease() { local k; k=$(holder_key t); echo "${k##*/}"; }

@test "etcd hand delete: the leader's lease revoked: the waiter starts after the old job stopped, at once after it" {
	etcd_start
	leader_and_waiter
	lease=$(a_lease)
	[ -n "$lease" ]
	t0=$(now_ms)
	etcdctl_ lease revoke "$lease" > /dev/null
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	grep -q "went without a clean end" "$OUT/b.err"
	# a sees it at once (its watch), its job takes 300ms, then its clean
	# end lets b go: well before a's 2.1s stop time.
	echo "b started ${took}ms after the revoke"
	[ "$took" -lt 1800 ]
	finish
}

@test "etcd hand delete: del --prefix of every key of the lease (queue and mark): no overlap" {
	etcd_start
	leader_and_waiter
	etcdctl_ del --prefix leaderrun/t > /dev/null
	wait_for "$OUT/log.b" 10
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	finish
}

@test "etcd hand delete: del of the leader's key (its mark stands): no overlap" {
	etcd_start
	leader_and_waiter
	etcdctl_ del "$(holder_key t)" > /dev/null
	wait_for "$OUT/log.b" 10
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	finish
}

@test "etcd hand delete: the lease of a stopped leader revoked: the waiter waits its renew-deadline + kill-after" {
	etcd_start
	leader_and_waiter
	lease=$(a_lease)
	kill -STOP "$(pid_of a)"	# it can neither see nor end cleanly
	t0=$(now_ms)	# b sees the key go after this
	etcdctl_ lease revoke "$lease" > /dev/null
	wait_until 5 has "went without a clean end" "$OUT/b.err"
	# Its job stops within its stop time, as its supervisor would see to.
	sleep 0.5
	[ ! -e "$OUT/log.b" ]
	kill -TERM -- "-$(cat "$OUT/log.a.pid")"
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	echo "b started ${took}ms after the revoke (stop time 2.1s)"
	[ "$took" -ge 2000 ]
	kill -CONT "$(pid_of a)"
	no_overlap
	wait_exit a 5
	finish
}

@test "etcd: a lease that runs out (the leader stopped) is taken at its TTL, not a stop time later" {
	etcd_start
	leader_and_waiter
	kill -STOP "$(pid_of a)"
	kill -KILL -- "-$(cat "$OUT/log.a.pid")"	# as its supervisor would
	t0=$(now_ms)
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	echo "b started ${took}ms after a stopped (TTL 3s)"
	run ! grep -q "without a clean end" "$OUT/b.err"
	run ! grep -q OVERLAP "$OUT/log"
	[ "$took" -lt 4200 ]
	kill -KILL "$(pid_of a)"
	finish
}

@test "etcd: a clean release leaves the term in NAME.ended, and no other key" {
	etcd_start
	run -0 "$LEADERRUN" -S "$ETCD_URL" -l t -t 3s -- sh -c 'echo $LEADERRUN_TERM > "$1"' sh "$OUT/term"
	[ "$(etcdctl_ get leaderrun/t.ended --print-value-only)" = "$(cat "$OUT/term")" ]
	[ "$(etcdctl_ get --prefix leaderrun/ --keys-only | sed '/^$/d')" = leaderrun/t.ended ]
	[ "$(nleases)" = 0 ]
}
