#!/usr/bin/env bats
# The Redis store's queue: waiters take a place (a ticket, a sorted set, a
# key of their own with a TTL of one lease) and are woken one at a time, the
# first live one first.  So waiters lead in the order they came, a handover
# costs the same few commands however many wait, an idle waiter refreshes
# its place about once per lease (only the first in line looks every retry
# period), a dead waiter's place goes (at once through its watchdog, within
# a retry period when every process of it is gone on this host, when its key
# runs out on another host), one that gives up takes its place with it, and
# a newcomer does not jump the line.  A real redis-server per test
# (tests/redis.bash).
load helpers
load redis

setup() { lr_setup; }
teardown() {
	lr_teardown
	redis_teardown
}

LOCK='leaderrun:{t}:lock'
QUEUE='leaderrun:{t}:queue'

lrr() { "$LEADERRUN" -S "$REDIS_URL" "$@"; }

# queued: places in the queue of t.  wkeys: waiter keys of t left.
queued() { rcli zcard "$QUEUE"; }
wkeys() { rcli --scan --pattern 'leaderrun:{t}:w:*' | wc -l; }
queued_is() { [ "$(queued)" = "$1" ]; }

# leader [ARG...]: a leads t until $OUT/go exists (its job created
# $OUT/ready).
leader() {
	bgr a -l t -i a "$@" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready" 10
}

# waiter N [ARG...]: wN waits for t, then appends N to $OUT/order and exits
# (or, with HOLD_JOB=1, holds until $OUT/go.N exists); returns once it has
# looked and has its place.
waiter() {
	local n=$1
	shift
	if [ -n "${HOLD_JOB:-}" ]; then
		bgr "w$n" -l t -i "w$n" -v "$@" -- sh -c \
		    'echo "$1" >> "$2"; until [ -e "$3" ]; do sleep 0.01; done' \
		    job "$n" "$OUT/order" "$OUT/go.$n"
	else
		bgr "w$n" -l t -i "w$n" -v "$@" -- sh -c 'echo "$1" >> "$2"' \
		    job "$n" "$OUT/order"
	fi
	wait_until 10 has "waiting" "$OUT/w$n.err" || {
		cat "$OUT/w$n.err"
		ps -o pid,stat,wchan:24,args -p "$(pid_of "w$n")" --ppid "$(pid_of "w$n")"
		rcli zrange "$QUEUE" 0 -1
		return 1
	}
}

# order: the indexes the jobs appended, on one line.  ran N: N jobs ran.
order() { tr '\n' ' ' < "$OUT/order" | sed 's/ $//'; }
ran() { [ -e "$OUT/order" ] && [ "$(wc -l < "$OUT/order")" = "$1" ]; }

# family PID: PID and all of its descendants, one a line.
family() {
	local c
	echo "$1"
	for c in $(ps -o pid= --ppid "$1"); do
		family "$c"
	done
}

# kill_all PID...: every process of these, as if their host died: all are
# stopped first, so that none can act on another's death, then killed.
kill_all() {
	kill -STOP "$@" 2> /dev/null || true
	kill -KILL "$@" 2> /dev/null || true
}

# top_calls: the commands leaderrun sends (scripts, subscriptions, login)
# that Redis ran so far, without the calls made inside the scripts.
TOP='eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro|subscribe|unsubscribe'
TOP+='|psubscribe|punsubscribe|auth|hello|select|ping|pubsub[|].*'
top_calls() {
	rcli info commandstats | tr -d '\r' | awk -F '[:=,]' -v top="^cmdstat_($TOP)\$" '
	    $1 ~ top { n += $3 }
	    END { print n + 0 }'
}

@test "redis queue: 20 waiters lead in the order they came" {
	redis_start
	leader -t 1s -r 100ms
	for i in $(seq 1 20); do
		waiter "$i" -t 1s -r 100ms
		sleep 0.05
	done
	touch "$OUT/go"
	wait_until 20 ran 20
	echo "order: $(order)"
	[ "$(order)" = "$(seq 1 20 | tr '\n' ' ' | sed 's/ $//')" ]
	for i in $(seq 1 20); do
		wait_exit "w$i" 5
		[ "$STATUS" = 0 ]
	done
	[ "$(queued)" = 0 ]
	[ "$(wkeys)" = 0 ]
}

