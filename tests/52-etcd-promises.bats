#!/usr/bin/env bats
# Promises of the man page on the etcd store that no other test held
# leaderrun to (the file store's are in 17-promises, Redis's in
# 61-redis-promises): lost quorum, the held command killed, a leader that
# wakes after its deadline, same-host reaping, errors while waiting, and a
# leaderrun killed during --min-hold.  Real etcd servers (tests/etcd.bash),
# which grant TTLs of 1s and up: -t 2s gives TTL 2s, retry 400ms,
# renew-deadline 1s, kill-after 600ms.
load helpers
load etcd

setup() { lr_setup; }
teardown() {
	lr_teardown
	etcd_teardown
}

# held_of NAME: the held command of waiting contender NAME: its child in its
# own session (the other child, the watchdog, has a session of its own).
held_of() { ps -o pid=,sid= --ppid "$(pid_of "$1")" | awk '$1 != $2 { print $1 }'; }

# watchdog_of NAME: the watchdog of contender NAME (its child that leads a
# session).
watchdog_of() { ps -o pid=,sid= --ppid "$(pid_of "$1")" | awk '$1 == $2 { print $1 }'; }

@test "promise (etcd): with quorum lost the leader stops its command by renew-deadline (124), and nobody leads until quorum returns" {
	etcd_cluster3
	bge a -l t -t 2s -i a -- "${TRAPPER[@]}" TERM "$OUT/a.term" "$OUT/a.ready" 0
	wait_for "$OUT/a.ready" 10
	bge b -l t -t 2s -i b -v -- touch "$OUT/b.started"
	wait_until 5 has waiting "$OUT/b.err"
	# Two of three members gone: no quorum.
	etcd_kill 2
	etcd_kill 3
	t0=$(now_ms)
	wait_for "$OUT/a.term" 5
	took=$(elapsed_ms "$t0")
	echo "the command was stopped ${took}ms after quorum was lost (renew-deadline 1s)"
	wait_exit a 5
	cat "$OUT/a.err"
	[ "$STATUS" = 124 ]
	grep -q "^leaderrun: t: lost leadership: " "$OUT/a.err"
	# By renew-deadline after the last good keepalive (at most a retry
	# period, 400ms, before the loss).
	[ "$took" -ge 500 ]
	[ "$took" -lt 2000 ]
	# Nobody leads while quorum is lost: not in three of b's retry
	# periods (400ms), nor once a's lease would have run out (it cannot
	# expire without quorum; its last keepalive was over a second ago).
	sleep 1.2
	[ ! -e "$OUT/b.started" ]
	alive "$(pid_of b)"
	# Quorum back: b leads, once a's key is gone (its TTL).
	etcd_restart 2
	wait_for "$OUT/b.started" 15
	wait_exit b 5
	cat "$OUT/b.err"
	[ "$STATUS" = 0 ]
}

@test "promise (etcd): if someone kills the held command while leaderrun waits, leaderrun gives up with 125 and leaves the queue" {
	etcd_start
	lead_hold a -t 2s -i a
	bge w -l t -t 2s -i w -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	[ "$(nkeys)" = 2 ]
	held=$(held_of w)
	[ "$(wc -w <<< "$held")" = 1 ]
	kill -KILL "$held"
	wait_exit w 5
	cat "$OUT/w.err"
	[ "$STATUS" = 125 ]
	grep -q "^leaderrun: t: the command's process (pid $held) ended before it could start" "$OUT/w.err"
	[ ! -e "$OUT/ran" ]
	# Its place in the queue is given up at once, not after its TTL.
	wait_until 1 has_nkeys 1
	[ "$(efield holder)" = a ]
	touch "$OUT/a.go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "promise (etcd): a leader that wakes up after its renew deadline stops its command, though etcd would renew" {
	need_shim
	etcd_start
	# Its clocks jump 5s ahead, as after a suspend; etcd did not sleep.
	env --default-signal=INT,QUIT LD_PRELOAD="$FAULTSHIM" \
	    LR_FAULT="clock:jump:ms=5000:while=$OUT/asleep" \
	    "$LEADERRUN" -S "$ETCD_URL" -l t -t 3s -r 100ms -- \
	    "${TRAPPER[@]}" TERM "$OUT/got" "$OUT/ready" 0 > "$OUT/l.out" 2> "$OUT/l.err" &
	echo $! > "$OUT/l.pid"
	wait_for "$OUT/ready" 10
	sleep 0.3
	t0=$(now_ms)
	touch "$OUT/asleep"
	wait_for "$OUT/got" 5
	took=$(elapsed_ms "$t0")
	echo "stopped ${took}ms after the wake-up (retry 100ms)"
	wait_exit l 5
	cat "$OUT/l.err"
	[ "$STATUS" = 124 ]
	grep -q "^leaderrun: t: lost leadership: no renewal within 1.5s" "$OUT/l.err"
	[ "$took" -lt "$AT_ONCE_MS" ]
}

