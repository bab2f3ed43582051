#!/usr/bin/env bats
# --min-hold DUR: the leader keeps the lease, renewing it, until DUR after
# its election even when the command ends sooner, so that the same cron job
# firing a little later on another host finds the lease held.  The record
# says done meanwhile; the exit status is always the command's.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

# Slack for upper time bounds on a busy machine (ms).
SLACK=1500
[ -z "${LEADERRUN_SANITIZED:-}" ] || SLACK=4000

# done_marked [NAME]: the record of NAME (default t) says the command is done.
done_marked() { [ "$(field done "${1:-t}")" = 1 ]; }

# job_named: the record of t names the command's process group.
job_named() { [ "$(field job)" -gt 0 ] 2> /dev/null; }

# hold NAME ARG...: leader NAME on lease t that holds for 10s after its
# command (exit status 3); returns once the record says done.
hold() {
	local n=$1
	shift
	bg "$n" -l t "${SAFE[@]}" -v --min-hold 10s "$@" -- sh -c 'exit 3'
	wait_until 5 done_marked
}

@test "min-hold: the lease is kept for DUR after the election, then released; the status is the command's" {
	local t0
	t0=$(now_ms)
	run --separate-stderr -3 lr -l t "${SAFE[@]}" -v --min-hold 700ms -- sh -c 'exit 3'
	[ "$(elapsed_ms "$t0")" -ge 700 ]
	[[ "$stderr" == *"t: command exited (status 3)"* ]]
	[[ "$stderr" == *"t: command done; holding the lease for "*" more (min-hold)"* ]]
	[[ "$stderr" == *"t: min-hold over"* ]]
	[ "$(field state)" = released ]
}

@test "min-hold: during the hold the record and --status say done, with no job" {
	hold a
	[ "$(field state)" = held ]
	[ "$(field job)" = 0 ]
	run --separate-stderr -0 lr -l t --status
	echo "$output"
	grep -qx 'command:    done (holding until min-hold ends)' <<< "$output"
	grep -qx 'alive:      yes' <<< "$output"
}

@test "min-hold: a -n contender gets the conflict code during the hold, and its command never runs" {
	hold a
	run -75 lr -l t -n -- touch "$OUT/ran"
	run -0 lr -l t -n -E 0 -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	alive "$(pid_of a)"
}

@test "min-hold: while the command runs, --status says running with its process group" {
	bg a -l t "${SAFE[@]}" --min-hold 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	wait_until 5 job_named
	run -0 lr -l t --status
	grep -qx "command:    running (process group $(field job))" <<< "$output"
	touch "$OUT/go"
	wait_until 5 done_marked
}

@test "min-hold: a signal ends the hold at once: release, then the command's status" {
	local t0
	hold a
	t0=$(now_ms)
	kill -TERM "$(pid_of a)"
	wait_exit a
	[ "$STATUS" = 3 ]
	[ "$(elapsed_ms "$t0")" -lt "$SLACK" ]
	[ "$(field state)" = released ]
	grep -q "t: got signal 15: ending min-hold" "$OUT/a.err"
	grep -q "t: released (term 1)" "$OUT/a.err"
}

@test "min-hold: losing the lease during the hold changes nothing but a message" {
	hold a
	rm "$DIR/t.lease"
	wait_exit a
	[ "$STATUS" = 3 ]
	cat "$OUT/a.err"
	grep -q "^leaderrun: t: lost the lease during min-hold: .*t.lease was removed" "$OUT/a.err"
	run ! grep -q "lost leadership" "$OUT/a.err"
	[ ! -e "$DIR/t.lease" ]
}