# handover N: CALLS, the top-level commands of one graceful handover from
# a leader to the first of N waiters (a lease of 30s: in the few seconds
# this takes, nobody renews nor refreshes a place on its own); LED, who
# led then; QUEUED, the places before and after it and once all waiters
# have given up.
handover() {
	local n=$1 i before
	rm -f "$OUT/go" "$OUT/ready" "$OUT/order" "$OUT"/go.*
	leader -t 30s
	for i in $(seq 1 "$n"); do
		HOLD_JOB=1 waiter "$i" -t 30s
	done
	QUEUED=$(queued)
	sleep 0.1
	before=$(top_calls)
	touch "$OUT/go"
	wait_until 5 ran 1
	wait_exit a 5
	sleep 0.2	# the new leader's first renewal, if it makes one now
	CALLS=$(($(top_calls) - before))
	QUEUED+=" $(queued)"
	LED=$(order)
	for i in $(seq 1 "$n"); do
		kill -TERM "$(pid_of "w$i")"
		wait_exit "w$i" 5
	done
	QUEUED+=" $(queued)"
}

@test "redis queue: a handover costs the same few commands behind 5 and 40 waiters" {
	redis_start
	handover 5
	five=$CALLS five_q=$QUEUED five_led=$LED
	handover 40
	forty=$CALLS forty_q=$QUEUED forty_led=$LED
	echo "top-level commands of one handover: $five behind 5 waiters, $forty behind 40"
	# a clean end and the first waiter's acquire, at least
	[ "$five" -ge 2 ]
	[ "$forty" -ge 2 ]
	[ "$five" -le 4 ]
	[ "$forty" -le 4 ]
	[ $((forty - five)) -le 1 ]
	[ $((five - forty)) -le 1 ]
	[ "$five_led" = 1 ]	# the first in line
	[ "$forty_led" = 1 ]
	[ "$five_q" = "5 4 0" ]
	[ "$forty_q" = "40 39 0" ]
}

@test "redis queue: 20 idle waiters refresh their places about once per lease, not every retry period" {
	redis_start
	leader -t 1s -r 100ms
	for i in $(seq 1 20); do
		HOLD_JOB=1 waiter "$i" -t 1s -r 100ms
	done
	sleep 0.7	# every waiter is past its first look
	e0=$(redis_calls eval)
	t0=$(now_ms)
	sleep 2
	evals=$(($(redis_calls eval) - e0))
	ms=$(elapsed_ms "$t0")
	# -t 1s: io-timeout = renew-deadline / 2 = 250ms, so a place is
	# refreshed every 1000 - 250 - 100 = 650ms.  The leader renews and the
	# first waiter looks every retry period (100ms), the 19 others once
	# per 650ms.  Every waiter every retry period would be 210 a second.
	bound=$(((ms / 100 + 1) * 2 + 19 * (ms / 650 + 1)))
	echo "$evals EVALs in ${ms}ms behind a leader and 20 waiters (bound" \
	    "$bound; every retry period: $((ms * 21 / 100)))"
	[ "$evals" -le "$bound" ]
	# and they do refresh: every place is still there
	queued_is 20
	[ "$(wkeys)" = 20 ]
}

# The last waiter has nobody behind it to notice that it died: only its
# watchdog can give up its place before its key runs out (1.4s at least).
@test "redis queue: waiters whose supervisors are killed leave the queue at once, and the line moves past them without delay" {
	redis_start
	leader -t 4s -r 100ms
	for i in 1 2 3 4 5; do
		waiter "$i" -t 4s -r 100ms
	done
	queued_is 5
	t0=$(now_ms)
	kill -KILL "$(pid_of w3)" "$(pid_of w5)"
	wait_until 5 queued_is 3
	took=$(elapsed_ms "$t0")
	echo "their places went ${took}ms after the kill (their keys live 1.4s at least)"
	[ "$took" -lt "$AT_ONCE_MS" ]
	[ "$(wkeys)" = 3 ]
	t0=$(now_ms)
	touch "$OUT/go"
	wait_until 5 ran 3
	took=$(elapsed_ms "$t0")
	echo "order: $(order); three handovers in ${took}ms"
	[ "$(order)" = "1 2 4" ]
	[ "$took" -lt $((3 * AT_ONCE_MS)) ]
	queued_is 0
}

