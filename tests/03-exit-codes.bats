#!/usr/bin/env bats
# Every exit status of the spec.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

# ---- the command's own status --------------------------------------------

@test "exit status 0 of the command is passed through" {
	run -0 lr -l t -- true
}

@test "exit statuses 1 and 255 of the command are passed through" {
	run -1 lr -l t -- false
	run -255 lr -l t -- sh -c 'exit 255'
}

@test "exit statuses that collide with leaderrun's own codes are passed through" {
	for c in 75 124 125 126 127; do
		run -$c lr -l t -- sh -c "exit $c"
	done
}

@test "a command killed by SIGKILL gives 137" {
	run -137 lr -l t -- sh -c 'kill -KILL $$'
}

@test "a command killed by SIGINT gives 130" {
	run -130 lr -l t -- sh -c 'kill -INT $$'
}

@test "a command killed by SIGSEGV gives 139" {
	run -139 lr -l t -- sh -c 'kill -SEGV $$'
}

@test "a command killed by a signal from outside gives 128+N" {
	bg l -l t "${SAFE[@]}" -- sh -c 'echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid"
	kill -USR2 "$(cat "$OUT/cmd.pid")"
	wait_exit l
	[ "$STATUS" = $((128 + $(kill -l USR2))) ]
	[ "$(field state)" = released ]
}

# ---- 75: not elected -------------------------------------------------------

@test "not elected with -n exits 75" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run --separate-stderr -75 lr -l t -n -- touch "$OUT/ran"
	[ -z "$output" ]
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "not elected within -w exits 75" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -75 lr -l t -w 100ms -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "-E overrides 75 for both -n and -w, -E 0 included" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -7 lr -l t -n -E 7 -- touch "$OUT/ran"
	run -8 lr -l t -w 50ms -E 8 -- touch "$OUT/ran"
	run -0 lr -l t -n -E 0 -- touch "$OUT/ran"
	run -0 lr -l t -w 50ms -E 0 -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	touch "$OUT/go"
}

@test "not being elected leaves the leader's record alone" {
	bg a -l t -i first -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -75 lr -l t -i second -n -- true
	run -75 lr -l t -i second -w 50ms -- true
	[ "$(field holder)" = first ]
	[ "$(field state)" = held ]
	touch "$OUT/go"
}

# ---- 124: leadership lost ------------------------------------------------

@test "leadership lost exits 124, whatever the stopped command returns" {
	bg l -l t "${SAFE[@]}" -- "${TRAPPER[@]}" TERM "$OUT/got" "$OUT/ready" 0
	wait_for "$OUT/ready"
	rm "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = TERM ]
}

@test "leadership lost exits 124 also when the command dies of the stop signal" {
	bg l -l t "${SAFE[@]}" -- sh -c 'touch "$1"; exec sleep 100' sh "$OUT/ready"
	wait_for "$OUT/ready"
	rm "$DIR/t.lease"
	wait_exit l
	[ "$STATUS" = 124 ]
}

# ---- 125: leaderrun failed -------------------------------------------------

@test "bad usage exits 125" {
	run -125 lr -l t --no-such-option -- true
	run -125 lr -l t -t 0 -- true
	run -125 lr -l t
}

@test "a lease store error exits 125 (lock dir is a file)" {
	touch "$OUT/file"
	run --separate-stderr -125 "$LEADERRUN" -d "$OUT/file" -l t -- touch "$OUT/ran"
	[[ "$stderr" == "leaderrun: "*"$OUT/file"* ]]
	[ ! -e "$OUT/ran" ]
}

@test "a lease store error exits 125 (unreadable record)" {
	mkdir "$DIR/t.lease"
	run --separate-stderr -125 lr -l t -- touch "$OUT/ran"
	[[ "$stderr" == "leaderrun: "*"t.lease"* ]]
	[ ! -e "$OUT/ran" ]
}

@test "a lease store error with -n exits 125, not 75" {
	ln -s "$OUT/nowhere" "$DIR/t.lease"
	run -125 lr -l t -n -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
}

# ---- 126: cannot execute ---------------------------------------------------

@test "a command without execute permission gives 126 without taking the lease" {
	printf '#!/bin/sh\necho hi\n' > "$OUT/noexec"
	chmod 644 "$OUT/noexec"
	run --separate-stderr -126 lr -l t -- "$OUT/noexec"
	[[ "$stderr" == *"noexec"*"Permission denied"* ]]
	[ ! -e "$DIR/t.lease" ]
}

