#!/usr/bin/env bats
# Signals to leaderrun, and what the command leaves behind.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

# forwarded SIG: SIG sent to a leading leaderrun reaches the command, which
# exits 3 from its trap; leaderrun exits 3.
forwarded() {
	bg l -l t "${SAFE[@]}" -- "${TRAPPER[@]}" "$1" "$OUT/got" "$OUT/ready" 3
	wait_for "$OUT/ready"
	kill -"$1" "$(pid_of l)"
	wait_exit l
	[ "$(cat "$OUT/got")" = "$1" ]
	[ "$STATUS" = 3 ]
	[ "$(field state)" = released ]
}

# ---- forwarding --------------------------------------------------------------

@test "SIGINT to leaderrun is forwarded to the command" {
	forwarded INT
}

@test "SIGTERM to leaderrun is forwarded to the command" {
	forwarded TERM
}

@test "SIGHUP to leaderrun is forwarded to the command" {
	forwarded HUP
}

@test "SIGQUIT to leaderrun is forwarded to the command" {
	forwarded QUIT
}

@test "SIGUSR1 to leaderrun is forwarded to the command" {
	forwarded USR1
}

@test "SIGUSR2 to leaderrun is forwarded to the command" {
	forwarded USR2
}

@test "a forwarded signal reaches the command's whole process group" {
	bg l -l t "${SAFE[@]}" -- sh -c '
		(trap "touch \"$1.kid\"; exit 0" USR1; touch "$1.kidready"
		 while :; do sleep 0.01; done) &
		trap "touch \"$1.parent\"; wait; exit 0" USR1
		until [ -e "$1.kidready" ]; do sleep 0.01; done; touch "$1.ready"
		while :; do sleep 0.01; done' sh "$OUT/m"
	wait_for "$OUT/m.ready"
	kill -USR1 "$(pid_of l)"
	wait_exit l
	[ "$STATUS" = 0 ]
	[ -e "$OUT/m.parent" ]
	[ -e "$OUT/m.kid" ]
}

@test "a command killed by a forwarded signal gives 128+N" {
	for sig in TERM USR1; do
		rm -f "$OUT/ready"
		bg l -l t "${SAFE[@]}" -- sh -c 'touch "$1"; exec sleep 100' sh "$OUT/ready"
		wait_for "$OUT/ready"
		kill -$sig "$(pid_of l)"
		wait_exit l
		[ "$STATUS" = $((128 + $(kill -l $sig))) ]
	done
}

@test "a command that handles a forwarded signal and goes on keeps leaderrun running" {
	bg l -l t "${SAFE[@]}" -- sh -c 'trap "touch \"$1.hup\"" HUP; touch "$1.ready"
		until [ -e "$1.go" ]; do sleep 0.01; done; exit 5' sh "$OUT/m"
	wait_for "$OUT/m.ready"
	kill -HUP "$(pid_of l)"
	wait_for "$OUT/m.hup"
	sleep 0.3
	alive "$(pid_of l)"
	[ "$(field state)" = held ]
	touch "$OUT/m.go"
	wait_exit l
	[ "$STATUS" = 5 ]
}

