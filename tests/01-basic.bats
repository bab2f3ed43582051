#!/usr/bin/env bats
load helpers

@test "runs the command and passes its exit status through" {
	run -3 lr -l t -- sh -c 'exit 3'
}

@test "stdout belongs to the command; leaderrun writes nothing there" {
	run --separate-stderr -0 lr -l t -- echo hello
	[ "$output" = hello ]
	[ -z "$stderr" ]
}

@test "the command gets LEADERRUN_NAME, LEADERRUN_NODE_ID and LEADERRUN_TERM" {
	run -0 lr -l t -i node-7 -- sh -c 'echo "$LEADERRUN_NAME $LEADERRUN_NODE_ID $LEADERRUN_TERM"'
	[ "$output" = "t node-7 1" ]
	run -0 lr -l t -i node-7 -- sh -c 'echo "$LEADERRUN_TERM"'
	[ "$output" = 2 ]
}

@test "a command killed by signal N gives 128+N" {
	run -143 lr -l t -- sh -c 'kill -TERM $$'
}

@test "command not found gives 127 without taking the lease" {
	run -127 lr -l t -- no-such-command-xyz
	[[ "$output" == *"failed to run command 'no-such-command-xyz': No such file or directory"* ]]
	[ ! -e "$DIR/t.lease" ]
}

@test "command not executable gives 126" {
	printf 'echo hi\n' > "$OUT/noexec"
	chmod 644 "$OUT/noexec"
	run -126 lr -l t -- "$OUT/noexec"
}

@test "the lease is released when the command exits" {
	run -0 lr -l t -- true
	[ "$(field state)" = released ]
}
