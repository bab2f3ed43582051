#!/usr/bin/env bats
# --status --json: one JSON object on stdout with the documented fields, the
# exit codes of --status, and any bytes of a record escaped so that a strict
# JSON parser (python3's json, jq) reads it.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

# The documented fields, in order.
FIELDS='["name","lease","store","state","holder","host","pid","term","acquired","renewed","expires_in_ms","alive","command","waiters","slots","holders"]'

# pyjson EXPR: evaluate the python expression EXPR with d = the JSON
# object in $output (strict: raw control bytes in strings are refused),
# and print it with ascii().
pyjson() {
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(ascii(eval(sys.argv[2])))' \
	    "$output" "$1"
}

# job_named, done_marked: the record of t names the command's process
# group, says the command is done.
job_named() { [ "$(field job)" -gt 0 ] 2> /dev/null; }
done_marked() { [ "$(field done)" = 1 ]; }

# jqr FILTER: jq -r FILTER of $output.
jqr() { jq -r "$1" <<< "$output"; }

# one_object: stdout is one line holding one JSON object with exactly the
# documented fields, in order.
one_object() {
	[ "${#lines[@]}" = 1 ]
	[ "$(jq -c 'keys_unsorted' <<< "$output")" = "$FIELDS" ]
}

@test "--status --json on a free lease: state free, nulls, exit 1, nothing created" {
	run --separate-stderr -1 lr -l t --status --json
	[ -z "$stderr" ]
	one_object
	[ "$(jqr .name)" = t ]
	[ "$(jqr .lease)" = "$DIR/t.lease" ]
	[ "$(jqr .store)" = "file:$DIR" ]
	[ "$(jqr .state)" = free ]
	[ "$(jq -c '[.holder,.host,.pid,.term,.acquired,.renewed,.expires_in_ms,.alive,.command,.waiters]' <<< "$output")" = \
	    "[null,null,null,null,null,null,null,null,null,null]" ]
	[ -z "$(ls -A "$DIR")" ]
}

@test "--status --json on a held lease: holder, pid, term, times, alive, command, exit 0" {
	bg a -l t -i node-j -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	wait_until 5 job_named
	run --separate-stderr -0 lr -l t --status --json
	echo "$output"
	one_object
	[ "$(jqr .state)" = held ]
	[ "$(jqr .holder)" = node-j ]
	# One slot: "holders" is the top level again, as slot 0.
	[ "$(jqr .slots)" = 1 ]
	[ "$(jq -c '.holders[0] | del(.slot)' <<< "$output")" = \
	    "$(jq -c '{state,holder,host,pid,term,acquired,renewed,expires_in_ms,alive,command}' <<< "$output")" ]
	[ "$(jqr .host)" = "$(hostname | cut -c1-64)" ]
	[ "$(jqr .pid)" = "$(pid_of a)" ]
	[ "$(jqr .term)" = 1 ]
	[[ "$(jqr .acquired)" =~ ^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z$ ]]
	[[ "$(jqr .renewed)" =~ ^20[0-9]{2}-.*Z$ ]]
	[ "$(jqr '.expires_in_ms | type')" = number ]
	[ "$(jqr .expires_in_ms)" -gt 0 ] && [ "$(jqr .expires_in_ms)" -le 10000 ]
	[ "$(jqr .alive)" = true ]
	[ "$(jqr .command)" = running ]
	[ "$(jqr .waiters)" = null ]
	touch "$OUT/go"
}

@test "--status --json on a released lease: the last holder, no alive or command, exit 1" {
	run -0 lr -l t -i node-r -- true
	run --separate-stderr -1 lr -l t --status --json
	one_object
	[ "$(jqr .state)" = released ]
	[ "$(jqr .holder)" = node-r ]
	[ "$(jqr .term)" = 1 ]
	[ "$(jqr .alive)" = null ]
	[ "$(jqr .command)" = null ]
	[ "$(jqr .expires_in_ms)" = null ]
}

@test "--status --json during --min-hold: command done" {
	bg a -l t "${SAFE[@]}" --min-hold 10s -- true
	wait_until 5 done_marked
	run -0 lr -l t --status --json
	[ "$(jqr .command)" = done ]
	[ "$(jqr .state)" = held ]
}

@test "--status --json: times are RFC 3339 UTC with milliseconds, null when unknown" {
	write_record "$DIR/t.lease" acquired=1796100000172 renewed=1000
	run -0 lr -l t --status --json
	[ "$(jqr .acquired)" = 2026-12-01T04:40:00.172Z ]
	[ "$(jqr .renewed)" = 1970-01-01T00:00:01.000Z ]
	write_record "$DIR/t.lease" acquired=0 renewed=999999999999999999
	run -0 lr -l t --status --json
	[ "$(jqr .acquired)" = null ]
	[ "$(jqr .renewed)" = null ]
	[ "$(jqr .expires_in_ms)" = null ]
}

@test "--status --json: expires_in_ms from the last renewal, negative once run out" {
	write_record "$DIR/t.lease" renewed=$(($(now_ms) - 1000)) lease_ms=10000
	run -0 lr -l t --status --json
	[ "$(jqr .expires_in_ms)" -le 9000 ] && [ "$(jqr .expires_in_ms)" -gt 5000 ]
	write_record "$DIR/t.lease" renewed=$(($(now_ms) - 20000)) lease_ms=10000
	run -0 lr -l t --status --json
	[ "$(jqr .expires_in_ms)" -le -10000 ]
}

@test "--status --json: a dead holder on this host is alive false" {
	write_record "$DIR/t.lease" sys="$(sys_id)" pid=999999999 job=0
	run -0 lr -l t --status --json
	[ "$(jqr .alive)" = false ]
	[ "$(jqr .command)" = starting ]
}

@test "--status --json: control bytes, quotes and non-UTF-8 in a record come out escaped" {
	# Node ids are printable ASCII, but a record written by another tool
	# can hold anything but NUL and newline.
	write_record "$DIR/t.lease" holder=$'ev\x01il"\\\x1b[31m' host=$'h\xff\xfe\tx\x7f'
	run --separate-stderr -0 lr -l t --status --json
	echo "$output"
	one_object
	# Strict parsers: python3 refuses raw control bytes in strings.
	[ "$(pyjson 'd["holder"]')" = "'ev\\x01il\"\\\\\\x1b[31m'" ]
	[ "$(pyjson 'd["host"]')" = "'h\\xff\\xfe\\tx\\x7f'" ]
	[ "$(jqr .holder | od -An -c | tr -s ' ')" = "$(printf 'ev\001il"\\\033[31m\n' | od -An -c | tr -s ' ')" ]
	# Bytes above 0x7f that are not UTF-8 become the code points of the
	# same number; the output itself is valid UTF-8.
	iconv -f UTF-8 -t UTF-8 <<< "$output" > /dev/null
}

@test "--status --json on a corrupt record: 125, a message, nothing on stdout" {
	echo garbage > "$DIR/t.lease"
	run --separate-stderr -125 lr -l t --status --json
	[ -z "$output" ]
	[[ "$stderr" == "leaderrun: status: "*"t.lease"* ]]
}

@test "--json without --status is refused (125)" {
	run --separate-stderr -125 lr -l t --json -- touch "$OUT/ran"
	[ "${stderr_lines[0]}" = "leaderrun: --json goes with --status or --list" ]
	[ ! -e "$OUT/ran" ]
	run -0 "$LEADERRUN" --help
	[[ "$output" == *"--json "* ]]
}