@test "a signal while still waiting ends leaderrun with 128+N without running the command" {
	bg a -l t -t 10s -i a -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	for sig in INT TERM HUP QUIT USR1 USR2; do
		rm -f "$OUT/w.err"
		bg w -l t -t 10s -v -- touch "$OUT/ran"
		wait_until 5 has waiting "$OUT/w.err"
		t0=$(now_ms)
		kill -$sig "$(pid_of w)"
		wait_exit w 5
		echo "$sig: exit $STATUS after $(elapsed_ms "$t0")ms"
		[ "$STATUS" = $((128 + $(kill -l $sig))) ]
		[ "$(elapsed_ms "$t0")" -lt 2000 ]
		[ ! -e "$OUT/ran" ]
	done
	# The leader went on undisturbed.
	[ "$(field holder)" = a ]
	[ "$(field state)" = held ]
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "a signal while waiting leaves the next contender free to take over" {
	bg a -l t "${SAFE[@]}" -i a -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg w -l t "${FAST[@]}" -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	kill -TERM "$(pid_of w)"
	wait_exit w
	[ "$STATUS" = 143 ]
	touch "$OUT/go"
	wait_exit a
	run -0 lr -l t "${FAST[@]}" -n -- echo took
	[ "$output" = took ]
}

@test "a signal that races the election is never lost: the command does not run, or it gets the signal" {
	# The worker starts the command the moment it is elected, while the
	# loop may be handling a signal: one of them wins.  Sweep the signal
	# across the handover, from before it to after the command started; a
	# lost signal shows as a command that ran to its end (exit 0 after 2s)
	# without its trap.  The sweep must see both outcomes, or it never
	# crossed the race: 12 rounds in 2ms steps, then, 40 rounds at most,
	# delays that double (below the command's 2s) while the command never
	# ran, or back to no delay while it always did: the election now
	# follows the holder's death by less than the shell's gap between two
	# kills, so "not run" shows only there.
	local i=0 d ms=0 ws apid wpid n_ran=0 n_not=0
	exec {sfd}<> <(:)
	while [ $i -lt 40 ] && { [ $i -lt 12 ] || [ $n_ran = 0 ] || [ $n_not = 0 ]; }; do
		rm -f "$OUT/ran" "$OUT/got" "$OUT/apid"
		bg a -l race "${FAST[@]}" -i a -- sh -c 'echo $$ > "$1"; exec sleep 60' x "$OUT/apid"
		wait_for "$OUT/apid"
		bg w -l race "${FAST[@]}" -i w -v -- sh -c 'trap "touch \"$1\"; exit 3" TERM
			touch "$2"; sleep 2 & wait' x "$OUT/got" "$OUT/ran"
		wait_until 5 has waiting "$OUT/w.err"
		d=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
		apid=$(cat "$OUT/apid") wpid=$(pid_of w)
		kill -KILL "$apid"
		[ "$ms" = 0 ] || read -r -t "$d" -u "$sfd" || :
		kill -TERM "$wpid"
		wait_exit w 5
		ws=$STATUS
		wait_exit a 5
		sed "s/^/  w: /" "$OUT/w.err"
		echo "delay ${d}s: exit $ws, ran $([ -e "$OUT/ran" ] && echo yes || echo no), got $([ -e "$OUT/got" ] && echo yes || echo no)"
		if [ -e "$OUT/got" ]; then
			# The command ran (far enough to set its trap) and got it.
			n_ran=$((n_ran + 1))
			[ "$ws" = 3 ]
		else
			# A lost signal: the command ran on without it.
			[ ! -e "$OUT/ran" ]
			n_not=$((n_not + 1))
			[ "$ws" = 143 ]
		fi
		i=$((i + 1))
		if [ $i -lt 12 ]; then
			ms=$((i * 2))
		elif [ $n_ran = 0 ]; then
			ms=$((ms * 2 > 1000 ? 1000 : ms * 2))
		else
			ms=0
		fi
	done
	echo "ran $n_ran, not run $n_not, in $i rounds"
	[ "$n_ran" -gt 0 ]
	[ "$n_not" -gt 0 ]
}

# ---- stragglers ------------------------------------------------------------------

@test "a background child the command left behind is stopped before leaderrun exits" {
	run -0 timeout 10 "$LEADERRUN" -d "$DIR" -l t "${FAST[@]}" -- \
	    sh -c 'sleep 100 > /dev/null 2>&1 & echo $! > "$1.new"; mv "$1.new" "$1"; exit 0' sh "$OUT/kid.pid"
	kid=$(cat "$OUT/kid.pid")
	dead "$kid"
}

@test "the lease is released only after the stragglers are gone" {
	run -0 timeout 10 "$LEADERRUN" -d "$DIR" -l t "${SAFE[@]}" -- sh -c '
		(trap "cp \"$1\" \"$2\"; exit 0" TERM; touch "$3"
		 while :; do sleep 0.01; done) > /dev/null 2>&1 &
		until [ -e "$3" ]; do sleep 0.01; done; exit 0' \
	    sh "$DIR/t.lease" "$OUT/seen.lease" "$OUT/ready"
	# The record as the straggler saw it when it got the stop signal.
	[ "$(DIR=$OUT field state seen)" = held ]
	[ "$(field state)" = released ]
}

@test "the exit status is the command's, not the stragglers'" {
	run -6 timeout 10 "$LEADERRUN" -d "$DIR" -l t "${FAST[@]}" -- \
	    sh -c 'sleep 100 > /dev/null 2>&1 & exit 6'
}

@test "a straggler that ignores the stop signal is SIGKILLed after kill-after" {
	t0=$(now_ms)
	run -0 timeout 10 "$LEADERRUN" -d "$DIR" -l t -t 1s -k 250ms -- sh -c '
		(trap "" TERM; touch "$2"; exec sleep 100) > /dev/null 2>&1 & echo $! > "$1"
		until [ -e "$2" ]; do sleep 0.01; done; exit 0' \
	    sh "$OUT/kid.pid" "$OUT/kid.ready"
	took=$(elapsed_ms "$t0")
	echo "leaderrun exited after ${took}ms (kill-after 250ms)"
	dead "$(cat "$OUT/kid.pid")"
	[ "$took" -ge 250 ]
	# The election and the command's own start, kill-after, an exit.
	[ "$took" -lt $((250 + AT_ONCE_MS)) ]
}

@test "a straggler in a session of its own is stopped too" {
	run -0 timeout 10 "$LEADERRUN" -d "$DIR" -l t "${FAST[@]}" -- sh -c '
		setsid sh -c "echo \$\$ > \"$1\"; exec sleep 100" > /dev/null 2>&1 &
		until [ -s "$1" ]; do sleep 0.01; done; exit 0' sh "$OUT/kid.pid"
	kid=$(cat "$OUT/kid.pid")
	dead "$kid"
}

@test "a double-forked daemon of the command is stopped too" {
	run -0 timeout 10 "$LEADERRUN" -d "$DIR" -l t "${FAST[@]}" -- sh -c '
		sh -c "setsid sh -c \"echo \\\$\\\$ > $1; exec sleep 100\" > /dev/null 2>&1 &"
		until [ -s "$1" ]; do sleep 0.01; done; exit 0' sh "$OUT/kid.pid"
	dead "$(cat "$OUT/kid.pid")"
}

@test "a waiting contender starts only after the stragglers are gone" {
	bg a -l t -t 1s -k 300ms -i a -- sh -c '
		(trap "" TERM; touch "$2"; exec sleep 100) > /dev/null 2>&1 & echo $! > "$1"
		until [ -e "$3" ]; do sleep 0.01; done; exit 0' \
	    sh "$OUT/kid.pid" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg b -l t -t 1s -i b -v -- sh -c '
		cat "/proc/$(cat "$1")/stat" > "$2" 2>/dev/null; touch "$3"' \
	    sh "$OUT/kid.pid" "$OUT/kid.stat" "$OUT/b.started"
	wait_until 5 has waiting "$OUT/b.err"
	touch "$OUT/go"
	wait_for "$OUT/b.started" 5
	if [ -s "$OUT/kid.stat" ]; then
		cat "$OUT/kid.stat"
		[[ "$(cat "$OUT/kid.stat")" == *") Z "* ]]
	fi
	wait_exit a
	[ "$STATUS" = 0 ]
}

# ---- nothing outlives leaderrun -----------------------------------------------

# leftovers: processes this test started (LRT_TAG) that are still alive,
# other than the test's shell.
leftovers() {
	local p pids out=
	pids=$(grep -lzxF "LRT_TAG=$LRT_TAG" /proc/[0-9]*/environ 2>/dev/null |
	    cut -d/ -f3) || true
	for p in $pids; do
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		alive "$p" && out+="$p:$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null) "
	done
	echo "$out"
}

nothing_left() { [ -z "$(leftovers)" ]; }

@test "nothing of leaderrun or its command is left after the command exits" {
	run -0 lr -l t "${FAST[@]}" -- sh -c 'sleep 100 > /dev/null 2>&1 & exit 0'
	left=$(leftovers)
	echo "left: $left"
	[ -z "$left" ]
}

@test "nothing is left after leadership was lost" {
	bg l -l t "${SAFE[@]}" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	rm "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
	wait_until 2 nothing_left || { leftovers; false; }
}

@test "nothing is left after the supervisor was killed with SIGKILL" {
	bg l -l t -t 10s -- sh -c '(exec sleep 100) & touch "$1"; exec sleep 100' sh "$OUT/ready"
	wait_for "$OUT/ready"
	kill -KILL "$(pid_of l)"
	wait_exit l
	wait_until 2 nothing_left || { leftovers; false; }
}

@test "a supervisor killed by its command's first action still has the command's group stopped" {
	# The watchdog is armed before the command starts, not forked after:
	# even a kill in the command's first instructions leaves no child of
	# it running (repeated, as the old window was a race).
	for i in 1 2 3 4 5; do
		rm -f "$OUT/kid"
		bg l -l t -t 10s -- sh -c 'sleep 100 & echo $! > "$1"; kill -KILL $PPID; wait' sh "$OUT/kid"
		wait_exit l
		[ "$STATUS" = 137 ]
		wait_for "$OUT/kid"
		wait_until 2 dead "$(cat "$OUT/kid")" || { leftovers; false; }
	done
	wait_until 2 nothing_left || { leftovers; false; }
}

@test "a watchdog that was never armed leaves with its leaderrun" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg w -l t -t 10s -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	# The waiter's three processes: supervisor, held command, watchdog.
	[ "$(pgrep -c -f "^$LEADERRUN -d $DIR -l t -t 10s -v")" = 3 ]
	kill -KILL "$(pid_of w)"
	wait_exit w
	wait_until 2 eval '[ "$(pgrep -c -f "^$LEADERRUN -d $DIR -l t -t 10s -v")" = 0 ]'
	[ ! -e "$OUT/ran" ]
	# The leader is untouched.
	[ "$(field state)" = held ]
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "nothing is left after -n or -w gave up" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -75 lr -l t -n -- true
	run -75 lr -l t -w 100ms -- true
	touch "$OUT/go"
	wait_exit a
	wait_until 2 nothing_left || { leftovers; false; }
}

# ---- terminal --------------------------------------------------------------------

@test "in a terminal the command runs as the foreground process group, and the terminal is given back" {
	need_cmd script bsdutils
	run -0 timeout 10 script -qec "'$LEADERRUN' -d '$DIR' -l t -- sh -c 'ps -o pgid=,tpgid= -p \$\$'; ps -o pgid=,tpgid= -p \$\$" /dev/null
	echo "$output"
	set -- $(tr -d '\r' <<< "$output")
	[ "$#" = 4 ]
	[ "$1" = "$2" ] # the command's group owned the terminal
	[ "$3" = "$4" ] # and the shell's group has it back
	[ "$1" != "$3" ]
}
