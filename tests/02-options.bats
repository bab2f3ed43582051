#!/usr/bin/env bats
# Every option, in its short and long form, does what the spec says.
load helpers

setup() { lr_setup; }
teardown() {
	rm -f "/tmp/$DEFNAME.lease" "/tmp/$DEFNAME.lock"
	lr_teardown
}
DEFNAME=lrt-default-dir-$$

# ---- -l / --lock-name ----------------------------------------------------

@test "-l NAME names the lease files DIR/NAME.lease and DIR/NAME.lock" {
	run -0 lr -l alpha -- true
	[ -f "$DIR/alpha.lease" ]
	[ -f "$DIR/alpha.lock" ]
	[ "$(field state alpha)" = released ]
}

@test "--lock-name NAME and --lock-name=NAME are the long forms of -l" {
	run -0 lr --lock-name beta -- true
	[ -f "$DIR/beta.lease" ]
	run -0 lr --lock-name=gamma -- true
	[ -f "$DIR/gamma.lease" ]
}

@test "the lock name defaults to leader-election-demo" {
	run -0 lr -- sh -c 'echo "$LEADERRUN_NAME"'
	[ "$output" = leader-election-demo ]
	[ -f "$DIR/leader-election-demo.lease" ]
}

@test "a lock name may use every allowed character class and 128 bytes" {
	name=Az09._@+:-
	run -0 lr -l "$name" -- sh -c 'echo "$LEADERRUN_NAME"'
	[ "$output" = "$name" ]
	[ -f "$DIR/$name.lease" ]
	long=$(printf 'n%.0s' {1..128})
	run -0 lr -l "$long" -- true
	[ -f "$DIR/$long.lease" ]
}

