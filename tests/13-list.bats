#!/usr/bin/env bats
# --list: every lease of the store, one line each (NAME STATE HOLDER HOST
# TERM AGE) or, with --json, an array of --status objects.  On the file
# store, the NAME.lease files that pass the contenders' safety checks;
# anything else is skipped with a warning and never followed.
load helpers

setup() { lr_setup; }
teardown() { lr_teardown; }

FIELDS='["name","lease","store","state","holder","host","pid","term","acquired","renewed","expires_in_ms","alive","command","waiters","slots","holders"]'
HEADER='NAME  STATE  HOLDER  HOST  TERM  AGE'

# lst ARG...: leaderrun --list -d DIR ARG..., bounded (a FIFO must not hang it).
lst() { timeout -k 1 10 "$LEADERRUN" --list -d "$DIR" "$@"; }

# aligned: every line of $output has its columns where the header has them.
aligned() {
	local line col pos=() i
	col=0
	for w in NAME STATE HOLDER HOST TERM AGE; do
		pos+=("$(awk -v w="$w" 'NR == 1 { print index($0, w) }' <<< "$output")")
	done
	for line in "${lines[@]:1}"; do
		for i in 1 2 3 4 5; do
			# The character before each column is a space, the first of
			# the column is not.
			[ "${line:pos[i]-2:1}" = " " ] && [ "${line:pos[i]-1:1}" != " " ] ||
			    { echo "misaligned column $i: '$line'" >&2; return 1; }
		done
	done
}

@test "--list on an empty directory prints the header only and exits 0" {
	run --separate-stderr -0 lst
	[ "$output" = "$HEADER" ]
	[ -z "$stderr" ]
	[ -z "$(ls -A "$DIR")" ]
}

@test "--list shows held, released and free leases by name, in aligned columns" {
	bg a -l zeta -i node-held -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -0 lr -l alpha -i some-much-longer-node-id -- true
	: > "$DIR/mid.lease"
	: > "$DIR/only-a-lock.lock"
	run --separate-stderr -0 lst
	echo "$output"
	[ -z "$stderr" ]
	[ "${#lines[@]}" = 4 ]
	[[ "${lines[0]}" == "NAME "*" STATE "*" HOLDER "*" HOST "*" TERM "*" AGE" ]]
	read -r n s h o t a <<< "${lines[1]}"
	[ "$n $s $h $o $t" = "alpha released some-much-longer-node-id $(hostname | cut -c1-64) 1" ]
	[[ "$a" =~ ^[0-9.]+(ms|us|s)$ ]]
	read -r n s h o t a <<< "${lines[2]}"
	[ "$n $s $h $o $t $a" = "mid free - - - -" ]
	read -r n s h o t a <<< "${lines[3]}"
	[ "$n $s $h $t" = "zeta held node-held 1" ]
	aligned
	touch "$OUT/go"
}

@test "--list --json: an array of the --status objects, in name order" {
	bg a -l b -i node-b -t 10s -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	run -0 lr -l a -i node-a -- true
	run --separate-stderr -0 lst --json
	echo "$output"
	[ -z "$stderr" ]
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert isinstance(d, list) and len(d) == 2' "$output"
	[ "$(jq -c '[.[] | keys_unsorted] | unique' <<< "$output")" = "[$FIELDS]" ]
	[ "$(jq -c '[.[] | [.name, .state, .holder, .term]]' <<< "$output")" = '[["a","released","node-a",1],["b","held","node-b",1]]' ]
	[ "$(jq -r '.[1].pid' <<< "$output")" = "$(pid_of a)" ]
	[ "$(jq -r '.[1].lease' <<< "$output")" = "$DIR/b.lease" ]
	# The same object as --status --json gives, but for the times.
	run -0 lr -l b --status --json
	[ "$(jq -c 'del(.expires_in_ms, .holders[].expires_in_ms)' <<< "$output")" = \
	    "$(lst --json | jq -c '.[1] | del(.expires_in_ms, .holders[].expires_in_ms)')" ]
	touch "$OUT/go"
}

@test "--list --json on an empty directory is an empty array" {
	run --separate-stderr -0 lst --json
	[ "$output" = "[]" ]
	[ "$(jq length <<< "$output")" = 0 ]
}

