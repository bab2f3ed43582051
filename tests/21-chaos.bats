#!/usr/bin/env bats
# Never two leaders: a short chaos run (tests/chaos.sh, a few hundred terms
# under random faults; on etcd and Redis: 23-chaos-stores.bats), the checker's own
# test, and the two lease-file removal cases the chaos runs found, pinned
# down.
load helpers

# The chaos run loads the machine and the removal test is timed: its tests
# never run at the same time as each other, even under bats --jobs without
# --no-parallelize-within-files.
BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup() {
	lr_setup
}

teardown() {
	lr_teardown
}

@test "chaos: 300 terms under faults: no overlap, terms increase, every job ended, nothing left behind" {
	# Sanitizer builds are too slow for 300 ms leases on a busy machine.
	[ -z "${LEADERRUN_SANITIZED:-}" ] || skip "timing-sensitive"
	# (The run directory goes to /tmp: the contenders run as nobody.)
	run env LEADERRUN="$LEADERRUN" TMPDIR=/tmp \
	    "$BATS_TEST_DIRNAME/chaos.sh" -q -T 300 -S 50
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" = 0 ]
	[[ "${lines[0]}" =~ ^chaos:\ [0-9]+\ terms,\ [0-9]+\ faults,\ 0\ overlaps,\ 0\ leaks$ ]]
}

@test "chaos: the checker names overlapping intervals, term regressions and unended processes" {
	cat > "$OUT/log" <<-'EOF'
	B 1000000 start
	S 1000100 n1 1 11 aaaa job --
	E 1050000 n1 1 11 aaaa exit
	D 1050100 n1 1 11 aaaa job
	S 1049000 n2 2 22 bbbb job --
	D 1090000 n2 2 22 bbbb job
	S 1100000 n3 2 33 cccc job i-
	S 1100500 n3 2 34 cccc straggler i-
	E 1120000 n3 2 33 cccc term
	F 1060000 kill-sup 99 n2 leaderrun
	R 1051000 n1 0
	R 1061000 n2 137
	EOF
	run "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	printf '%s\n' "${lines[@]}" >&2
	[ "$status" = 1 ]
	[ "${lines[0]}" = "chaos: 3 terms, 1 faults, 1 overlaps, 0 leaks" ]
	[[ "$output" == *"OVERLAP: n1 term 1 pid 11 [0.100 ms, 50.000 ms] and n2 term 2 pid 22 [49.000 ms, 90.000 ms] overlap by 1.000 ms"* ]]
	[[ "$output" == *"TERM ORDER: n3 term 2 pid 33"*"started after n2 term 2 pid 22"* ]]
	[[ "$output" == *"unended: straggler process 34 of n3 term 2"* ]]
	# The same without the faults is clean: a process's own end stamp counts,
	# a straggler's end is part of its job, back-to-back is not an overlap.
	cat > "$OUT/log" <<-'EOF'
	B 1000000 start
	S 1000100 n1 1 11 aaaa job -s
	S 1000200 n1 1 12 aaaa straggler -s
	E 1050000 n1 1 11 aaaa exit
	D 1070000 n1 1 12 aaaa straggler
	D 1090000 n1 1 11 aaaa job
	S 1070000 n2 2 22 bbbb job --
	D 1080000 n2 2 22 bbbb job
	R - n1 0
	EOF
	run -0 "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	[ "${lines[0]}" = "chaos: 2 terms, 0 faults, 0 overlaps, 0 leaks" ]
}

@test "chaos: with --slots the checker counts jobs at once and holds each slot to one" {
	# Three at once in three slots, each slot's terms growing: clean.
	cat > "$OUT/log" <<-'EOF'
	B 1000000 start
	S 1000100 n1 5 11 aaaa job -- 0
	S 1000200 n2 3 22 bbbb job -- 1
	S 1000300 n3 9 33 cccc job -- 2
	D 1050000 n1 5 11 aaaa job
	D 1050000 n2 3 22 bbbb job
	D 1050000 n3 9 33 cccc job
	S 1060000 n4 4 44 dddd job -- 1
	D 1070000 n4 4 44 dddd job
	EOF
	run -0 env SLOTS=3 "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	printf '%s\n' "${lines[@]}" >&2
	[ "${lines[0]}" = "chaos: 4 terms, 0 faults, 0 overlaps, 0 leaks" ]
	[[ "$output" == *"--slots 3: at most 3 jobs at once; 0 times more than 3"* ]]
	# A fourth at once, a slot twice, a slot's term going back.
	cat > "$OUT/log" <<-'EOF'
	B 1000000 start
	S 1000100 n1 5 11 aaaa job -- 0
	S 1000200 n2 3 22 bbbb job -- 1
	S 1000300 n3 9 33 cccc job -- 2
	S 1000400 n4 6 44 dddd job -- 0
	D 1050000 n1 5 11 aaaa job
	D 1050000 n2 3 22 bbbb job
	D 1050000 n3 9 33 cccc job
	D 1050000 n4 6 44 dddd job
	S 1060000 n5 2 55 eeee job -- 1
	D 1070000 n5 2 55 eeee job
	EOF
	run -1 env SLOTS=3 "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	printf '%s\n' "${lines[@]}" >&2
	[[ "$output" == *"CONCURRENCY: n4 slot 0 term 6 pid 44"*"while 3 others run"* ]]
	[[ "$output" == *"OVERLAP: n1 slot 0 term 5 pid 11"*"and n4 slot 0 term 6 pid 44"* ]]
	[[ "$output" == *"TERM ORDER: n5 slot 1 term 2 pid 55"*"started after n2 slot 1 term 3 pid 22"* ]]
	[[ "$output" == *"at most 4 jobs at once; 1 times more than 3"* ]]
	# Without slots, any two at once are an overlap.
	run -1 "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	[[ "${lines[0]}" == *", 3 overlaps, "* ]]
}

