#!/usr/bin/env bats
# The plumbing of the network stores on its own: sockets with deadlines,
# the HTTP/1.1 reader (every etcd reply shape, and hostile ones), the JSON
# reader and base64.  tests/wire_test.c holds the cases; this runs them.

@test "wire: net, HTTP and JSON unit tests (tests/wire_test, TAP)" {
	run "$BATS_TEST_DIRNAME/wire_test"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok "* ]]
	[[ "$output" != *"not ok"* ]]
}