@test "--list skips links, directories, FIFOs, hard links, bad names and bad records with a warning, and follows nothing" {
	run -0 lr -l good -i g -- true
	echo precious > "$OUT/victim"
	write_record "$OUT/outside.lease"
	ln -s "$OUT/outside.lease" "$DIR/link.lease"
	mkdir "$DIR/dir.lease"
	mkfifo "$DIR/fifo.lease"
	write_record "$DIR/hard.lease"
	ln "$DIR/hard.lease" "$OUT/hard-twin"
	write_record "$DIR/bad name.lease"
	write_record "$DIR/"$'ctl\x01\xff.lease'
	echo garbage > "$DIR/junk.lease"
	ls -lA "$DIR" > "$OUT/before"
	run --separate-stderr -0 lst
	echo "$output"
	echo "$stderr"
	[ "${#lines[@]}" = 2 ]
	read -r n s h o t a <<< "${lines[1]}"
	[ "$n $s $h $t" = "good released g 1" ]
	aligned
	grep -qxF "leaderrun: warning: skipped 'bad name.lease': not a lease name" <<< "$stderr"
	grep -qxF "leaderrun: warning: skipped 'ctl\\x01\\xff.lease': not a lease name" <<< "$stderr"
	grep -qxF "leaderrun: warning: skipped lease dir: $DIR/dir.lease: not a regular file" <<< "$stderr"
	grep -qxF "leaderrun: warning: skipped lease fifo: $DIR/fifo.lease: not a regular file" <<< "$stderr"
	grep -qxF "leaderrun: warning: skipped lease hard: $DIR/hard.lease: has 2 hard links" <<< "$stderr"
	grep -qxF "leaderrun: warning: skipped lease link: $DIR/link.lease: is a symbolic link" <<< "$stderr"
	grep -qxF "leaderrun: warning: skipped lease junk: $DIR/junk.lease: not a valid lease record" <<< "$stderr"
	[ "$(grep -c warning <<< "$stderr")" = 7 ]
	# Nothing was created, changed or followed.
	ls -lA "$DIR" | diff "$OUT/before" -
	run ! grep -q other-node <<< "$output"
	# The JSON array holds the good one only, and stays parseable.
	run --separate-stderr -0 lst --json
	[ "$(jq -c '[.[].name]' <<< "$output")" = '["good"]' ]
}

@test "--list skips a lease file owned by another user" {
	need_root
	write_record "$DIR/theirs.lease"
	chown 65534:65534 "$DIR/theirs.lease"
	run --separate-stderr -0 lst
	[ "$output" = "$HEADER" ]
	[ "$stderr" = "leaderrun: warning: skipped lease theirs: $DIR/theirs.lease: owned by another user (uid 65534)" ]
}

@test "--list escapes what a record holds: no raw control bytes or spaces in the table" {
	write_record "$DIR/t.lease" holder=$'a b\x1b[31m' host=$'h\xffx'
	run --separate-stderr -0 lst
	echo "$output"
	read -r n s h o t a <<< "${lines[1]}"
	[ "$h" = 'a\x20b\x1b[31m' ]
	[ "$o" = 'h\xffx' ]
	[ "$t" = 7 ]
	run ! env LC_ALL=C grep -q $'[\x01-\x1f\x7f-\xff]' <<< "$output"
}

@test "--list: a missing directory is an error (125)" {
	run --separate-stderr -125 "$LEADERRUN" --list -d "$DIR/nope"
	[ -z "$output" ]
	[ "$stderr" = "leaderrun: list: open $DIR/nope: No such file or directory" ]
	run --separate-stderr -125 "$LEADERRUN" --list --json -d "$DIR/nope"
	[ -z "$output" ]
}

@test "--list takes no command, no -l and no --status" {
	run --separate-stderr -125 lst -- touch "$OUT/ran"
	[ "${stderr_lines[0]}" = "leaderrun: --list takes no command" ]
	run --separate-stderr -125 lst -l t
	[ "${stderr_lines[0]}" = "leaderrun: --list shows every lease; -l names one (use --status)" ]
	run --separate-stderr -125 lst --status
	[ "${stderr_lines[0]}" = "leaderrun: --list and --status: use one" ]
	[ ! -e "$OUT/ran" ]
	run -0 "$LEADERRUN" --help
	[[ "$output" == *"--list "* ]]
	[[ "$output" == *"leaderrun --list [--json] [-d dir | -S url]"* ]]
}
