#!/usr/bin/env bats
# A leader whose lease cannot be renewed stops its command (stop signal,
# then SIGKILL after kill-after) and exits 124.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

# lead ARG...: leader "l" on lease t with ARG..., its command traps TERM into
# $OUT/got; returns once the command runs.
lead() {
	bg l -l t "$@" -- "${TRAPPER[@]}" TERM "$OUT/got" "$OUT/ready" 0
	wait_for "$OUT/ready"
}

# ---- the record disappears or changes ----------------------------------

@test "a removed lease file: the command gets the stop signal and leaderrun exits 124" {
	lead "${SAFE[@]}"
	rm "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
	cat "$OUT/l.err"
	grep -q "^leaderrun: t: lost leadership: .*t.lease was removed" "$OUT/l.err"
	# It does not write a record back.
	[ ! -e "$DIR/t.lease" ]
}

@test "a lease file replaced by another holder's record: stop, 124, and the record is left alone" {
	lead "${SAFE[@]}"
	write_record "$DIR/t.lease" holder=intruder term=99 sys=x/1 pid=1 seq=99
	cp "$DIR/t.lease" "$OUT/before"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
	cat "$OUT/l.err"
	# Why: the new holder, or (store writing in place) that the file was
	# replaced under it.
	grep -Eq "lost leadership: (taken over by intruder \(term 99\)|.*t.lease was replaced)" "$OUT/l.err"
	cmp "$OUT/before" "$DIR/t.lease"
}

@test "a lease file overwritten in place by another holder's record: stop, 124, and the record is left alone" {
	lead "${SAFE[@]}"
	write_record "$OUT/intruder" holder=intruder term=99 sys=x/1 pid=1 seq=99
	cat "$OUT/intruder" > "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
	cat "$OUT/l.err"
	grep -q "lost leadership: " "$OUT/l.err"
	cmp "$OUT/intruder" "$DIR/t.lease"
}

@test "a lease file replaced by a released record: stop and 124" {
	lead "${SAFE[@]}" -i me
	write_record "$DIR/t.lease" state=released holder=me term=1 seq=99
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
}

@test "a lease file overwritten with garbage: stop, 124, and the garbage is left alone" {
	lead "${SAFE[@]}"
	echo garbage > "$DIR/t.tmp"
	mv "$DIR/t.tmp" "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
	grep -q "lost leadership: .*t.lease" "$OUT/l.err"
	[ "$(cat "$DIR/t.lease")" = garbage ]
}

@test "a lease file truncated in place: stop and 124" {
	lead "${SAFE[@]}"
	: > "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
}

@test "a removed lock file: stop and 124" {
	lead "${SAFE[@]}"
	rm "$DIR/t.lock"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
	grep -q "lost leadership: .*t.lock was removed or replaced" "$OUT/l.err"
}

@test "a replaced lock file: stop and 124" {
	lead "${SAFE[@]}"
	touch "$DIR/t.lock.new"
	mv "$DIR/t.lock.new" "$DIR/t.lock"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
}

@test "a deleted lease file never gives two leaders: the waiter starts after the old command is gone" {
	bg a -l t -t 1s -r 100ms -i a -- sh -c 'trap "sleep 0.2; exit 0" TERM
		echo $$ > "$1"
		while :; do sleep 0.01; done' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid"
	bg b -l t -t 1s -r 100ms -i b -v -- sh -c '
		cat "/proc/$(cat "$1")/stat" > "$2" 2>/dev/null; touch "$3"' \
	    sh "$OUT/cmd.pid" "$OUT/old.stat" "$OUT/b.started"
	wait_until 5 has waiting "$OUT/b.err"
	rm "$DIR/t.lease"
	wait_for "$OUT/b.started" 5
	if [ -s "$OUT/old.stat" ]; then
		cat "$OUT/old.stat"
		[[ "$(cat "$OUT/old.stat")" == *") Z "* ]]
	fi
	wait_exit a
	[ "$STATUS" = 124 ]
	wait_exit b
	[ "$STATUS" = 0 ]
}

# ---- renewals fail -----------------------------------------------------------

@test "an unwritable lock dir does not stop a leader: the record is renewed in place" {
	need_root
	need_cmd setpriv util-linux
	id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null ||
	    unmet "needs user nobody and group nogroup (package base-passwd)"
	EXTRA_DIR=$(mktemp -d /tmp/lrt-nobody.XXXXXX)
	chmod 755 "$EXTRA_DIR"
	d=$EXTRA_DIR/locks m=$EXTRA_DIR/marks
	mkdir "$d" "$m"
	chown nobody:nogroup "$d" "$m"
	# A copy nobody can run: the checkout may lie under a directory nobody
	# cannot enter (a 0700 mktemp -d, /root).
	cp "$LEADERRUN" "$EXTRA_DIR/leaderrun"
	chmod 755 "$EXTRA_DIR/leaderrun"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env --default-signal=INT,QUIT "$EXTRA_DIR/leaderrun" -d "$d" -l t -t 1s -r 100ms -- \
	    "${TRAPPER[@]}" TERM "$m/got" "$m/ready" 0 > "$OUT/l.out" 2> "$OUT/l.err" &
	pid=$!
	wait_for "$m/ready"
	[ "$(stat -c %U "$d/t.lease")" = nobody ]
	chmod 555 "$d"
	s1=$(cat "$d/t.lease" | md5sum)
	sleep 1.5	# asserting that nothing happens: longer than the lease
	[ ! -e "$m/got" ]
	kill -0 "$pid"
	[ "$(cat "$d/t.lease" | md5sum)" != "$s1" ]
	kill -TERM "$pid"
	wait "$pid" || true
	chmod 755 "$d"
	[ ! -s "$OUT/l.err" ] || ! grep -q "lost leadership" "$OUT/l.err"
}

