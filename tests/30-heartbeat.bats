#!/usr/bin/env bats
# --heartbeat status lines and the demo make targets.
load helpers

@test "--heartbeat prints start, election, status and release lines on stderr" {
	run --separate-stderr -0 env LC_ALL=C.UTF-8 "$LEADERRUN" -d "$DIR" -l t \
	    -i node-1 --heartbeat=100ms -- sleep 0.35
	[ -z "$output" ]
	[[ "$stderr" =~ [0-9]{4}/[0-9]{2}/[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ ✅\ \[node-1\]\ Leader\ election\ started ]]
	[[ "$stderr" == *"[node-1] Successfully acquired leadership (term 1)"* ]]
	[[ "$stderr" == *"🎉 [node-1] BECAME LEADER - Starting leadership duties"* ]]
	[[ "$stderr" =~ 👑\ \[node-1\]\ Status:\ LEADER\ -\ Heartbeat\ at\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ \(term\ 1\) ]]
	[[ "$stderr" == *"👋 [node-1] Released leadership (term 1)"* ]]
}

@test "a follower's heartbeat names the leader and its term" {
	lr -l t -i node-1 "${FAST[@]}" -- sh -c "touch $OUT/up; sleep 5" &
	wait_for "$OUT/up"
	run --separate-stderr -75 env LC_ALL=C.UTF-8 "$LEADERRUN" -d "$DIR" -l t \
	    -i node-2 --heartbeat=50ms -w 200ms -- true
	[[ "$stderr" == *"🔄 [node-2] Leader is node-1 (term 1)"* ]]
	[[ "$stderr" =~ 👥\ \[node-2\]\ Status:\ FOLLOWER\ -\ Heartbeat\ at\ [0-9:]{8}\ -\ leader\ node-1\ \(term\ 1\) ]]
}

@test "losing leadership has its own heartbeat line" {
	lr -l t -i node-1 --heartbeat=1s "${FAST[@]}" -- sh -c "touch $OUT/up; sleep 5" \
	    2> "$OUT/err" &
	pid=$!
	wait_for "$OUT/up"
	rm "$DIR/t.lease"
	rc=0
	wait $pid || rc=$?
	[ "$rc" = 124 ]
	grep -q "\[node-1\] LOST LEADERSHIP - .*t.lease was removed" "$OUT/err"
}

@test "plain ASCII markers outside UTF-8 locales and with --no-emoji" {
	run --separate-stderr -0 env LC_ALL=C "$LEADERRUN" -d "$DIR" -l t -i n1 \
	    --heartbeat=100ms -- sleep 0.15
	[[ "$stderr" == *"[start] [n1] Leader election started"* ]]
	[[ "$stderr" == *"[elected] [n1] BECAME LEADER"* ]]
	[[ "$stderr" == *"[leader] [n1] Status: LEADER"* ]]
	run ! env LC_ALL=C grep -q '[^ -~]' <<< "$stderr"
	run --separate-stderr -0 env LC_ALL=C.UTF-8 "$LEADERRUN" -d "$DIR" -l t -i n1 \
	    --heartbeat=100ms --no-emoji -- true
	[[ "$stderr" == *"[start] [n1] Leader election started"* ]]
	run ! env LC_ALL=C grep -q '[^ -~]' <<< "$stderr"
}

@test "without --heartbeat, -v prints transitions only" {
	run --separate-stderr -0 "$LEADERRUN" -d "$DIR" -l t -v -- sleep 0.3
	[[ "$stderr" != *Heartbeat* ]]
	[[ "$stderr" == *"leaderrun: t: elected (term 1"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -le 4 ]
}

@test "--heartbeat refuses a bad interval" {
	run -125 lr --heartbeat=0 -- true
	[[ "$output" == *"invalid heartbeat '0'"* ]]
}

@test "make demo-parallel: three panes elect one leader; killing it hands over; kill-demo cleans up" {
	need_cmd tmux tmux
	[ -z "${LEADERRUN_SANITIZED:-}${LEADERRUN_COVERAGE:-}" ] || skip "uses the plain build"
	top=$BATS_TEST_DIRNAME/..
	session=lr-bats-$$
	export SESSION=$session
	make -s -C "$top" demo-parallel DETACH=1 LOCK_DIR="$DIR" LOCK_NAME=demo \
	    HEARTBEAT=100ms LEASE=2s RETRY=400ms >/dev/null
	panes() { tmux list-panes -t "$session" -F '#{pane_id}'; }
	leader_pane() {
		local p
		for p in $(panes); do
			if tmux capture-pane -p -t "$p" | grep -q "Status: LEADER"; then
				echo "$p"
			fi
		done
		return 0
	}
	for i in $(seq 100); do
		[ "$(leader_pane | wc -l)" = 1 ] &&
		    [ "$(for p in $(panes); do tmux capture-pane -p -t "$p"; done | grep -c 'Status: FOLLOWER' )" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(leader_pane | wc -l)" = 1 ]
	old=$(leader_pane)
	term1=$(field term demo)
	pid=$(field pid demo)
	kill -KILL "$pid"
	for i in $(seq 100); do
		term2=$(field term demo)
		[ "$term2" -gt "$term1" ] && break
		sleep 0.05
	done
	[ "$term2" -gt "$term1" ]
	for i in $(seq 50); do
		new=$(for p in $(panes); do
			[ "$p" != "$old" ] || continue
			if tmux capture-pane -p -t "$p" | grep -q "BECAME LEADER"; then
				echo "$p"
			fi
		done)
		[ -n "$new" ] && break
		sleep 0.1
	done
	[ -n "$new" ]
	tmux capture-pane -p -t "$new" | grep -q "Successfully acquired leadership (term $term2)"
	make -s -C "$top" kill-demo LOCK_DIR="$DIR" LOCK_NAME=demo >/dev/null
	# kill-demo cleans up: the session and every leaderrun of the demo.
	session_gone() { ! tmux has-session -t "$session" 2>/dev/null; }
	demo_gone() { ! pgrep -f -- "-d $DIR" >/dev/null; }
	wait_until 5 session_gone
	wait_until 5 demo_gone || { pgrep -af -- "-d $DIR"; false; }
	# No work.sh of this demo is left; demos run from other checkouts on
	# the machine are not ours to count.
	top=$(cd "$top" && pwd -P)
	for p in $(pgrep -f "examples/work.sh"); do
		[ "$(readlink "/proc/$p/cwd")" != "$top" ]
	done
}

@test "make demo-parallel without tmux says so" {
	top=$BATS_TEST_DIRNAME/..
	run env PATH=/nonexistent /bin/sh "$top/examples/demo-parallel.sh" start
	[ "$status" -ne 0 ]
	[[ "$output" == *"tmux is not installed"* ]]
}
