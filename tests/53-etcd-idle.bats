#!/usr/bin/env bats
# What a waiting contender costs etcd, and what it still notices: behind a
# standing watch on the key ahead of it, a waiter sends keepalives and
# nothing else, and a stopped server fails those keepalives.  The leader
# here is a key of an etcdctl lease, so that every request counted is a
# waiter's.  Real etcd (tests/etcd.bash); -t 1s gives TTL 1s, retry 200ms,
# a waiter's keepalive every 400ms.
load helpers
load etcd

setup() { lr_setup; }
teardown() {
	lr_teardown
	etcd_teardown
}

# calls METHOD: gRPC calls of METHOD (Txn, Range, LeaseKeepAlive...) etcd
# has handled.
calls() {
	etcd_http "$ETCD_EP" /metrics | tr -d '\r' | awk -v m="grpc_method=\"$1\"" '
		index($1, "grpc_server_started_total{") == 1 && index($1, m) { s += $NF }
		END { printf "%.0f\n", s }'
}

# foreign_leader: lease t held by a key of an etcdctl lease of 30 s; its id
# to LEASE, the key's revision to FREV.
foreign_leader() {
	LEASE=$(etcdctl_ lease grant 30 | awk '{ print $2 }')
	etcdctl_ put leaderrun/t/1 x --lease="$LEASE" > /dev/null
	FREV=$(etcdctl_ get leaderrun/t/1 -w json | sed -n 's/.*"create_revision":\([0-9]*\).*/\1/p')
}

# foreign_end: the foreign leader ends cleanly, as leaderrun does (one txn:
# its key goes, its revision goes to PREFIX/NAME.ended).  A revoke by hand
# instead would make the next leader wait out its stop time.
foreign_end() {
	printf 'create("leaderrun/t/1") > "0"\n\ndel leaderrun/t/1\nput leaderrun/t.ended %s\n\n\n' \
	    "$FREV" | etcdctl_ txn > /dev/null
}

# foreign_gone: and its lease, which holds no key now.
foreign_gone() { etcdctl_ lease revoke "$LEASE" > /dev/null; }

# watching N: etcd counts N watchers.
# loses_at_once: contender w, whose command deletes the queue at once
# (after touching $OUT/deleting), loses within a second: its watch on its
# own key saw it, long before a renewal would.
loses_at_once() {
	local t0 took
	wait_for "$OUT/deleting" 10
	t0=$(now_ms)
	wait_exit w 5
	took=$(elapsed_ms "$t0")
	echo "lost ${took}ms after the deletion began (etcdctl's start included)"
	[ "$STATUS" = 124 ]
	[ "$took" -lt 1000 ]
}

watching() { [ "$(etcd_metric etcd_debugging_mvcc_watcher_total)" = "$1" ]; }

@test "etcd: a waiter behind a standing watch sends keepalives only, and takes over at once" {
	etcd_start
	foreign_leader
	w0=$(etcd_metric etcd_debugging_mvcc_watcher_total)
	bge w -l t -t 1s -i w -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	wait_until 5 watching $((w0 + 1))
	t0=$(calls Txn) r0=$(calls Range) k0=$(calls LeaseKeepAlive)
	sleep 1.5	# the window measured: 7 retry periods
	t1=$(calls Txn) r1=$(calls Range) k1=$(calls LeaseKeepAlive)
	echo "in 1.5 s: txn $((t1 - t0)), range $((r1 - r0)), keepalive $((k1 - k0))"
	[ $((t1 - t0)) = 0 ]
	[ $((r1 - r0)) = 0 ]
	[ $((k1 - k0)) -ge 2 ]
	# From the clean end's txn (one etcdctl) to the command's start.
	t0=$(now_ms)
	foreign_end
	wait_for "$OUT/ran" 5
	took=$(elapsed_ms "$t0")
	echo "took over ${took}ms after the clean end"
	foreign_gone
	wait_exit w 5
	[ "$STATUS" = 0 ]
	[ "$took" -lt "$AT_ONCE_MS" ]
}

@test "etcd: of five idle waiters, only the two nearest the leader ask a TTL" {
	etcd_start
	foreign_leader
	w0=$(etcd_metric etcd_debugging_mvcc_watcher_total)
	for i in 1 2 3 4 5; do
		bge "w$i" -l t -t 1s -i "w$i" -v -- true
		wait_until 5 has waiting "$OUT/w$i.err"
	done
	wait_until 5 watching $((w0 + 5))
	sleep 0.5	# past the looks of the last to come
	q0=$(calls LeaseTimeToLive) t0=$(calls Txn) r0=$(calls Range)
	sleep 2		# 10 retry periods
	q1=$(calls LeaseTimeToLive) t1=$(calls Txn) r1=$(calls Range)
	echo "in 2 s: lease TTL questions $((q1 - q0)), txn $((t1 - t0)), range $((r1 - r0))"
	# The second and the third in line ask at most once a retry period
	# each (20); five would ask about 50 times.
	[ $((q1 - q0)) -ge 1 ]
	[ $((q1 - q0)) -le 24 ]
	[ $((t1 - t0)) = 0 ]
	[ $((r1 - r0)) = 0 ]
}