@test "a command that ignores the stop signal gets SIGKILL after kill-after; leaderrun still exits 124 promptly" {
	# The command notes SIGTERM and goes on.
	bg l -l t -t 1s -r 50ms -k 200ms -- sh -c 'trap "echo TERM > \"\$2\"" TERM
		echo $$ > "$1.new"; mv "$1.new" "$1"; while :; do sleep 0.01; done' sh "$OUT/cmd.pid" "$OUT/got"
	wait_for "$OUT/cmd.pid"
	cmd=$(cat "$OUT/cmd.pid")
	t0=$(now_ms)
	rm "$DIR/t.lease"
	wait_exit l 5
	took=$(elapsed_ms "$t0")
	echo "exit ${took}ms after the loss (retry 50ms, kill-after 200ms)"
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
	[ "$took" -ge 200 ]
	[ "$took" -le 1500 ]
	dead "$cmd"
}

@test "a stop signal that is ignored by the whole group: all of it is SIGKILLed" {
	bg l -l t "${SAFE[@]}" -- sh -c 'trap "" TERM
		(exec sleep 100) & echo $! > "$1.new"; mv "$1.new" "$1"; touch "$2"; wait' sh "$OUT/kid.pid" "$OUT/ready"
	wait_for "$OUT/ready"
	kid=$(cat "$OUT/kid.pid")
	rm "$DIR/t.lease"
	wait_exit l 5
	[ "$STATUS" = 124 ]
	dead "$kid"
}

# A hanging store under a leader (its record lock held elsewhere), on every
# store: scenarios.suite (40-42).

@test "a hanging store does not delay -w: it gives up on time" {
	touch "$DIR/t.lock"
	hold_mutex "$DIR/t.lock" "$OUT/locked"
	wait_for "$OUT/locked"
	t0=$(now_ms)
	run -75 timeout 10 "$LEADERRUN" -d "$DIR" -l t "${FAST[@]}" -w 300ms -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "gave up after ${took}ms"
	# On time: -w, and the renew-deadline (200ms) its stop gets from a
	# store that does not answer; not a moment for the store.
	[ "$took" -lt $((300 + 200 + AT_ONCE_MS)) ]
	[ ! -e "$OUT/ran" ]
}

@test "a hanging store does not hang -n" {
	touch "$DIR/t.lock"
	hold_mutex "$DIR/t.lock" "$OUT/locked"
	wait_for "$OUT/locked"
	t0=$(now_ms)
	run timeout 2 "$LEADERRUN" -d "$DIR" -l t "${FAST[@]}" -n -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "exit $status after ${took}ms"
	# Not elected (75) or a store error (125); 124 is timeout(1) killing it.
	[ "$status" = 75 ] || [ "$status" = 125 ]
	[ "$took" -lt 2000 ]
	[ ! -e "$OUT/ran" ]
}

@test "a signal ends a contender stuck on a hanging store" {
	touch "$DIR/t.lock"
	hold_mutex "$DIR/t.lock" "$OUT/locked"
	wait_for "$OUT/locked"
	bg w -l t "${FAST[@]}" -- touch "$OUT/ran"
	sleep 0.2
	t0=$(now_ms)
	kill -TERM "$(pid_of w)"
	wait_exit w 5
	took=$(elapsed_ms "$t0")
	echo "exit $STATUS ${took}ms after SIGTERM"
	[ "$STATUS" = 143 ]
	[ "$took" -lt 2000 ]
	[ ! -e "$OUT/ran" ]
}

@test "a renewal failure shorter than renew-deadline does not stop the command" {
	bg l -l t -t 3s -r 50ms --renew-deadline 900ms -v -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	cp "$DIR/t.lease" "$OUT/saved"
	ln -s "$OUT/elsewhere" "$DIR/t.swap"
	mv -T "$DIR/t.swap" "$DIR/t.lease"
	sleep 0.25
	cp "$OUT/saved" "$DIR/t.tmp"
	mv "$DIR/t.tmp" "$DIR/t.lease"
	sleep 0.9 # past the deadline counted from the failure
	alive "$(pid_of l)"
	touch "$OUT/go"
	wait_exit l
	cat "$OUT/l.err"
	[ "$STATUS" = 0 ]
	grep -q "symbolic link" "$OUT/l.err"
	run ! grep -q "lost leadership" "$OUT/l.err"
	[ "$(field state)" = released ]
}

@test "the command is stopped before the lease could expire for a remote observer" {
	# From the last successful renewal, the command must be dead within
	# renew-deadline + kill-after < lease-duration.
	bg l -l t -t 1200ms -r 100ms --renew-deadline 500ms -k 300ms -- sh -c 'trap "" TERM; echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid"
	hold_mutex "$DIR/t.lock" "$OUT/locked"
	wait_for "$OUT/locked"
	t0=$(now_ms)
	wait_until 3 dead "$(cat "$OUT/cmd.pid")"
	took=$(elapsed_ms "$t0")
	echo "command dead ${took}ms after the last possible renewal (lease 1200ms)"
	[ "$took" -ge 650 ] # renew-deadline + kill-after, less one retry period
	[ "$took" -lt 1200 ]
	wait_exit l 5
	[ "$STATUS" = 124 ]
}
