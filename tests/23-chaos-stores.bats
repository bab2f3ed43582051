#!/usr/bin/env bats
# Never two leaders on the network stores: short chaos runs (tests/chaos.sh)
# on an etcd and on a redis-server that each run starts, stops and kills.
# Apart from 21-chaos.bats, so that make test runs them side by side.
load helpers

# A chaos run loads the machine: these never run at the same time as each
# other, even under bats --jobs without --no-parallelize-within-files.
BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup() {
	lr_setup
}

teardown() {
	lr_teardown
}

@test "chaos on etcd: a short run with etcd stopped and killed too: no overlap, nothing left behind" {
	[ -z "${LEADERRUN_SANITIZED:-}" ] || skip "timing-sensitive"
	need_cmd etcd etcd-server
	need_cmd etcdctl etcd-client
	# chaos.sh starts an etcd of its own on free ports and stops it; the
	# run begins with an etcd kill and restart, then an etcd stop.
	run env LEADERRUN="$LEADERRUN" TMPDIR=/tmp CHAOS_FIRST="etcd-kill etcd-stop" \
	    "$BATS_TEST_DIRNAME/chaos.sh" -s etcd -q -T 120 -S 10
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" = 0 ]
	[[ "${lines[0]}" =~ ^chaos:\ [0-9]+\ terms,\ [0-9]+\ faults,\ 0\ overlaps,\ 0\ leaks$ ]]
	[[ "${lines[1]}" == *"etcd-kill "[1-9]* ]]
	[[ "${lines[1]}" == *"etcd-stop "[1-9]* ]]
}

@test "chaos on redis: a short run with redis-server stopped and killed too: no overlap, nothing left behind" {
	[ -z "${LEADERRUN_SANITIZED:-}" ] || skip "timing-sensitive"
	need_cmd redis-server redis-server
	need_cmd redis-cli redis-tools
	# chaos.sh starts a redis-server of its own (AOF, so that a kill keeps
	# the fence) on a free port and stops it; the run begins with a Redis
	# kill and restart, then a Redis stop.
	run env LEADERRUN="$LEADERRUN" TMPDIR=/tmp CHAOS_FIRST="redis-kill redis-stop" \
	    "$BATS_TEST_DIRNAME/chaos.sh" -s redis -q -T 150 -S 10
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" = 0 ]
	[[ "${lines[0]}" =~ ^chaos:\ [0-9]+\ terms,\ [0-9]+\ faults,\ 0\ overlaps,\ 0\ leaks$ ]]
	[[ "${lines[1]}" == *"redis-kill "[1-9]* ]]
	[[ "${lines[1]}" == *"redis-stop "[1-9]* ]]
}
