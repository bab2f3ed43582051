#!/usr/bin/env bats
# Bad input is refused with 125 and one clear line (plus the --help hint)
# before anything starts: no lease file is created and the command never runs.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

# refused WHAT ARG...: leaderrun -d DIR ARG... must exit 125 with nothing on
# stdout, "leaderrun: ...WHAT..." then the hint on stderr (two lines), without
# touching DIR or running anything.
refused() {
	local what=$1
	shift
	run --separate-stderr -125 timeout 10 "$LEADERRUN" -d "$DIR" "$@"
	printf 'stderr: %s\n' "${stderr_lines[@]}"
	[ -z "$output" ]
	[[ "${stderr_lines[0]}" == "leaderrun: "* ]]
	[[ "${stderr_lines[0]}" == *"$what"* ]]
	[ "${stderr_lines[1]}" = "Try 'leaderrun --help' for more information." ]
	[ "${#stderr_lines[@]}" = 2 ]
	[ -z "$(ls -A "$DIR")" ]
	[ ! -e "$OUT/ran" ]
}

# bad_duration VALUE: VALUE is refused by every duration option (each one
# once, short and long forms alternating).
bad_duration() {
	refused "'$1'" -l t -t "$1" -- touch "$OUT/ran"
	refused "'$1'" -l t --retry-period "$1" -- touch "$OUT/ran"
	refused "'$1'" -l t --renew-deadline="$1" -- touch "$OUT/ran"
	refused "'$1'" -l t -k "$1" -- touch "$OUT/ran"
	refused "'$1'" -l t --timeout "$1" -- touch "$OUT/ran"
}

# ---- durations -------------------------------------------------------------

@test "a zero duration is refused" {
	bad_duration 0
	bad_duration 0s
	bad_duration 0ms
	bad_duration 0h0m0s
}

@test "a negative duration is refused" {
	bad_duration -1s
	bad_duration -500ms
}

@test "a duration with an unknown unit is refused" {
	bad_duration 5x
	bad_duration 5sec
	bad_duration 1d
}

@test "a garbage duration is refused" {
	bad_duration 1.5.3s
	bad_duration abc
	bad_duration ms
	bad_duration 1s5
	bad_duration ' 1s'
	bad_duration '1s '
	bad_duration +1s
	bad_duration .s
	bad_duration 1e3
}

@test "an overflowing duration is refused" {
	bad_duration 99999999999999999999s
	bad_duration 9999999999999999999
	bad_duration 2562048h
	bad_duration 5124096h-2562048h
	bad_duration 2562047h2562047h
}

@test "an empty duration is refused" {
	bad_duration ''
}

@test "a duration below 1ms is refused" {
	bad_duration 999us
	bad_duration 500000ns
	bad_duration 0.0001s
}

# ---- signals -----------------------------------------------------------------

@test "an unknown signal name is refused" {
	refused "'FOO'" -l t -s FOO -- touch "$OUT/ran"
	refused "'SIGFOO'" -l t --signal SIGFOO -- touch "$OUT/ran"
	refused "'SIG'" -l t -s SIG -- touch "$OUT/ran"
	refused "signal" -l t -s '' -- touch "$OUT/ran"
	refused "'TERM '" -l t -s 'TERM ' -- touch "$OUT/ran"
}

@test "an invalid signal number is refused" {
	refused "'0'" -l t -s 0 -- touch "$OUT/ran"
	refused "'65'" -l t -s 65 -- touch "$OUT/ran"
	refused "'-15'" -l t -s -15 -- touch "$OUT/ran"
	refused "'9x'" -l t -s 9x -- touch "$OUT/ran"
	refused "'99999999999999999999'" -l t -s 99999999999999999999 -- touch "$OUT/ran"
}

# ---- -E ----------------------------------------------------------------------

@test "-E outside 0-255 is refused" {
	refused "'256'" -l t -E 256 -- touch "$OUT/ran"
	refused "'-1'" -l t -E -1 -- touch "$OUT/ran"
	refused "'99999999999999999999'" -l t --conflict-exit-code 99999999999999999999 -- touch "$OUT/ran"
}

@test "-E that is not a number is refused" {
	refused "'abc'" -l t -E abc -- touch "$OUT/ran"
	refused "exit code" -l t -E '' -- touch "$OUT/ran"
	refused "'7x'" -l t --conflict-exit-code=7x -- touch "$OUT/ran"
}

# ---- --slots -----------------------------------------------------------------

