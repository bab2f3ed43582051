#!/usr/bin/env bats
# Election on one host: crashed and stopped leaders, the fencing term and
# the record.  Mutual exclusion, the same-instant start, graceful handover,
# crash failover, a stopped leader's renew deadline and --status, on every
# store: scenarios.suite (40-42).
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

# ---- a crashed leader ----------------------------------------------------

@test "SIGKILL of the leader's supervisor kills its command" {
	bg a -l t -t 10s -- sh -c 'echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid"
	cmd=$(cat "$OUT/cmd.pid")
	alive "$cmd"
	kill -KILL "$(pid_of a)"
	wait_until 2 dead "$cmd"
}

@test "SIGKILL of the leader's supervisor kills its command's whole process group" {
	bg a -l t -t 10s -- sh -c '(trap "" TERM; exec sleep 100) & echo $! > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/bg.pid"
	wait_for "$OUT/bg.pid"
	kid=$(cat "$OUT/bg.pid")
	alive "$kid"
	kill -KILL "$(pid_of a)"
	wait_until 2 dead "$kid"
}

@test "a contender arriving after the leader was killed takes over at once" {
	bg a -l t -t 10s -i a -- sh -c 'echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid"
	kill -KILL "$(pid_of a)"
	wait_until 2 dead "$(cat "$OUT/cmd.pid")"
	t0=$(now_ms)
	run -0 lr -l t -t 10s -n -i b -- sh -c 'echo $LEADERRUN_TERM'
	took=$(elapsed_ms "$t0")
	echo "elected and ran ${took}ms after it started (lease 10s)"
	[ "$output" = 2 ]
	[ "$took" -lt "$AT_ONCE_MS" ]
}

# ---- a stopped leader ----------------------------------------------------

@test "a stopped leader on the same host is never overtaken" {
	# A 1s lease: with 300ms (a 150ms renew deadline) a busy machine made
	# a lose before it was stopped.
	bg a -l t -t 1s -r 50ms --renew-deadline 500ms -k 300ms -i a -- \
	    "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg b -l t -t 1s -i b -v -- touch "$OUT/b.started"
	wait_until 5 has waiting "$OUT/b.err"
	kill -STOP "$(pid_of a)"
	sleep 1.5 # past the lease, counted from b's last sight of a change
	[ ! -e "$OUT/b.started" ]
	[ "$(field holder)" = a ]
	kill -CONT "$(pid_of a)"
	# Its deadline passed while it was stopped: it steps down, then b leads.
	wait_exit a 5
	[ "$STATUS" = 124 ]
	wait_for "$OUT/b.started" 5
	wait_exit b
	[ "$STATUS" = 0 ]
}

# ---- term and record -------------------------------------------------------

@test "the term strictly increases across successive leaders" {
	for want in 1 2 3 4; do
		run -0 lr -l t -- sh -c 'echo $LEADERRUN_TERM'
		[ "$output" = $want ]
		[ "$(field term)" = $want ]
	done
}

@test "the term increases across a leader that lost the lease" {
	run -0 lr -l t -- true
	bg a -l t "${SAFE[@]}" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	[ "$(field term)" = 2 ]
	bg b -l t "${FAST[@]}" -v -- sh -c 'echo $LEADERRUN_TERM'
	wait_until 5 has waiting "$OUT/b.err"
	rm "$DIR/t.lease"
	wait_exit a
	[ "$STATUS" = 124 ]
	wait_exit b
	[ "$STATUS" = 0 ]
	[ "$(cat "$OUT/b.out")" -gt 2 ]
}

renewed_twice() { [ "$(field renewals)" -ge 2 ] 2>/dev/null; }

@test "the record holds every field of the spec while the command runs" {
	bg a -l t -t 2s -r 50ms -i node-x -- sh -c 'echo $$ > "$1.new"; mv "$1.new" "$1"; until [ -e "$2" ]; do sleep 0.01; done' sh "$OUT/cmd.pid" "$OUT/go"
	wait_for "$OUT/cmd.pid"
	wait_until 2 renewed_twice
	cat -v "$DIR/t.lease"
	grep -aqx "leaderrun-lease 1" "$DIR/t.lease"
	[ "$(field state)" = held ]
	[ "$(field holder)" = node-x ]
	[ "$(field host)" = "$(hostname)" ]
	[ "$(field sys)" = "$(sys_id)" ]
	[ "$(field pid)" = "$(pid_of a)" ]
	[ "$(field start)" = "$(start_ticks "$(pid_of a)")" ]
	[ "$(field job)" = "$(cat "$OUT/cmd.pid")" ]
	[ "$(field term)" = 1 ]
	acquired=$(field acquired)
	renewed=$(field renewed)
	now=$(now_ms)
	[ "$acquired" -le "$renewed" ]
	[ "$renewed" -le "$now" ]
	[ $((now - acquired)) -lt 10000 ]
	[ "$(field renewals)" -ge 2 ]
	[ "$(field lease_ms)" = 2000 ]
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "the record says released, keeps the term and drops the job when the command exits" {
	run -0 lr -l t -i node-y -- true
	cat -v "$DIR/t.lease"
	[ "$(field state)" = released ]
	[ "$(field holder)" = node-y ]
	[ "$(field term)" = 1 ]
	[ "$(field job)" = 0 ]
}

renewed_since() { [ "$(field renewals)" -gt "$1" ] && [ "$(field renewed)" -gt "$2" ]; }

@test "renewals keep the record changing while the leader runs" {
	bg a -l t "${SAFE[@]}" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	r1=$(field renewed)
	n1=$(field renewals)
	wait_until 5 renewed_since "$n1" "$r1"
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "no temporary record file is left behind" {
	run -0 lr -l t -- true
	run -0 lr -l t -- true
	[ "$(ls -A "$DIR" | sort | tr '\n' ' ')" = "t.lease t.lock " ]
}

@test "a removed record is waited out afresh when a leader came and went unseen in between (no ABA)" {
	# A record was removed (term mark 1, no record): a contender waits a
	# lease for it.  If a new term is granted meanwhile (the mark moves)
	# and that record is removed too before the contender looks again, the
	# contender must start counting again, not take over when the first
	# wait ends: the new leader may still be running.
	printf 'term=1\n' > "$DIR/t.lock"
	bg c -l t -t 1s -r 400ms --renew-deadline 500ms -k 300ms -v \
	    -- sh -c 'date +%s%3N > "$1"' sh "$OUT/started"
	wait_until 5 has waiting "$OUT/c.err"	# it has seen mark 1
	sleep 0.3
	t1=$(now_ms)
	printf 'term=2\n' > "$DIR/t.lock"	# a leader came in, unseen
	wait_exit c 10
	[ "$STATUS" = 0 ]
	# Counting from its first sight it would have started 300ms sooner.
	took=$(($(cat "$OUT/started") - t1))
	echo "started ${took}ms after the mark moved (lease 1s)"
	[ "$took" -ge 1000 ]
	[ "$(field term)" = 3 ]
}