@test "different lock names are independent leases" {
	bg a -l one "${SAFE[@]}" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -0 lr -l two -n -- true
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

# ---- -d / --lock-dir -----------------------------------------------------

@test "-d DIR and --lock-dir DIR put the lease files in DIR" {
	mkdir "$OUT/d1" "$OUT/d2" "$OUT/d3"
	run -0 "$LEADERRUN" -d "$OUT/d1" -l t -- true
	[ -f "$OUT/d1/t.lease" ]
	run -0 "$LEADERRUN" --lock-dir "$OUT/d2" -l t -- true
	[ -f "$OUT/d2/t.lease" ]
	run -0 "$LEADERRUN" --lock-dir="$OUT/d3" -l t -- true
	[ -f "$OUT/d3/t.lease" ]
}

@test "the lock dir defaults to /tmp" {
	run -0 "$LEADERRUN" -l "$DEFNAME" -- true
	[ -f "/tmp/$DEFNAME.lease" ]
	[ -f "/tmp/$DEFNAME.lock" ]
}

@test "a lock dir that does not exist is an error (125), not created" {
	run --separate-stderr -125 "$LEADERRUN" -d "$OUT/nope" -l t -- touch "$OUT/ran"
	[[ "$stderr" == *"$OUT/nope"*"No such file or directory"* ]]
	[ ! -e "$OUT/nope" ]
	[ ! -e "$OUT/ran" ]
}

# ---- -i / --node-id ------------------------------------------------------

@test "-i ID is the holder in the record and LEADERRUN_NODE_ID" {
	run -0 lr -l t -i node-a -- sh -c 'echo "$LEADERRUN_NODE_ID"'
	[ "$output" = node-a ]
	[ "$(field holder)" = node-a ]
}

@test "--node-id ID and --node-id=ID are the long forms of -i" {
	run -0 lr -l t --node-id node-b -- sh -c 'echo "$LEADERRUN_NODE_ID"'
	[ "$output" = node-b ]
	run -0 lr -l t --node-id=node-c -- sh -c 'echo "$LEADERRUN_NODE_ID"'
	[ "$output" = node-c ]
	[ "$(field holder)" = node-c ]
}

@test "the node id defaults to HOSTNAME:PID of the supervisor" {
	run -0 lr -l t -- sh -c 'echo "$LEADERRUN_NODE_ID $(hostname):$PPID"'
	set -- $output
	[ "$1" = "$2" ]
	[ "$(field holder)" = "$1" ]
}

@test "a node id may be 128 printable bytes" {
	id=$(printf 'i%.0s' {1..127})'~'
	run -0 lr -l t -i "$id" -- sh -c 'echo "$LEADERRUN_NODE_ID"'
	[ "$output" = "$id" ]
}

# ---- -t / --lease-duration -----------------------------------------------

@test "-t sets the lease duration recorded as lease_ms" {
	run -0 lr -l t -t 1m30s -- true
	[ "$(field lease_ms)" = 90000 ]
	run -0 lr -l t -t 1.5 -- true
	[ "$(field lease_ms)" = 1500 ]
	run -0 lr -l t -t 250ms -- true
	[ "$(field lease_ms)" = 250 ]
}

@test "--lease-duration is the long form of -t" {
	run -0 lr -l t --lease-duration 2s -- true
	[ "$(field lease_ms)" = 2000 ]
	run -0 lr -l t --lease-duration=3s -- true
	[ "$(field lease_ms)" = 3000 ]
}

@test "the lease duration defaults to 10s" {
	run -0 lr -l t -- true
	[ "$(field lease_ms)" = 10000 ]
}

@test "durations accept every unit, sums and fractions" {
	for d in 1h 2m 90s 1500ms 2000000us 3000000000ns 1h2m3s4ms 0.5m 2.25s 0.75 1.5h; do
		run -0 lr -l t -w "$d" -- true
	done
	run -0 lr -l t -t 20.5 -- true
	[ "$(field lease_ms)" = 20500 ]
	run -0 lr -l t -t 1m0.5s -- true
	[ "$(field lease_ms)" = 60500 ]
	run -0 lr -l t -t 20000000us -- true
	[ "$(field lease_ms)" = 20000 ]
	run -0 lr -l t -t 30000000000ns -- true
	[ "$(field lease_ms)" = 30000 ]
	run -0 lr -l t -t 1h2m3s4ms -- true
	[ "$(field lease_ms)" = 3723004 ]
}

@test "a fractional duration with many digits and a large unit is exact" {
	# 0.123456789h = 444.4444404s
	run -0 lr -l t -t 0.123456789h -- true
	[ "$(field lease_ms)" = 444444 ]
}

@test "retry-period, renew-deadline and kill-after default to lease/5, lease/2, 3*lease/10" {
	# The timing errors print the effective values.
	run --separate-stderr -125 lr -l t -t 1s --renew-deadline 100ms -- true
	[[ "$stderr" == *"lease-duration (1s) > renew-deadline (100ms) > retry-period (200ms)"* ]]
	run --separate-stderr -125 lr -l t -t 1s -r 600ms -- true
	[[ "$stderr" == *"renew-deadline (500ms) > retry-period (600ms)"* ]]
	run --separate-stderr -125 lr -l t -t 1s --renew-deadline 800ms -- true
	[[ "$stderr" == *"renew-deadline (800ms) + kill-after (300ms)"*"lease-duration (1s)"* ]]
}

@test "durations in messages read as people write them, exactly" {
	run --separate-stderr -125 lr -l t -t 3ms -r 2ms -- true
	[[ "$stderr" == *"lease-duration (3ms) > renew-deadline (1.5ms) > retry-period (2ms)"* ]]
	run --separate-stderr -125 lr -l t -t 1ms -r 1ms -- true
	[[ "$stderr" == *"renew-deadline (500us) > retry-period (1ms)"* ]]
	run --separate-stderr -125 lr -l t -t 2m30s --renew-deadline 90s -k 1m0.5s -- true
	[[ "$stderr" == *"renew-deadline (1m30s) + kill-after (1m0.5s) must be below lease-duration (2m30s)"* ]]
	# 0.123456789h = 444.4444404s
	run --separate-stderr -125 lr -l t -t 1h0m5s --renew-deadline 0.123456789h -r 1h -- true
	[[ "$stderr" == *"(1h5s) > renew-deadline (7m24.4444404s) > retry-period (1h)"* ]]
}

@test "a printed duration given back as an option is the same value" {
	# -t 7m24.4444404s: lease_ms 444444 (the ns are not recorded).
	run --separate-stderr -125 lr -l t -t 0.123456789h -r 4m -- true
	[[ "$stderr" == *"lease-duration (7m24.4444404s)"* ]]
	run -0 lr -l t -t 7m24.4444404s -- true
	[ "$(field lease_ms)" = 444444 ]
	run --separate-stderr -125 lr -l t -t 7m24.4444404s -r 4m -- true
	[[ "$stderr" == *"lease-duration (7m24.4444404s)"* ]]
}

# ---- -r / --retry-period -------------------------------------------------

@test "-r sets how often the leader renews" {
	run -0 lr -l t -t 2s -r 20ms -- sleep 0.4
	fast=$(field renewals)
	run -0 lr -l t -t 2s -r 500ms -- sleep 0.4
	slow=$(field renewals)
	echo "renewals: -r 20ms: $fast, -r 500ms: $slow"
	[ "$fast" -ge 5 ]
	[ "$slow" -le 2 ]
}

@test "--retry-period and --retry-period= are the long forms of -r" {
	run -0 lr -l t -t 2s --retry-period 25ms -- sleep 0.2
	[ "$(field renewals)" -ge 4 ]
	run -0 lr -l t -t 2s --retry-period=500ms -- sleep 0.2
	[ "$(field renewals)" -le 2 ]
}

# ---- --renew-deadline ----------------------------------------------------

# fresh_lease: forget lease t (record and lock file) and the markers, so
# that the helpers below may run twice in one test (a removed record blocks
# the next leader for a lease duration, see 09-store).
fresh_lease() { rm -f "$DIR"/t.* "$OUT/ready" "$OUT/got" "$OUT/term"; }

# deadline_run OPT...: lead with OPT... (a renew deadline), make renewals fail
# (the record is swapped for a symlink); TOOK is the ms from the failure to
# the stop signal reaching the command.
deadline_run() {
	fresh_lease
	bg l -l t -t 4s -r 50ms "$@" -k 100ms -- \
	    "${TRAPPER[@]}" TERM "$OUT/term" "$OUT/ready" 0
	wait_for "$OUT/ready"
	ln -s "$OUT/elsewhere" "$DIR/t.swap"
	t0=$(now_ms)
	mv -T "$DIR/t.swap" "$DIR/t.lease"
	wait_for "$OUT/term" 5
	TOOK=$(elapsed_ms "$t0")
	wait_exit l 5
	[ "$STATUS" = 124 ]
}

@test "--renew-deadline: failing renewals stop the command after the deadline" {
	deadline_run --renew-deadline 600ms
	echo "stopped ${TOOK}ms after renewals began to fail (deadline 600ms)"
	[ "$TOOK" -ge 450 ]
	[ "$TOOK" -le 1800 ] # not the default 2s
}

@test "--renew-deadline=DUR is accepted too and a short deadline stops sooner" {
	deadline_run --renew-deadline=250ms
	echo "stopped ${TOOK}ms after renewals began to fail (deadline 250ms)"
	[ "$TOOK" -ge 150 ]
	# Sooner than a 600ms deadline can stop it: that one runs from the
	# last good renewal, at most a retry period (50ms) before the failure.
	[ "$TOOK" -lt 550 ]
}

# ---- -k / --kill-after ---------------------------------------------------

# kill_run OPT...: lead with a command that ignores SIGTERM, lose the lease;
# TOOK is the ms from the loss to leaderrun's exit: found at the next
# renewal (-r 50ms), SIGKILL kill-after later, then at once an exit.  The
# default kill-after of -t 10s is 3s.
kill_run() {
	fresh_lease
	bg l -l t -t 10s -r 50ms "$@" -- sh -c 'trap "" TERM; touch "$1"; exec sleep 100' sh "$OUT/ready"
	wait_for "$OUT/ready"
	t0=$(now_ms)
	rm "$DIR/t.lease"
	wait_exit l 5
	TOOK=$(elapsed_ms "$t0")
	[ "$STATUS" = 124 ]
}

@test "-k: a command that ignores the stop signal gets SIGKILL after kill-after" {
	kill_run -k 500ms
	echo "exit ${TOOK}ms after the loss (kill-after 500ms)"
	[ "$TOOK" -ge 480 ]
	[ "$TOOK" -lt $((50 + 500 + AT_ONCE_MS)) ] # not the default 3s
}

@test "--kill-after and --kill-after= are the long forms of -k" {
	kill_run --kill-after 100ms
	echo "exit ${TOOK}ms after the loss (kill-after 100ms)"
	[ "$TOOK" -ge 90 ]
	[ "$TOOK" -lt $((50 + 100 + AT_ONCE_MS)) ]
	kill_run --kill-after=100ms
	echo "exit ${TOOK}ms after the loss (kill-after=100ms)"
	[ "$TOOK" -ge 90 ]
	[ "$TOOK" -lt $((50 + 100 + AT_ONCE_MS)) ]
}

# ---- -s / --signal -------------------------------------------------------

# stop_signal SIG OPT...: lead with OPT..., lose the lease; the command must
# get SIG.
stop_signal() {
	local sig=$1
	shift
	fresh_lease
	bg l -l t "${SAFE[@]}" "$@" -- "${TRAPPER[@]}" "$sig" "$OUT/got" "$OUT/ready" 0
	wait_for "$OUT/ready"
	rm "$DIR/t.lease"
	wait_exit l 5
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = "$sig" ]
}