@test "--slots outside 1-64, or not a number, is refused" {
	refused "slots '0': must be 1-64" -l t --slots 0 -- touch "$OUT/ran"
	refused "'65'" -l t --slots 65 -- touch "$OUT/ran"
	refused "'-1'" -l t --slots=-1 -- touch "$OUT/ran"
	refused "'3x'" -l t --slots 3x -- touch "$OUT/ran"
	refused "'3x'" -l t --status --slots 3x
}

@test "--slots above 1 takes a lease name of at most 125 bytes" {
	refused "at most 125 characters with --slots" -l "$(printf 'n%.0s' {1..126})" --slots 2 -- touch "$OUT/ran"
	run lr -l "$(printf 'n%.0s' {1..125})" --slots 2 -- touch "$OUT/ran"
	[ "$status" = 0 ] && [ -e "$OUT/ran" ]
	rm -f "$OUT/ran"
	run lr -l "$(printf 'n%.0s' {1..128})" --slots 1 -- touch "$OUT/ran"
	[ "$status" = 0 ] && [ -e "$OUT/ran" ]
}

# ---- timing rules ------------------------------------------------------------

@test "renew-deadline equal to the lease duration is refused" {
	refused "invalid timing" -l t -t 1s --renew-deadline 1s -- touch "$OUT/ran"
}

@test "renew-deadline above the lease duration is refused" {
	refused "invalid timing" -l t -t 1s --renew-deadline 2s -r 100ms -- touch "$OUT/ran"
}

@test "retry-period equal to renew-deadline is refused" {
	refused "invalid timing" -l t -t 1s --renew-deadline 300ms -r 300ms -- touch "$OUT/ran"
}

@test "retry-period above renew-deadline is refused" {
	refused "invalid timing" -l t -t 1s -r 600ms -- touch "$OUT/ran"
}

@test "retry-period at or above the lease duration is refused" {
	refused "invalid timing" -l t -t 1s -r 1s -- touch "$OUT/ran"
	refused "invalid timing" -l t -t 1s -r 5s -- touch "$OUT/ran"
}

@test "renew-deadline + kill-after above the lease duration is refused" {
	refused "invalid timing" -l t -t 1s --renew-deadline 600ms -k 500ms -- touch "$OUT/ran"
	refused "invalid timing" -l t -t 1s -k 2s -- touch "$OUT/ran"
}

@test "renew-deadline + kill-after equal to the lease duration is refused" {
	refused "invalid timing" -l t -t 1s --renew-deadline 500ms -k 500ms -- touch "$OUT/ran"
}

@test "timings just inside the rules are accepted" {
	run -0 lr -l t -t 1s --renew-deadline 500ms -r 499ms -k 499ms -- true
}

@test "a lease too short for the default kill-after is refused through the derived values" {
	# -t 10s default: renew-deadline 5s; with -k 5s the sum reaches the lease.
	refused "invalid timing" -l t -k 5s -- touch "$OUT/ran"
}

# ---- lock names ----------------------------------------------------------------

@test "a lock name with '/' is refused" {
	refused "lock name" -l a/b -- touch "$OUT/ran"
	refused "lock name" -l ../t -- touch "$OUT/ran"
	refused "lock name" -l /etc/passwd -- touch "$OUT/ran"
}

@test "the lock names '.' and '..' are refused" {
	refused "lock name" -l . -- touch "$OUT/ran"
	refused "lock name" -l .. -- touch "$OUT/ran"
}

@test "an empty lock name is refused" {
	refused "lock name" -l '' -- touch "$OUT/ran"
}

@test "a 129-byte lock name is refused" {
	refused "lock name" -l "$(printf 'n%.0s' {1..129})" -- touch "$OUT/ran"
}

@test "a 10 kB lock name is refused with a short message" {
	refused "lock name" -l "$(printf 'n%.0s' {1..10240})" -- touch "$OUT/ran"
	[ "${#stderr}" -lt 400 ]
}

@test "a lock name with non-UTF-8 bytes is refused and shown escaped" {
	refused "lock name" -l $'ab\xff\xfe' -- touch "$OUT/ran"
	[[ "$stderr" != *$'\xff'* ]]
	[[ "$stderr" == *'\xff'* ]]
}

@test "a lock name with spaces, shell or control characters is refused" {
	for n in 'a b' 'a*' 'a$b' $'a\nb' $'a\tb' 'a%b' 'é'; do
		refused "lock name" -l "$n" -- touch "$OUT/ran"
	done
}

# ---- node ids --------------------------------------------------------------------

@test "a node id with spaces is refused" {
	refused "node id" -l t -i 'node 1' -- touch "$OUT/ran"
	refused "node id" -l t --node-id $'node\t1' -- touch "$OUT/ran"
}

