#!/usr/bin/env bats
# Network faults between hosts and their store: a short run of
# tests/partition.sh on Redis, PostgreSQL and a single etcd member (make
# partition runs the long one, and a 3-member etcd with member faults), and
# the witness's own test.  Root: the hosts are network and PID namespaces.
load helpers

# Each run builds namespaces and loads the machine: one at a time.
BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup() {
	lr_setup
}

teardown() {
	lr_teardown
}

need_netns() {
	local why

	need_root
	# shellcheck source=tests/netns.bash
	why=$(. "$BATS_TEST_DIRNAME/netns.bash" && netns_usable) || unmet "$why"
}

@test "partition: redis, 3 rounds of cuts, lost replies, flapping, slow links: no overlap, every host back, nothing left" {
	need_cmd redis-server redis-server
	need_netns
	[ -z "${LEADERRUN_SANITIZED:-}" ] || skip "timing-sensitive"
	run env LEADERRUN="$LEADERRUN" TMPDIR="$BATS_TEST_TMPDIR" \
	    "$BATS_TEST_DIRNAME/partition.sh" -q -s redis -n 3 -t 800
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" = 0 ]
	[[ "${lines[0]}" =~ ^partition:\ redis,\ 2\ hosts,\ lease\ 800ms,\ 3\ rounds,\ 0\ overlaps ]]
}

@test "partition: etcd (one member), 2 rounds of network faults: no overlap, every host back, nothing left" {
	need_cmd etcd etcd-server
	need_cmd curl curl
	need_netns
	[ -z "${LEADERRUN_SANITIZED:-}" ] || skip "timing-sensitive"
	# A 250 ms election timeout: etcd grants a TTL of 1 s.
	run env LEADERRUN="$LEADERRUN" TMPDIR="$BATS_TEST_TMPDIR" \
	    "$BATS_TEST_DIRNAME/partition.sh" -q -s etcd -m 1 -e 250 -t 1000 -n 2
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" = 0 ]
	[[ "${lines[0]}" =~ ^partition:\ etcd,\ 2\ hosts,\ lease\ 1000ms,\ 2\ rounds,\ 0\ overlaps ]]
}

@test "partition: postgres, 3 rounds of network faults: no overlap, every host back, nothing left" {
	# shellcheck source=tests/postgres.bash
	. "$BATS_TEST_DIRNAME/postgres.bash"
	need_postgres
	need_netns
	[ -z "${LEADERRUN_SANITIZED:-}" ] || skip "timing-sensitive"
	run env LEADERRUN="$LEADERRUN" TMPDIR="$BATS_TEST_TMPDIR" \
	    "$BATS_TEST_DIRNAME/partition.sh" -q -s postgres -n 3 -t 800
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" = 0 ]
	[[ "${lines[0]}" =~ ^partition:\ postgres,\ 2\ hosts,\ lease\ 800ms,\ 3\ rounds,\ 0\ overlaps ]]
}

@test "partition: the witness catches two commands at once, and the run fails" {
	need_cmd redis-server redis-server
	need_netns
	# A "leaderrun" that takes no lease: every host runs the command.
	cat > "$OUT/noleader" <<-'EOF'
	#!/bin/sh
	for a; do [ "$a" = --status ] && exit 0; done
	while [ "$1" != -- ]; do shift; done
	shift
	LEADERRUN_TERM=$$ exec "$@"
	EOF
	chmod +x "$OUT/noleader"
	run env LEADERRUN="$OUT/noleader" TMPDIR="$BATS_TEST_TMPDIR" \
	    "$BATS_TEST_DIRNAME/partition.sh" -q -s redis -n 1 -d 100-100
	printf '# %s\n' "${lines[@]}" >&3
	[ "$status" = 1 ]
	[[ "$output" == *"OVERLAP: h"*"while another job held the witness"* ]]
	[[ "$output" =~ [1-9][0-9]*\ overlaps ]]
}