@test "the stop signal defaults to SIGTERM" {
	stop_signal TERM
}

@test "-s takes a signal name" {
	stop_signal USR1 -s USR1
}

@test "-s takes a SIG-prefixed signal name" {
	stop_signal USR2 -s SIGUSR2
}

@test "-s takes a lowercase signal name" {
	stop_signal INT -s int
	stop_signal HUP -s sighup
}

@test "-s takes a signal number" {
	stop_signal HUP -s 1
}

@test "--signal and --signal= are the long forms of -s" {
	stop_signal USR1 --signal USR1
	stop_signal USR2 --signal=USR2
}

# ---- -n / --nonblock -----------------------------------------------------

@test "-n runs the command at once when the lease is free" {
	run -0 lr -l t -n -- echo ran
	[ "$output" = ran ]
}

@test "-n exits 75 at once when another instance leads, without running the command" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	t0=$(now_ms)
	run -75 lr -l t -t 10s -n -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "gave up ${took}ms after it started (lease 10s)"
	[ "$took" -lt "$AT_ONCE_MS" ]
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "--nonblock is the long form of -n" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -75 lr -l t -t 10s --nonblock -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

# ---- -w / --timeout ------------------------------------------------------

@test "-w gives up with 75 after the timeout while another instance leads" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	t0=$(now_ms)
	run -75 lr -l t -t 10s -w 300ms -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "gave up after ${took}ms"
	[ "$took" -ge 280 ]
	[ "$took" -lt 2000 ]
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "--timeout and --timeout= are the long forms of -w" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -75 lr -l t -t 10s --timeout 100ms -- touch "$OUT/ran"
	run -75 lr -l t -t 10s --timeout=100ms -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "-w long enough gets elected when the leader finishes" {
	bg a -l t "${SAFE[@]}" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg b -l t "${FAST[@]}" -v -w 5s -- sh -c 'echo elected'
	wait_until 5 has waiting "$OUT/b.err"
	touch "$OUT/go"
	wait_exit b 5
	[ "$STATUS" = 0 ]
	[ "$(cat "$OUT/b.out")" = elected ]
}