@test "promise (etcd): a contender on this host revokes a dead leader's lease once its supervisor and command are all gone, never before" {
	etcd_start
	# The leader's command leaves a child in its process group that
	# outlives it (no parent-death signal reaches a grandchild).
	bge a -l t -t 5s -i a -- sh -c '(trap "" TERM; exec sleep 100) > /dev/null 2>&1 &
		echo $! > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/kid"
	wait_for "$OUT/kid" 10
	kid=$(cat "$OUT/kid")
	wd=$(watchdog_of a)
	[ -n "$wd" ]
	# Supervisor and watchdog die (the watchdog stopped first, so that it
	# cannot clean up): only the grandchild is left of the holder.
	kill -STOP "$wd"
	kill -KILL "$(pid_of a)"
	kill -KILL "$wd"
	t0=$(now_ms)
	wait_exit a
	bge c -l t -t 5s -r 200ms -i c -v -- sh -c 'date +%s%3N > "$1"' sh "$OUT/c.started"
	# Never while any of them lives: not in 1s (TTL 5s, retry 200ms).
	sleep 1
	alive "$kid"
	[ ! -e "$OUT/c.started" ]
	[ "$(efield holder)" = a ]
	kill -KILL "$kid"
	t1=$(now_ms)
	wait_for "$OUT/c.started" 5
	echo "c ran $(($(cat "$OUT/c.started") - t1))ms after the last process died, $(($(cat "$OUT/c.started") - t0))ms after the supervisor (TTL 5s)"
	# Well before a's key could expire (its last keepalive was at most a
	# retry period, 1s, before the kill: expiry 4s after it at the soonest).
	[ $(($(cat "$OUT/c.started") - t0)) -lt 3500 ]
	[ "$(cat "$OUT/c.started")" -ge "$t1" ]
	wait_exit c 5
	[ "$STATUS" = 0 ]
}

@test "promise (etcd): a contender on this host revokes a dead waiter's lease at once" {
	etcd_start
	lead_hold a -t 5s -i a
	bge w -l t -t 5s -i w -v -- touch "$OUT/w.ran"
	wait_until 5 has waiting "$OUT/w.err"
	[ "$(nkeys)" = 2 ]
	# Every process of the waiter dies at once: nobody revokes its lease.
	held=$(held_of w)
	wd=$(watchdog_of w)
	kill -STOP "$(pid_of w)" $held $wd
	kill -KILL "$(pid_of w)" $held $wd
	wait_exit w
	[ "$(nkeys)" = 2 ]
	t0=$(now_ms)
	bge c -l t -t 5s -r 200ms -i c -v -- touch "$OUT/c.ran"
	# c queues (a key of its own) and removes w's: two keys, a's and c's.
	wait_until 5 has waiting "$OUT/c.err"
	wait_until 3 eval '[ "$(keys | xargs -n 1 -I{} etcdctl_ get {} --print-value-only | grep -c "^holder=w$")" = 0 ]'
	took=$(elapsed_ms "$t0")
	echo "w's key revoked ${took}ms after c started (TTL 5s)"
	[ "$took" -lt 3000 ]
	[ "$(nkeys)" = 2 ]
	touch "$OUT/a.go"
	wait_exit c 5
	[ "$STATUS" = 0 ]
	[ ! -e "$OUT/w.ran" ]
}

@test "promise (etcd): later store errors while waiting are printed and retried" {
	etcd_start
	# renew-deadline 2s: the leader outlives an etcd restart.
	lead_hold a -t 4s -i a
	bge w -l t -t 4s -r 200ms -i w -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	etcd_restart
	wait_until 5 has "(retrying)" "$OUT/w.err"
	cat "$OUT/w.err"
	alive "$(pid_of w)"
	touch "$OUT/a.go"
	wait_exit w 10
	[ "$STATUS" = 0 ]
	[ -e "$OUT/ran" ]
}

@test "promise (etcd): a leaderrun killed during --min-hold leaves its key to its TTL for another host, and to a contender here at once" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	etcd_start
	bge a -l t -t 2s -i a --min-hold 30s -- true
	wait_until 5 eval '[ "$(efield done)" = 1 ]'
	kill -KILL "$(pid_of a)"
	t0=$(now_ms)
	wait_exit a
	# Another host: only the TTL (2s, a keepalive at most 400ms before).
	run -0 unshare --uts --pid --fork --mount-proc sh -c 'hostname other-host && exec "$@"' \
	    sh "$LEADERRUN" -S "$ETCD_URL" -l t -t 2s -w 10s -i b -- true
	took=$(elapsed_ms "$t0")
	echo "another host took over ${took}ms after the kill (TTL 2s)"
	[ "$took" -ge 1500 ]
	# The same on this host: the holder is dead, its lease is revoked.
	bge a -l t -t 2s -i a --min-hold 30s -- true
	wait_until 5 eval '[ "$(efield done)" = 1 ]'
	kill -KILL "$(pid_of a)"
	t0=$(now_ms)
	wait_exit a
	run -0 lre -l t -t 2s -w 10s -i c -- true
	took=$(elapsed_ms "$t0")
	echo "this host took over ${took}ms after the kill (TTL 2s)"
	[ "$took" -lt 1500 ]
}