@test "an empty or 129-byte node id is refused" {
	refused "node id" -l t -i '' -- touch "$OUT/ran"
	refused "node id" -l t -i "$(printf 'i%.0s' {1..129})" -- touch "$OUT/ran"
}

@test "a node id with non-ASCII or control bytes is refused" {
	refused "node id" -l t -i $'n\xff' -- touch "$OUT/ran"
	refused "node id" -l t -i $'n\x01' -- touch "$OUT/ran"
	refused "node id" -l t -i $'n\x7f' -- touch "$OUT/ran"
}

# ---- the command line ------------------------------------------------------------

@test "a missing command is refused" {
	refused "no command" -l t
	refused "no command" -l t --
}

@test "--status with a command is refused" {
	refused "--status" -l t --status -- touch "$OUT/ran"
	refused "--status" -l t --status touch "$OUT/ran"
}

@test "an unknown short option is refused" {
	refused "'x'" -l t -x -- touch "$OUT/ran"
}

@test "an unknown long option is refused" {
	refused "'--bogus'" -l t --bogus -- touch "$OUT/ran"
	refused "'--bogus=1'" -l t --bogus=1 -- touch "$OUT/ran"
}

@test "a long option with one dash, as Go flags are written, is refused and named" {
	refused "long options take two dashes: --node-id" \
	    -node-id=node-1 -lock-name=x -- touch "$OUT/ran"
	# -l would take "ock-name" as the lease name.
	refused "long options take two dashes: --lock-name" -lock-name x -- touch "$OUT/ran"
	for o in lock-name lock-dir lease-duration retry-period node-id \
	    renew-deadline kill-after heartbeat signal timeout \
	    conflict-exit-code nonblock verbose status no-emoji help version; do
		refused "long options take two dashes: --$o" -l t -$o -- touch "$OUT/ran"
		refused "long options take two dashes: --$o" -l t -$o=1s -- touch "$OUT/ran"
	done
}

@test "a one-dash long option is found after flags, values and long options" {
	refused "two dashes: --kill-after" -nv -kill-after 1s -- touch "$OUT/ran"
	refused "two dashes: --renew-deadline" -t1s -renew-deadline=1s -- touch "$OUT/ran"
	refused "two dashes: --lock-dir" -t 1s --heartbeat -lock-dir x -- touch "$OUT/ran"
	refused "two dashes: --retry-period" --node-id=n -retry-period 1s -- touch "$OUT/ran"
}

@test "an option value, the command and words that are no long option name stay as they were" {
	# Only a whole name counts: -node is -n -o, as before.
	refused "invalid option -- 'o'" -l t -node -- touch "$OUT/ran"
	run -0 lr -l lease-name -- true
	[ -f "$DIR/lease-name.lease" ]
	run -0 lr -lfoo -- true
	[ -f "$DIR/foo.lease" ]
	# Values that look like one-dash long options.
	run -0 lr -l -lock-name -- true
	[ -f "$DIR/-lock-name.lease" ]
	run -0 lr -l t -i -node-id -- sh -c 'echo "$LEADERRUN_NODE_ID"'
	[ "$output" = -node-id ]
	run -0 lr --lock-n -lock-dir -- true
	[ -f "$DIR/-lock-dir.lease" ]
	# The command's own options.
	run -0 lr -l t -- echo -lock-dir
	[ "$output" = -lock-dir ]
	run -0 lr -l t echo -node-id=x
	[ "$output" = -node-id=x ]
}

@test "an ambiguous long option prefix is refused" {
	refused "--re" -l t --re 1s -- touch "$OUT/ran"
}

@test "an argument to an option that takes none is refused, naming the option" {
	refused "--nonblock" -l t --nonblock=yes -- touch "$OUT/ran"
}

@test "an argument to --status is refused with a readable message" {
	refused "--status" -l t --status=1
	run ! env LC_ALL=C grep -aq '[^[:print:][:space:]]' <<< "$stderr"
}

@test "a missing option argument is refused" {
	refused "'-l'" -l
	refused "'--lock-name'" --lock-name
	refused "'-t'" -l t -t
	refused "'--renew-deadline'" -l t --renew-deadline
}

@test "an empty lock dir is refused" {
	refused "lock directory" -d '' -l t -- touch "$OUT/ran"
}

@test "bad input is refused before a missing command is looked up" {
	refused "'0'" -l t -t 0 -- no-such-command-xyz
}

@test "the last bad option is refused even after good ones" {
	refused "'5x'" -l t -i good -t 1s -r 100ms -k 5x -- touch "$OUT/ran"
}