@test "redis queue: the first waiter dies with every process on this host: the next leads within a retry period of the release, not a lease" {
	redis_start
	leader -t 4s -r 100ms
	waiter 1 -t 4s -r 100ms
	waiter 2 -t 4s -r 100ms
	queued_is 2
	procs=$(family "$(pid_of w1)")
	echo "w1's processes: $(echo $procs)"
	[ "$(wc -w <<< "$procs")" -ge 3 ]	# supervisor, held command, watchdog
	kill_all $procs
	t0=$(now_ms)
	touch "$OUT/go"
	wait_until 5 has 2 "$OUT/order"
	took=$(elapsed_ms "$t0")
	echo "w2 led ${took}ms after the release (retry 100ms, lease 4s)"
	[ "$(order)" = 2 ]
	[ "$took" -lt $((100 + AT_ONCE_MS)) ]
	queued_is 0
}

@test "redis queue: the first waiter, on another host, dies with every process: the next leads when its key runs out, not before" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	redis_start
	leader -t 2s -r 100ms
	unshare --uts --pid --fork --mount-proc sh -c 'hostname other-host && exec "$@"' \
	    sh "$LEADERRUN" -S "$REDIS_URL" -l t -t 2s -r 100ms -i far -v -- \
	    sh -c 'echo far >> "$1"' job "$OUT/order" > "$OUT/far.out" 2> "$OUT/far.err" &
	far=$!
	wait_until 10 has waiting "$OUT/far.err"
	waiter 2 -t 2s -r 100ms
	queued_is 2
	run -0 lrr -l t --status
	[[ "$output" == *"waiting:    1. far on other-host"* ]]
	procs=$(family "$far")
	[ "$(wc -w <<< "$procs")" -ge 4 ]	# unshare, supervisor, held, watchdog
	kill_all $procs
	t0=$(now_ms)
	touch "$OUT/go"
	wait_until 5 has 2 "$OUT/order"
	took=$(elapsed_ms "$t0")
	echo "w2 led ${took}ms after the release (its key: PX 2s, refreshed every 100ms)"
	[ "$(order)" = 2 ]
	[ "$took" -ge 1000 ]
	[ "$took" -lt $((2100 + AT_ONCE_MS)) ]
	queued_is 0
}

@test "redis queue: a waiter that gives up with -w takes its place with it" {
	redis_start
	leader -t 1s -r 100ms
	waiter 1 -t 1s -r 100ms -w 1s
	queued_is 1
	wait_exit w1 5
	[ "$STATUS" = 75 ]
	queued_is 0
	[ "$(wkeys)" = 0 ]
}

@test "redis queue: a waiter stopped by SIGTERM takes its place with it" {
	redis_start
	leader -t 1s -r 100ms
	waiter 1 -t 1s -r 100ms
	waiter 2 -t 1s -r 100ms
	queued_is 2
	kill -TERM "$(pid_of w1)"
	wait_exit w1 5
	[ "$STATUS" = 143 ]
	queued_is 1
	[ "$(wkeys)" = 1 ]
	# and w2, now first, leads at the release
	touch "$OUT/go"
	wait_until 5 has 2 "$OUT/order"
	[ "$(order)" = 2 ]
}

@test "redis queue: -n not elected takes no place: one script, no subscription, and the line does not move" {
	redis_start
	leader -t 1s -r 100ms
	waiter 1 -t 1s -r 100ms
	queued_is 1
	# The others stopped for a moment: every command counted is -n's.
	kill -STOP "$(pid_of a)" "$(pid_of w1)"
	rcli config resetstat > /dev/null
	run -75 lrr -l t -t 1s -n -i n -- touch "$OUT/ran"
	evals=$(redis_calls eval) subs=$(redis_calls subscribe)
	kill -CONT "$(pid_of a)" "$(pid_of w1)"
	echo "-n: $evals EVAL, $subs SUBSCRIBE"
	[ "$subs" = 0 ]
	[ "$evals" = 1 ]
	queued_is 1
	[ "$(wkeys)" = 1 ]
	[ ! -e "$OUT/ran" ]
	run -0 lrr -l t --status
	[[ "$output" == *"waiting:    1. w1 on "* ]]
	[[ "$output" != *"2. "* ]]
}