@test "chaos: a death the monitor stamps late is bounded by the end of its leaderrun, unless that was killed" {
	# A loaded machine once stamped a SIGKILLed job's death 10 ms after
	# its leaderrun had exited and the next job had started: that is no
	# overlap.  A SIGKILLed leaderrun bounds nothing (its job may live on).
	cat > "$OUT/log" <<-'EOF'
	B 1000000 start
	S 1000100 n3 1 11 aaaa job i-
	F 1040000 kill-job 11 n3 chaos-job
	R 1041000 n3 137
	S 1042000 n5 2 22 bbbb job --
	D 1052000 n3 1 11 aaaa job
	E 1060000 n5 2 22 bbbb exit
	D 1060100 n5 2 22 bbbb job
	R 1061000 n5 0
	EOF
	run -0 "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	[ "${lines[0]}" = "chaos: 2 terms, 1 faults, 0 overlaps, 0 leaks" ]
	sed -i 's/^F 1040000 kill-job 11 n3 chaos-job$/F 1040000 kill-sup 10 n3 leaderrun/' "$OUT/log"
	run -1 "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	[ "${lines[0]}" = "chaos: 2 terms, 1 faults, 1 overlaps, 0 leaks" ]
	# Nor does one that failed itself (125).
	sed -i 's/^F 1040000 kill-sup 10 n3 leaderrun$/F 1040000 kill-job 11 n3 chaos-job/; s/^R 1041000 n3 137$/R 1041000 n3 125/' "$OUT/log"
	run -1 "$BATS_TEST_DIRNAME/chaos.sh" -C "$OUT/log"
	[ "${lines[0]}" = "chaos: 2 terms, 1 faults, 1 overlaps, 0 leaks" ]
}

@test "chaos: after the lease file is removed, the next leader's term is still higher" {
	# A short lease: the removed record is waited out for one lease.
	run -0 lr -l t "${FAST[@]}" -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 1 ]
	run -0 lr -l t "${FAST[@]}" -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 2 ]
	rm "$DIR/t.lease"
	# The fencing token must not go back to 1: whoever saw term 2 (a
	# database fencing on it) would take the new leader for a stale one, or
	# two leaders for one.
	run -0 lr -l t "${FAST[@]}" -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" -gt 2 ]
}

@test "chaos: removing the lease file under a leader that took over by expiry never gives two leaders: L, R, X one after another" {
	need_root
	unshare --pid --fork --mount-proc true 2>/dev/null ||
	    unmet "cannot create PID namespaces (unshare --pid; package util-linux)"
	local lp
	cat > "$OUT/job" <<-'EOF'
	#!/bin/bash
	echo "$1 start ${EPOCHREALTIME/[.,]/} $LEADERRUN_TERM" >> "$2"
	trap 'echo "$1 end ${EPOCHREALTIME/[.,]/} $LEADERRUN_TERM" >> "$2"; exit 0' TERM
	for i in $(seq 300); do sleep 0.01; done
	echo "$1 end ${EPOCHREALTIME/[.,]/} $LEADERRUN_TERM" >> "$2"
	EOF
	chmod +x "$OUT/job"
	# L leads on this host.
	bg l -l t -i L -t 1s -- "$OUT/job" L "$OUT/log"
	lp=$(pid_of l)
	wait_until 5 has "L start" "$OUT/log"
	# X waits on this host and queues on the leader lock first.  Its
	# lease is R's: R renews every 400ms, so X sees R's record change.
	bg x -l t -i X -t 1s -r 50ms -v -- "$OUT/job" X "$OUT/log"
	wait_until 5 has waiting "$OUT/x.err"
	# R, on another "host", sees L as remote.
	env --default-signal=INT,QUIT unshare --pid --fork --mount-proc \
	    "$LEADERRUN" -d "$DIR" -l t -i R -t 1s -r 400ms --renew-deadline 500ms \
	    -v -- "$OUT/job" R "$OUT/log" 2> "$OUT/r.err" &
	wait_until 5 has waiting "$OUT/r.err"
	# L freezes: its watchdog stops its job, R takes over by expiry, but
	# the leader lock stays with L.
	kill -STOP "$lp"
	wait_until 5 has "R start" "$OUT/log"
	# L wakes, steps down and exits: the leader lock goes to X, not to R.
	kill -CONT "$lp"
	wait_exit l 5
	# The record is removed while R leads: R stops at its next renewal,
	# and X, which holds the leader lock, waits the removed record out.
	rm "$DIR/t.lease"
	wait_until 5 has "R end" "$OUT/log"
	wait_until 5 has "X start" "$OUT/log"
	wait_exit x 10
	[ "$STATUS" = 0 ]
	cat "$OUT/log" >&2
	# Each of L, R and X led once, one after another, with growing terms.
	run awk '
		$2 == "start" { s[$1] = $3; t[$1] = $4 }
		$2 == "end" && !($1 in e) { e[$1] = $3 }
		END {
			n = split("L R X", o, " ")
			for (i = 1; i <= n; i++)
				if (!(o[i] in s) || !(o[i] in e)) { print o[i] " did not run to its end"; bad = 1 }
			for (i = 2; i <= n; i++) {
				p = o[i - 1]; c = o[i]
				if (s[c] < e[p]) { printf "two leaders: %s started %d ms before %s ended\n", c, (e[p] - s[c]) / 1000, p; bad = 1 }
				if (t[c] <= t[p]) { print c " term " t[c] " not above " p " term " t[p]; bad = 1 }
			}
			exit bad
		}' "$OUT/log"
	echo "$output" >&2
	[ "$status" = 0 ]
}