@test "-w with a free lease runs the command at once" {
	run -0 lr -l t -w 1s -- echo ran
	[ "$output" = ran ]
}

@test "-w accepts the largest duration and still waits" {
	bg a -l t "${SAFE[@]}" -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg b -l t "${FAST[@]}" -w 9223372036s -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/b.err"
	sleep 0.3	# a few retry periods
	alive "$(pid_of b)" || { wait_exit b; echo "gave up at once with $STATUS"; false; }
	touch "$OUT/go"
	wait_exit b 5
	[ "$STATUS" = 0 ]
	[ -e "$OUT/ran" ]
}

# ---- -E / --conflict-exit-code -------------------------------------------

@test "-E sets the exit code of -n when not elected" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -42 lr -l t -n -E 42 -- touch "$OUT/ran"
	run -255 lr -l t -n -E 255 -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "--conflict-exit-code sets the exit code of -w when it times out" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -3 lr -l t -w 50ms --conflict-exit-code 3 -- touch "$OUT/ran"
	run -4 lr -l t -w 50ms --conflict-exit-code=4 -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "-E 0 makes not being elected a success, still without running the command" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -0 lr -l t -n -E 0 -- touch "$OUT/ran"
	run -0 lr -l t -w 50ms -E 0 -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "-E does not change the command's own exit status" {
	run -9 lr -l t -n -E 0 -- sh -c 'exit 9'
}

# ---- -v / --verbose ------------------------------------------------------

@test "without -v leaderrun is silent on success" {
	run --separate-stderr -0 lr -l t -- echo out
	[ "$output" = out ]
	[ -z "$stderr" ]
}

@test "-v reports election and release on stderr, nothing on stdout" {
	run --separate-stderr -0 lr -l t -i node-9 -v -- echo out
	[ "$output" = out ]
	echo "$stderr"
	[[ "$stderr" == *"leaderrun: t: elected (term 1"* ]]
	[[ "$stderr" == *"leaderrun: t: released"*"term 1"* ]]
}