@test "redis queue: --status and --status --json list the waiters in queue order" {
	redis_start
	leader -t 2s -r 100ms
	for i in 3 1 4 2; do
		HOLD_JOB=1 waiter "$i" -t 2s -r 100ms
	done
	run -0 lrr -l t --status
	echo "$output"
	[[ "$output" == *"waiters:    4"* ]]
	[ "$(grep '^waiting:' <<< "$output" | sed 's/ (pid [0-9]*)$//')" = "$(
	    printf 'waiting:    %s\n' "1. w3 on $(hostname)" "2. w1 on $(hostname)" \
	        "3. w4 on $(hostname)" "4. w2 on $(hostname)")" ]
	grep -q "^waiting:    1\. w3 on .* (pid $(pid_of w3))$" <<< "$output"
	run -0 lrr -l t --status --json
	echo "$output"
	[ "$(jq -c '[.waiters[].holder]' <<< "$output")" = '["w3","w1","w4","w2"]' ]
	[ "$(jq -r '.waiters[0].pid' <<< "$output")" = "$(pid_of w3)" ]
	[ "$(jq -r '.holder' <<< "$output")" = a ]
	# A place whose key is gone (its waiter died elsewhere) is not a
	# waiter, though it stays in the queue until it comes first.
	kill -STOP "$(pid_of w4)"	# nor does it refresh its key again
	rcli del "$(rcli --scan --pattern 'leaderrun:{t}:w:*' | while read -r k; do
	    rcli get "$k" | grep -q '^holder=w4$' && echo "$k"; done)" > /dev/null
	queued_is 4
	run -0 lrr -l t --status
	[[ "$output" == *"waiters:    3"* ]]
	[[ "$output" != *"w4 on"* ]]
	kill -CONT "$(pid_of w4)"
}

@test "redis queue: a release hands the lock to the first waiter, even a stopped one: a newcomer cannot jump the line" {
	redis_start
	leader -t 4s -r 100ms
	waiter 1 -t 4s -r 100ms
	queued_is 1
	kill -STOP "$(pid_of w1)"	# handed the lock, it cannot use it yet
	touch "$OUT/go"
	wait_exit a 5
	[ "$STATUS" = 0 ]
	[ "$(rcli get "$LOCK" | sed -n 's/^holder=//p')" = w1 ]
	[ "$(rcli get 'leaderrun:{t}:fence')" = 2 ]
	queued_is 0
	run -75 lrr -l t -t 1s -n -i n -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	kill -CONT "$(pid_of w1)"
	wait_until 5 has 1 "$OUT/order"
	wait_exit w1 5
	[ "$STATUS" = 0 ]
	[ ! -e "$OUT/ran" ]
	[ "$(rcli get 'leaderrun:{t}:fence')" = 2 ]
}

@test "redis queue: a waiter killed after the lock was handed to it gives it up through its watchdog: the next leads at once, not a lease later" {
	redis_start
	leader -t 4s -r 100ms
	waiter 1 -t 4s -r 100ms
	waiter 2 -t 4s -r 100ms
	queued_is 2
	kill -STOP "$(pid_of w1)"
	touch "$OUT/go"
	wait_exit a 5
	[ "$(rcli get "$LOCK" | sed -n 's/^holder=//p')" = w1 ]
	t0=$(now_ms)
	kill -KILL "$(pid_of w1)"	# its watchdog gives the lock up
	wait_until 5 has 2 "$OUT/order"
	took=$(elapsed_ms "$t0")
	echo "w2 led ${took}ms after w1 was killed (lease 4s)"
	[ "$took" -lt 1000 ]
	[ "$(order)" = 2 ]
	[ "$(rcli get 'leaderrun:{t}:fence')" = 3 ]
}
