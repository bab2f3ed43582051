#!/usr/bin/env bats
# A leader on a "second host": another UTS and PID namespace (so another host
# name and another sys= identity) over the same lock directory.  Such a holder
# counts as remote: it expires by observation, after lease-duration unchanged.
load helpers

setup() {
	lr_setup
	# A second host needs namespaces; in CI a failure, never a skip.
	unshare --uts --pid --fork --mount-proc true 2>/dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
}
teardown() { lr_teardown; }

# remote NAME ARG...: run leaderrun -d DIR ARG... in the background on host
# "other-host" (new UTS and PID namespaces).  $OUT/NAME.pid is unshare's pid,
# whose exit status is leaderrun's; $OUT/NAME.lr gets leaderrun's own pid.
remote() {
	local n=$1 p
	shift
	unshare --uts --pid --fork --mount-proc \
	    sh -c 'hostname other-host && exec "$@"' sh "$LEADERRUN" -d "$DIR" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

# remote_pid NAME: leaderrun's pid (in our namespace) of remote job NAME.
remote_pid() { pgrep -P "$(pid_of "$1")"; }

# The remote command: writes its pid as we see it (the ns-local $$ is of no
# use to us: its parent, leaderrun, tells), traps TERM into a marker, and runs
# until killed.
REMOTE_CMD=(sh -c 'trap "touch \"\$1.term\"; exit 0" TERM; touch "$1.ready"
	while :; do sleep 0.01; done' remote)

# The lease of these tests: the remote leader renews every 100ms, steps
# down 300ms after its last renewal, SIGKILLs 400ms after that.
RL=800

# start_remote_leader: remote leader "old" on lease t (-t ${RL}ms), running
# REMOTE_CMD; sets LR (its supervisor) and CMD (its command), both as we see
# them.
start_remote_leader() {
	remote old -l t -t ${RL}ms -r 100ms --renew-deadline 300ms -k 400ms \
	    -i old-node "$@" -- "${REMOTE_CMD[@]}" "$OUT/old"
	wait_for "$OUT/old.ready" 5
	LR=$(remote_pid old)
	CMD=$(pgrep -P "$LR" -x sh)
	[ -n "$LR" ] && [ -n "$CMD" ]
}

# snapshot: the fields of the record that name its holder and term.
snapshot() {
	local k
	for k in state holder host sys pid start term acquired lease_ms; do
		echo "$k=$(field $k)"
	done
}

@test "a leader in another namespace writes its own host and sys identity" {
	start_remote_leader
	cat -v "$DIR/t.lease"
	[ "$(field host)" = other-host ]
	[ "$(field holder)" = old-node ]
	[ "$(field state)" = held ]
	[ "$(field sys)" != "$(sys_id)" ]
	[ -n "$(field sys)" ]
	run -0 lr -l t --status
	[[ "$output" == *"holder:"*"old-node"* ]]
	[[ "$output" == *"host:"*"other-host"* ]]
}

@test "a live remote leader that keeps renewing is never overtaken" {
	start_remote_leader
	t0=$(now_ms)
	run -75 lr -l t -t ${RL}ms -w $((RL * 2))ms -i new-node -- touch "$OUT/new.started"
	echo "waited $(elapsed_ms "$t0")ms"
	[ ! -e "$OUT/new.started" ]
	[ "$(field holder)" = old-node ]
	[ ! -e "$OUT/old.term" ]
}

@test "a contender with a shorter lease does not overtake a live remote leader with a longer one" {
	# The remote leader renews every 200ms (lease 1s); the record says
	# lease_ms=1000.  A contender configured with -t 100ms must not read a
	# 100ms silence as expiry.
	remote old -l t -t 1s -i old-node -- "${REMOTE_CMD[@]}" "$OUT/old"
	wait_for "$OUT/old.ready" 5
	[ "$(field lease_ms)" = 1000 ]
	run -75 lr -l t -t 100ms -w 800ms -i new-node -- touch "$OUT/new.started"
	[ ! -e "$OUT/new.started" ]
	[ "$(field holder)" = old-node ]
	[ ! -e "$OUT/old.term" ]
}

@test "-n does not overtake a live remote leader" {
	start_remote_leader
	run -75 lr -l t -t ${RL}ms -n -- touch "$OUT/new.started"
	[ ! -e "$OUT/new.started" ]
}

@test "a stopped remote leader is taken over after about the lease duration, not before" {
	start_remote_leader
	kill -STOP "$LR"
	t0=$(now_ms)
	bg new -l t -t ${RL}ms -i new-node -- touch "$OUT/new.started"
	wait_for "$OUT/new.started" 5
	took=$(elapsed_ms "$t0")
	echo "took over ${took}ms after the stop (lease ${RL}ms)"
	# Not before: a start seen late only makes took larger.
	[ "$took" -ge $((RL - 20)) ]
	[ "$took" -lt $((RL * 3)) ]
	wait_exit new
	[ "$STATUS" = 0 ]
	kill -CONT "$LR"
}

@test "a stopped remote leader's command is dead before the new leader's command starts" {
	start_remote_leader
	kill -STOP "$LR"
	bg new -l t -t ${RL}ms -i new-node -- sh -c '
		cat "/proc/$1/stat" > "$2" 2>/dev/null; touch "$3"' \
	    sh "$CMD" "$OUT/old.stat" "$OUT/new.started"
	wait_for "$OUT/new.started" 5
	if [ -s "$OUT/old.stat" ]; then
		cat "$OUT/old.stat"
		[[ "$(cat "$OUT/old.stat")" == *") Z "* ]]
	fi
	# It got the stop signal (a grace period), not only SIGKILL.
	[ -e "$OUT/old.term" ]
	kill -CONT "$LR"
}

@test "a resumed remote leader that was overtaken stops at once with 124 and leaves the new record alone" {
	start_remote_leader
	old_term=$(field term)
	kill -STOP "$LR"
	bg new -l t -t ${RL}ms -i new-node -- "${HOLD[@]}" "$OUT/new.started" "$OUT/go"
	wait_for "$OUT/new.started" 5
	[ "$(field holder)" = new-node ]
	before=$(snapshot)
	t0=$(now_ms)
	kill -CONT "$LR"
	wait_exit old 3
	took=$(elapsed_ms "$t0")
	echo "old leader exited ${took}ms after SIGCONT with $STATUS"
	cat "$OUT/old.err"
	[ "$STATUS" = 124 ]
	[ "$took" -lt 1500 ]
	dead "$CMD"
	grep -q "lost leadership" "$OUT/old.err"
	# The new holder's record is untouched by the old leader (the new
	# leader may have renewed it meanwhile, but it is still its own).
	[ "$(field holder)" = new-node ]
	[ "$(field state)" = held ]
	[ "$(field host)" = "$(hostname)" ]
	[ "$(field term)" -gt "$old_term" ]
	[ "$(snapshot)" = "$before" ]
	touch "$OUT/go"
	wait_exit new
	[ "$STATUS" = 0 ]
}

@test "a remote leader that releases is followed at once, without waiting out the lease" {
	remote old -l t -t 10s -r 2s -i old-node -- "${HOLD[@]}" "$OUT/old.ready" "$OUT/go"
	wait_for "$OUT/old.ready" 5
	bg new -l t -t 10s -r 2s -i new-node -v -- touch "$OUT/new.started"
	wait_until 5 has waiting "$OUT/new.err"
	t0=$(now_ms)
	touch "$OUT/go"
	wait_for "$OUT/new.started" 5
	took=$(elapsed_ms "$t0")
	echo "took over ${took}ms after the remote leader finished (lease 10s, retry 2s)"
	[ "$took" -lt "$AT_ONCE_MS" ]
	wait_exit old
	[ "$STATUS" = 0 ]
}

@test "a remote leader killed with SIGKILL is taken over a full lease duration after the contender started" {
	# The man page: a contender that starts after the holder died still
	# waits a full lease duration (it cannot know since when the record
	# has not changed).  So time it from its own start, not the kill.
	start_remote_leader
	kill -KILL "$LR"
	wait_exit old
	wait_until 2 dead "$CMD"
	sleep 0.$((RL / 100))	# the record is older than a lease already
	t0=$(now_ms)
	run -0 lr -l t -t ${RL}ms -w 5s -i new-node -- sh -c 'echo $LEADERRUN_TERM'
	took=$(elapsed_ms "$t0")
	echo "took over ${took}ms after it started, term $output (lease ${RL}ms)"
	[ "$output" = 2 ]
	[ "$took" -ge "$RL" ]
}
