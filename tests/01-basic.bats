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

# ---- the harness -------------------------------------------------------------

@test "harness: CI=true, 1 or yes (any case) turn a missing need into a failure with the reason; otherwise it skips naming the package" {
	local v probe
	mkdir "$OUT/empty"
	# need_cmd in a shell without the command on its PATH; bats' skip stubbed.
	probe='skip() { echo "SKIPPED: $*"; exit 0; }
		source "$1/ci.bash"; need_cmd no-such-tool-lrt pkg-lrt; echo "need_cmd returned $?"'
	for v in true TRUE True 1 yes YES; do
		run -0 env CI=$v PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
		echo "CI=$v: $output"
		[[ "$output" == *"no-such-tool-lrt not installed (apt-get install pkg-lrt)"* ]]
		[[ "$output" == *"need_cmd returned 1" ]]
		[[ "$output" != *SKIPPED* ]]
	done
	for v in "" false 0 no; do
		run -0 env CI=$v PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
		echo "CI=$v: $output"
		[ "$output" = "SKIPPED: no-such-tool-lrt not installed (apt-get install pkg-lrt)" ]
	done
	run -0 env -u CI PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
	[ "$output" = "SKIPPED: no-such-tool-lrt not installed (apt-get install pkg-lrt)" ]
	# The store helpers use the same test: CI=yes fails need_etcd too.
	run -0 env CI=yes PATH="$OUT/empty" /bin/bash -c 'skip() { echo "SKIPPED: $*"; exit 0; }
		source "$1/etcd.bash"; need_etcd; echo "need_etcd returned $?"' sh "$BATS_TEST_DIRNAME"
	[[ "$output" == *"need_etcd returned 1" ]]
}

@test "harness: no test relies on a negated command that set -e ignores" {
	# bash's set -e ignores a failing "! cmd" unless it is a function's last
	# statement: such a check can never fail a test.  Use run !, [ ], or
	# "! cmd || false".
	run -1 grep -nE '^[[:space:]]*! ' "$BATS_TEST_DIRNAME"/*.bats "$BATS_TEST_DIRNAME"/*.bash
	echo "$output"
}
