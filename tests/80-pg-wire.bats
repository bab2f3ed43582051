#!/usr/bin/env bats
# The plumbing of the PostgreSQL store on its own (issue 24): the digests
# and SCRAM against the RFCs' vectors, the protocol's messages, and then
# the client against a real PostgreSQL 15 (tests/postgres.bash, one server
# for the file): each login method, a wrong password, a query round trip,
# LISTEN/NOTIFY, deadlines on a stopped server.  tests/pg_test.c holds the
# cases; this runs them.
load helpers
load postgres

PG_TEST=$BATS_TEST_DIRNAME/pg_test

setup_file() {
	# A missing server skips (or, with CI=true, fails) each live test.
	if have_postgres; then
		postgres_start
	fi
}

teardown_file() { postgres_teardown; }

# live PART: pg_test's live PART against the file's server.
live() {
	need_postgres || return
	[ -n "${PG_PID:-}" ] || { echo "the file's server did not start" >&2; return 1; }
	run "$PG_TEST" live "$1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok "* ]]
	[[ "$output" != *"not ok"* ]]
}

@test "pg: digests, SCRAM, messages, scripted sessions (tests/pg_test, TAP)" {
	run "$PG_TEST"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ok "* ]]
	[[ "$output" != *"not ok"* ]]
}

@test "pg live: SCRAM-SHA-256, md5, cleartext and trust logins; wrong passwords give 28P01" {
	live auth
}

@test "pg live: extended-protocol round trip, errors with SQLSTATE, named statements" {
	live query
}

@test "pg live: LISTEN/NOTIFY delivered once, a quiet wait ends at its deadline" {
	live notify
}

@test "pg live: a stopped backend or postmaster: every wait ends at its deadline" {
	live deadline
}