@test "a command found in PATH but not executable gives 126" {
	mkdir "$OUT/bin"
	printf '#!/bin/sh\necho hi\n' > "$OUT/bin/notexec-xyz"
	chmod 644 "$OUT/bin/notexec-xyz"
	PATH=$OUT/bin:$PATH run -126 lr -l t -- notexec-xyz
	[ ! -e "$DIR/t.lease" ]
}

@test "a directory as the command gives 126" {
	run --separate-stderr -126 lr -l t -- "$OUT"
	[[ "$stderr" == *"Is a directory"* ]]
	[ ! -e "$DIR/t.lease" ]
}

@test "a command that fails in exec after the election gives 126 and releases the lease" {
	# Executable, but not a format the kernel runs: execve fails with ENOEXEC.
	printf '\177ELF\002\001\001garbage' > "$OUT/badexe"
	chmod 755 "$OUT/badexe"
	run --separate-stderr -126 lr -l t -- "$OUT/badexe"
	[[ "$stderr" == *"failed to run command"*"badexe"* ]]
	[ "$(field state)" = released ]
}

# ---- 127: not found ------------------------------------------------------

@test "a command not in PATH gives 127" {
	run --separate-stderr -127 lr -l t -- no-such-command-xyz
	[[ "$stderr" == *"no-such-command-xyz"*"No such file or directory"* ]]
	[ ! -e "$DIR/t.lease" ]
}

@test "127 for a duration after --heartbeat says to attach it with =" {
	run --separate-stderr -127 lr -l t --heartbeat 2s -- true
	[ "${stderr_lines[0]}" = "leaderrun: failed to run command '2s': No such file or directory" ]
	[ "${stderr_lines[1]}" = "leaderrun: did you mean --heartbeat=2s?" ]
	[ "${#stderr_lines[@]}" = 2 ]
	[ ! -e "$DIR/t.lease" ]
	# The abbreviation getopt takes for --heartbeat too.
	run --separate-stderr -127 lr -l t --heart 1m30s
	[ "${stderr_lines[1]}" = "leaderrun: did you mean --heartbeat=1m30s?" ]
}

@test "127 without the --heartbeat hint when it does not fit" {
	# Not a duration; a value given with =; -- before the command; another
	# option before it.
	for args in "--heartbeat 2x" "--heartbeat=1s 2s" "--heartbeat -- 2s" "-v 2s"; do
		run --separate-stderr -127 lr -l t $args
		[ "${#stderr_lines[@]}" = 1 ] || { echo "$args: $stderr"; false; }
	done
	# Found but not executable: 126, no hint either.
	mkdir "$OUT/bin"
	printf '#!/bin/sh\n' > "$OUT/bin/3s"
	chmod 644 "$OUT/bin/3s"
	PATH=$OUT/bin:$PATH run --separate-stderr -126 lr -l t --heartbeat 3s
	[ "${#stderr_lines[@]}" = 1 ]
}

@test "a command path that does not exist gives 127" {
	run -127 lr -l t -- "$OUT/missing/cmd"
	[ ! -e "$DIR/t.lease" ]
}

@test "an empty command name gives 127" {
	run -127 lr -l t -- ''
	[ ! -e "$DIR/t.lease" ]
}

@test "127 comes before the election: a missing command never waits for the lease" {
	bg a -l t -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	t0=$(now_ms)
	run -127 timeout 5 "$LEADERRUN" -d "$DIR" -l t -t 10s -- no-such-command-xyz
	[ "$(elapsed_ms "$t0")" -lt 3000 ]
	touch "$OUT/go"
}

@test "a message is one write: the command, which shares stderr, cannot split it" {
	# Each line leaderrun prints goes out in one write(2), head and all:
	# a shell's "Terminated" from a command being stopped once came out
	# in the middle of "leaderrun: t: lost leadership: ...".
	run strace -f -qq -s 256 -e trace=write -e signal=none -o "$OUT/trace" \
	    "$LEADERRUN" -d "$DIR" -l t -v -- true
	[ "$status" = 0 ]
	grep -q 'write(2, "leaderrun: t: elected (term 1, node [^"]*)\\n", [0-9]*) = ' "$OUT/trace"
	grep -q 'write(2, "leaderrun: t: released (term 1)\\n", [0-9]*) = ' "$OUT/trace"
	run strace -f -qq -s 256 -e trace=write -e signal=none -o "$OUT/trace" \
	    "$LEADERRUN" -d "$DIR" -l t --slots 0 -- true
	[ "$status" = 125 ]
	grep -q "write(2, \"leaderrun: invalid slots '0': must be 1-64\\\\n\", [0-9]*) = " "$OUT/trace"
}