@test "--verbose reports waiting with the holder and its term" {
	bg a -l t -i node-1 -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run --separate-stderr -75 lr -l t --verbose -w 100ms -- true
	echo "$stderr"
	[ -z "$output" ]
	[[ "$stderr" == *"leaderrun: t: waiting"*"node-1"*"term 1"* ]]
	touch "$OUT/go"
}

@test "-v reports a lost leadership with the reason" {
	bg l -l t "${SAFE[@]}" -v -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	rm "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
	cat "$OUT/l.err"
	grep -q "^leaderrun: t: lost leadership: .*t.lease.*removed" "$OUT/l.err"
	[ ! -s "$OUT/l.out" ]
}

# ---- --status ------------------------------------------------------------
# Free and held, on every store: scenarios.suite (40-42).

@test "--status prints age and expires-in as durations" {
	now=$(now_ms)
	write_record "$DIR/t.lease" acquired=$((now - 3605000)) \
	    renewed=$((now - 12500)) lease_ms=10000
	run --separate-stderr -0 lr -l t --status
	late=$(( ($(elapsed_ms "$now") + 999) / 1000 ))
	echo "$output"
	echo "(read up to ${late}s after the time stamps were made)"
	# Whole seconds as they go by between making the record and reading
	# it (on a loaded machine the record takes a while to write).
	grep -Eqx "age: +1h([5-9]|[1-9][0-9])(\.[0-9]+)?s" <<< "$output"
	a=$(sed -n 's/^age: *1h\([0-9]*\).*/\1/p' <<< "$output")
	[ "$a" -ge 5 ] && [ "$a" -le $((5 + late)) ]
	grep -Eqx "expires-in: -[0-9]+(\.[0-9]+)?s" <<< "$output"
	e=$(sed -n 's/^expires-in: *-\([0-9]*\).*/\1/p' <<< "$output")
	[ "$e" -ge 2 ] && [ "$e" -le $((2 + late)) ]
}

@test "--status on a released lease prints state released, exits 1" {
	run -0 lr -l t -i node-r -- true
	run --separate-stderr -1 lr -l t --status
	echo "$output"
	[[ "$output" == *"state:"*"released"* ]]
	[[ "$output" == *"node-r"* ]]
}

@test "--status reads the default lock name and takes -d/-l long forms" {
	run -0 lr -- true
	run -1 "$LEADERRUN" --status --lock-dir "$DIR"
	[[ "$output" == *"leader-election-demo.lease"* ]]
	[[ "$output" == *released* ]]
	run -1 "$LEADERRUN" --status --lock-dir="$DIR" --lock-name=other
	[[ "$output" == *free* ]]
}

@test "--status on a corrupt record is an error (125)" {
	echo garbage > "$DIR/t.lease"
	run --separate-stderr -125 lr -l t --status
	[[ "$stderr" == "leaderrun: "*"t.lease"* ]]
}

# ---- -h / -V ---------------------------------------------------------------

@test "-h prints help on stdout and exits 0" {
	run --separate-stderr -0 "$LEADERRUN" -h
	[ -z "$stderr" ]
	[[ "${lines[0]}" == "usage: leaderrun"* ]]
	for o in --lock-name --lock-dir --node-id --lease-duration --retry-period \
	    --renew-deadline --kill-after --signal --nonblock --timeout \
	    --conflict-exit-code --verbose --status --help --version; do
		[[ "$output" == *"$o"* ]] || { echo "help lacks $o"; false; }
	done
}

@test "--help is the long form of -h and wins over a command" {
	run --separate-stderr -0 "$LEADERRUN" --help
	[[ "${lines[0]}" == "usage: leaderrun"* ]]
	run --separate-stderr -0 "$LEADERRUN" -d "$DIR" --help -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	[ -z "$(ls -A "$DIR")" ]
}

@test "-V and --version print 'leaderrun 0.1.0' and exit 0" {
	run --separate-stderr -0 "$LEADERRUN" -V
	[ "$output" = "leaderrun 0.1.0" ]
	[ -z "$stderr" ]
	run --separate-stderr -0 "$LEADERRUN" --version
	[ "$output" = "leaderrun 0.1.0" ]
}

# ---- option parsing ------------------------------------------------------

@test "option parsing stops at the first non-option" {
	run -0 lr -l t echo -v -n
	[ "$output" = "-v -n" ]
}

@test "-- ends the options" {
	run -0 lr -l t -- echo -l x
	[ "$output" = "-l x" ]
}