@test "min-hold: renewals failing past renew-deadline end the hold with a message and the command's status" {
	need_shim
	env --default-signal=INT,QUIT LD_PRELOAD="$FAULTSHIM" LR_FAULT='write:EIO' \
	    LR_FAULT_FILE="$OUT/fault.on" "$LEADERRUN" -d "$DIR" -l t "${SAFE[@]}" \
	    --min-hold 10s -- sh -c 'exit 3' > "$OUT/a.out" 2> "$OUT/a.err" &
	echo $! > "$OUT/a.pid"
	wait_until 5 done_marked
	touch "$OUT/fault.on"
	wait_exit a
	[ "$STATUS" = 3 ]
	cat "$OUT/a.err"
	grep -q "^leaderrun: t: renew: .*Input/output error" "$OUT/a.err"
	grep -q "^leaderrun: t: min-hold: no renewal within 1s: .*; releasing" "$OUT/a.err"
}

@test "min-hold: two hosts firing 0.5s apart run the job once; without --min-hold they run it twice" {
	local job=(sh -c 'echo "$LEADERRUN_NODE_ID" >> "$1"' job "$OUT/log") t0
	# Cron on two hosts, the second firing half a second after the first.
	t0=$(now_ms)
	bg h1 -l cron -i host-1 -n -E 0 "${SAFE[@]}" --min-hold 1500ms -- "${job[@]}"
	wait_until 5 has host-1 "$OUT/log"
	sleep 0.5
	run -0 lr -l cron -i host-2 -n -E 0 "${SAFE[@]}" --min-hold 1500ms -- "${job[@]}"
	wait_exit h1 10
	[ "$STATUS" = 0 ]
	[ "$(elapsed_ms "$t0")" -ge 1500 ]
	[ "$(cat "$OUT/log")" = host-1 ]
	# The same without --min-hold: the lease is free again when host-2 fires.
	rm "$OUT/log"
	run -0 lr -l cron2 -i host-1 -n -E 0 "${FAST[@]}" -- "${job[@]}"
	sleep 0.5
	run -0 lr -l cron2 -i host-2 -n -E 0 "${FAST[@]}" -- "${job[@]}"
	[ "$(cat "$OUT/log")" = "host-1
host-2" ]
}

@test "min-hold: a command that outlives DUR is not held for" {
	run --separate-stderr -0 lr -l t "${FAST[@]}" -v --min-hold 1ms -- sleep 0.2
	[[ "$stderr" != *"holding"* ]]
	[[ "$stderr" == *"t: released (term 1)"* ]]
}

@test "min-hold: a command stopped through a forwarded signal is not held for" {
	bg a -l t "${SAFE[@]}" -v --min-hold 10s -- "${TRAPPER[@]}" TERM "$OUT/got" "$OUT/ready" 7
	wait_for "$OUT/ready"
	kill -TERM "$(pid_of a)"
	wait_exit a
	[ "$STATUS" = 7 ]
	[ "$(cat "$OUT/got")" = TERM ]
	run ! grep -q "holding" "$OUT/a.err"
	[ "$(field state)" = released ]
}

@test "min-hold: lost leadership (124) is not held for" {
	bg a -l t "${SAFE[@]}" -v --min-hold 10s -- "${TRAPPER[@]}" TERM "$OUT/got" "$OUT/ready" 0
	wait_for "$OUT/ready"
	rm "$DIR/t.lease"
	wait_exit a
	[ "$STATUS" = 124 ]
	run ! grep -q "holding" "$OUT/a.err"
}

@test "min-hold: the value is a duration like the others; bad ones are refused (125)" {
	for v in 0 -1s x 10q 500us ""; do
		run --separate-stderr -125 lr -l t --min-hold "$v" -- touch "$OUT/ran"
		[[ "${stderr_lines[0]}" == "leaderrun: invalid min-hold '$v': "* ]]
	done
	[ ! -e "$OUT/ran" ]
	run -0 lr -l t "${FAST[@]}" --min-hold=1ms -- true
}

@test "min-hold: --help names it, in the usage lines too" {
	run -0 "$LEADERRUN" --help
	[[ "$output" == *"--min-hold DUR "* ]]
	[[ "$output" == *"[--min-hold dur]"* ]]
}