@test "etcd: a waiter behind a standing watch notices a stopped server by its keepalives, and takes over once it is back" {
	etcd_start
	foreign_leader
	w0=$(etcd_metric etcd_debugging_mvcc_watcher_total)
	bge w -l t -t 1s -i w -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	wait_until 5 watching $((w0 + 1))
	etcd_pause
	t0=$(now_ms)
	# A keepalive due within 400ms, its call given 250ms (renew-deadline / 2).
	wait_until 3 has "(retrying)" "$OUT/w.err"
	took=$(elapsed_ms "$t0")
	etcd_resume
	echo "the stopped server was noticed after ${took}ms"
	[ "$took" -lt 1000 ]
	etcdctl_ lease revoke "$LEASE" > /dev/null
	wait_exit w 5
	[ "$STATUS" = 0 ]
	[ -e "$OUT/ran" ]
}

@test "etcd: a new leader whose key is deleted as its command starts loses at once" {
	etcd_start
	foreign_leader
	# The command deletes the queue at once: the leader's watch on its own
	# key, opened just after the start, must see it, long before the
	# renewal 2s later would.
	# (It says so before the deletion: the leader may stop it before it
	# could say so after.)
	bge w -l t -i w -v -- sh -c 'touch "$3"; ETCDCTL_API=3 "$1" --endpoints "$2" del --prefix leaderrun/t/ > /dev/null;
	    exec sleep 30' sh "$ETCDCTL_BIN" "$ETCD_EP" "$OUT/deleting"
	wait_until 5 has waiting "$OUT/w.err"
	foreign_end
	foreign_gone
	loses_at_once
}

@test "etcd: a leader alone in the queue writes its mark with its key, and its first renewal asks nothing but its watch" {
	etcd_start
	t0=$(calls Txn) r0=$(calls Range) w0=$(calls Watch)
	# -r 2s: the first renewal is the one right after the start; the
	# command ends before the second.
	run -0 lre -l t -r 2s -- sh -c '[ -n "$(ETCDCTL_API=3 "$1" --endpoints "$2" get leaderrun/t.leader --keys-only)" ]; sleep 0.3' \
	    sh "$ETCDCTL_BIN" "$ETCD_EP"
	t1=$(calls Txn) r1=$(calls Range) w1=$(calls Watch)
	echo "Txn $((t1 - t0)), Range $((r1 - r0)) (etcdctl get: 1), Watch $((w1 - w0))"
	# the join (with the mark) and the clean end; no look at the first
	# renewal, whose watch shows any deletion since the election
	[ $((t1 - t0)) = 2 ]
	[ $((r1 - r0)) = 1 ]
	[ $((w1 - w0)) = 1 ]
}

@test "etcd: a leader alone in the queue whose key is deleted as its command starts loses at once" {
	etcd_start
	bge w -l t -i w -v -- sh -c 'touch "$3"; ETCDCTL_API=3 "$1" --endpoints "$2" del --prefix leaderrun/t/ > /dev/null;
	    exec sleep 30' sh "$ETCDCTL_BIN" "$ETCD_EP" "$OUT/deleting"
	loses_at_once
}

# family PID: PID and all of its descendants, one a line.
family() {
	local c
	echo "$1"
	for c in $(ps -o pid= --ppid "$1"); do
		family "$c"
	done
}

@test "etcd: a waiter on this host ends a dead leader's term once, not twice" {
	etcd_start
	bge a -l t -t 2s -i a -- sleep 100
	wait_until 5 has_nkeys 1
	wait_until 5 etcdctl_ get leaderrun/t.leader --print-value-only
	# Every process of the leader dies at once (stopped first, so that
	# its watchdog cannot end its term): nobody ends it.
	procs=$(family "$(pid_of a)")
	kill -STOP $procs
	kill -KILL $procs
	wait_exit a
	[ "$(nkeys)" = 1 ]
	run etcdctl_ get leaderrun/t.ended --print-value-only
	[ -z "$output" ]
	# c, right behind the dead leader, reaps it: the clean end, once.
	bge c -l t -t 2s -i c -v -- sh -c 'touch "$1"; exec sleep 100' sh "$OUT/c.ran"
	wait_for "$OUT/c.ran" 5
	echo "the ended key was written $(knum leaderrun/t.ended version) time(s)"
	[ "$(knum leaderrun/t.ended version)" = 1 ]
	kill -TERM "$(pid_of c)"
	wait_exit c 5
}
