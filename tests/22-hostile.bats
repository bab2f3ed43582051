#!/usr/bin/env bats
# Hostile neighbours in a shared lock directory, bad names, and resource
# limits: each is refused cleanly (one message, exit 125), nothing outside
# DIR is touched, and no lease data is lost.
load helpers

setup() {
	lr_setup
	# Files a planted link or a careless write could hit.
	OUTSIDE=$OUT/outside
	mkdir -p "$OUTSIDE"
	echo "precious" > "$OUTSIDE/victim"
	echo "other" > "$OUTSIDE/other"
	MNT=
}

teardown() {
	if [ -n "${MNT:-}" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	lr_teardown
}

# snap: everything under OUTSIDE, with content, size, inode, owner, mode
# and modification time, to compare before and after.
snap() {
	{
		find "$OUTSIDE" -printf '%p %y %s %i %T@ %U %m %l\n'
		find "$OUTSIDE" -type f -exec md5sum {} +
	} | sort
}

# untouched SNAPSHOT: nothing under OUTSIDE changed since snap wrote
# SNAPSHOT, and no lease or lock file appeared anywhere under OUT but in DIR.
untouched() {
	diff "$1" <(snap) &&
	    [ -z "$(find "$OUT" -path "$DIR" -prune -o \( -name '*.lease*' -o \
	    -name '*.lock' \) -print)" ]
}

# refused PATTERN... -- ARG...: leaderrun -d DIR ARG... exits 125 with one
# line that matches one of the PATTERNs (bad usage: and the --help
# pointer), without running its command.
refused() {
	local pats=() p ok=0
	while [ "$1" != -- ]; do
		pats+=("$1")
		shift
	done
	shift
	run --separate-stderr timeout -k 1 10 "$LEADERRUN" -d "$DIR" "$@"
	echo "status $status, stderr: $stderr" >&2
	[ "$status" = 125 ]
	[ -z "$output" ]
	for p in "${pats[@]}"; do
		[[ "${stderr_lines[0]}" == $p ]] && ok=1
	done
	[ "$ok" = 1 ]
	[ "${#stderr_lines[@]}" = 1 ] || { [ "${#stderr_lines[@]}" = 2 ] &&
	    [ "${stderr_lines[1]}" = "Try 'leaderrun --help' for more information." ]; }
	[ ! -e "$OUT/ran" ]
}

# lrt ARG...: leaderrun -d DIR ARG..., killed after 10 s at most.
lrt() { timeout -k 1 10 "$LEADERRUN" -d "$DIR" "$@"; }

# st ARG...: leaderrun --status -d DIR ARG..., bounded.
st() { timeout -k 1 10 "$LEADERRUN" --status -d "$DIR" "$@"; }

# status_field KEY: KEY of the record of lease t, as --status shows it.
status_field() { st -l t | sed -n "s/^$1: *//p"; }

# only_in_dir NAME...: DIR holds exactly these entries.
only_in_dir() {
	local want got
	want=$(printf '%s\n' "$@" | sort)
	got=$(ls -A "$DIR" | sort)
	[ "$want" = "$got" ]
}

# ---- other users' files ------------------------------------------------------

@test "hostile: another user's lease file is refused and left alone" {
	need_root
	echo "planted by someone else" > "$DIR/t.lease"
	chown 65534:65534 "$DIR/t.lease"
	cp "$DIR/t.lease" "$OUT/planted"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lease: owned by another user (uid 65534)" -- \
	    -l t -- touch "$OUT/ran"
	cmp "$OUT/planted" "$DIR/t.lease"
	[ "$(stat -c %u "$DIR/t.lease")" = 65534 ]
	only_in_dir t.lease t.lock
	untouched "$OUT/snap"
	run -125 st -l t
}

@test "hostile: another user's lock file is refused and left alone" {
	need_root
	: > "$DIR/t.lock"
	chown 65534:65534 "$DIR/t.lock"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lock: owned by another user (uid 65534)" -- \
	    -l t -- touch "$OUT/ran"
	[ "$(stat -c %u "$DIR/t.lock")" = 65534 ]
	only_in_dir t.lock
	untouched "$OUT/snap"
}

@test "hostile: as an ordinary user, files of another ordinary user are refused, root's are trusted" {
	need_root
	need_cmd setpriv util-linux
	# A world-writable sticky directory, like /tmp, that nobody can reach.
	EXTRA_DIR=$(mktemp -d /tmp/lrhostile.XXXXXX)
	chmod 755 "$EXTRA_DIR"
	local d=$EXTRA_DIR/shared
	mkdir -m 1777 "$d"
	cp "$LEADERRUN" "$EXTRA_DIR/leaderrun"
	chmod 755 "$EXTRA_DIR/leaderrun"
	local as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --
	    "$EXTRA_DIR/leaderrun" -d "$d")
	echo planted > "$d/t.lease"
	chown 12345:12345 "$d/t.lease"
	run --separate-stderr "${as_nobody[@]}" -l t -- true
	[ "$status" = 125 ]
	# A coverage build run as nobody adds gcov's own complaints.
	stderr=$(printf '%s\n' "$stderr" | grep -v '^profiling:' || true)
	[ "$stderr" = "leaderrun: $d/t.lease: owned by another user (uid 12345)" ] ||
	    [ "$stderr" = "leaderrun: open $d/t.lease: Permission denied" ]
	[ "$(cat "$d/t.lease")" = planted ]
	# Root's files are trusted (root could do anything anyway) ...
	run -0 lrt -l r -- true
	chmod 666 "$DIR/r.lease" "$DIR/r.lock"
	mkdir -m 777 "$EXTRA_DIR/open"
	cp -p "$DIR/r.lease" "$DIR/r.lock" "$EXTRA_DIR/open/"
	run --separate-stderr -0 "${as_nobody[@]/#$d/$EXTRA_DIR/open}" -l r -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 2 ]
	# ... also in a sticky directory, where nobody may rename over
	# them: the store writes in place, into the file root gave it.
	cp -p "$DIR/r.lease" "$DIR/r.lock" "$d/"
	run --separate-stderr -0 "${as_nobody[@]}" -l r -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 2 ]
	[ "$(stat -c %U "$d/r.lease")" = root ]
}

# ---- things planted where the files go --------------------------------------

@test "hostile: a symlink planted as the lease file is refused; its target is untouched" {
	ln -s "$OUTSIDE/victim" "$DIR/t.lease"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lease: is a symbolic link" -- -l t -- touch "$OUT/ran"
	[ -L "$DIR/t.lease" ]
	untouched "$OUT/snap"
	run -125 st -l t
	untouched "$OUT/snap"
}

@test "hostile: a dangling symlink as the lease file is refused; its target is not created" {
	ln -s "$OUTSIDE/new-victim" "$DIR/t.lease"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lease: is a symbolic link" -- -l t -- touch "$OUT/ran"
	[ ! -e "$OUTSIDE/new-victim" ]
	untouched "$OUT/snap"
}

@test "hostile: a symlink planted as the lock file is refused; dangling, its target is not created" {
	ln -s "$OUTSIDE/victim" "$DIR/t.lock"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lock: is a symbolic link" -- -l t -- touch "$OUT/ran"
	untouched "$OUT/snap"
	rm "$DIR/t.lock"
	ln -s "$OUTSIDE/new-victim" "$DIR/t.lock"
	refused "leaderrun: $DIR/t.lock: is a symbolic link" -- -l t -- touch "$OUT/ran"
	[ ! -e "$OUTSIDE/new-victim" ]
	untouched "$OUT/snap"
}

@test "hostile: a lease file hard-linked to a file outside DIR is refused" {
	ln "$OUTSIDE/victim" "$DIR/t.lease"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lease: has 2 hard links" -- -l t -- touch "$OUT/ran"
	untouched "$OUT/snap"
	run -125 st -l t
}

@test "hostile: a lock file hard-linked to a file outside DIR is refused" {
	ln "$OUTSIDE/victim" "$DIR/t.lock"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lock: has 2 hard links" -- -l t -- touch "$OUT/ran"
	untouched "$OUT/snap"
}

@test "hostile: a directory where the lease file goes is refused and left alone" {
	mkdir "$DIR/t.lease"
	echo inside > "$DIR/t.lease/file"
	snap > "$OUT/snap"
	refused "leaderrun: $DIR/t.lease: not a regular file" \
	    "leaderrun: open $DIR/t.lease: Is a directory" -- -l t -- touch "$OUT/ran"
	[ "$(cat "$DIR/t.lease/file")" = inside ]
	untouched "$OUT/snap"
	run -125 st -l t
}

@test "hostile: a directory where the lock file goes is refused" {
	mkdir "$DIR/t.lock"
	snap > "$OUT/snap"
	refused "leaderrun: open $DIR/t.lock: Is a directory" -- -l t -- touch "$OUT/ran"
	[ -d "$DIR/t.lock" ]
	untouched "$OUT/snap"
}

@test "hostile: a FIFO as the lease or lock file is refused at once, without blocking" {
	mkfifo "$DIR/t.lease"
	run timeout 5 "$LEADERRUN" -d "$DIR" -l t -- touch "$OUT/ran"
	[ "$status" = 125 ]
	[[ "$output" == "leaderrun: $DIR/t.lease: not a regular file" ]]
	run timeout 5 "$LEADERRUN" -d "$DIR" --status -l t
	[ "$status" = 125 ]
	rm "$DIR/t.lease" "$DIR/t.lock"
	mkfifo "$DIR/t.lock"
	run timeout 5 "$LEADERRUN" -d "$DIR" -l t -- touch "$OUT/ran"
	[ "$status" = 125 ]
	[[ "$output" == "leaderrun: $DIR/t.lock: not a regular file" ]]
	[ ! -e "$OUT/ran" ]
}

@test "hostile: a garbage lease file is never taken for a free lease" {
	head -c 3000 /dev/urandom > "$DIR/t.lease"
	cp "$DIR/t.lease" "$OUT/garbage"
	run --separate-stderr lrt -l t -t 400ms -n -- touch "$OUT/ran"
	[ "$status" = 75 ]
	[ ! -e "$OUT/ran" ]
	[[ "$stderr" == *"t.lease: not a valid lease record"* ]]
	cmp "$OUT/garbage" "$DIR/t.lease"
	run -125 st -l t
}

# ---- bad names ---------------------------------------------------------------

@test "hostile: names with / or .. are refused before any file is touched" {
	snap > "$OUT/snap"
	local n
	for n in ../x a/b .. . /etc/passwd x/../../y "../outside/victim" \
	    "$OUTSIDE/victim" "a/" "/"; do
		refused "leaderrun: invalid lock name '*': 1-128 characters of*" -- \
		    -l "$n" -- touch "$OUT/ran"
		run -125 st -l "$n"
	done
	only_in_dir
	untouched "$OUT/snap"
}

@test "hostile: a 10 kB name, node id or directory is refused with a short message" {
	local big
	big=$(head -c 10240 /dev/zero | tr '\0' a)
	snap > "$OUT/snap"
	refused "leaderrun: invalid lock name 'aaaa*...': *" -- -l "$big" -- touch "$OUT/ran"
	[ "${#stderr}" -lt 300 ]
	refused "leaderrun: invalid node id 'aaaa*...': *" -- -i "$big" -- touch "$OUT/ran"
	[ "${#stderr}" -lt 300 ]
	run --separate-stderr "$LEADERRUN" -d "$OUT/$big" -l t -- touch "$OUT/ran"
	[ "$status" = 125 ]
	[ "${#stderr_lines[@]}" = 1 ]
	[ "${#stderr}" -lt 400 ]
	only_in_dir
	untouched "$OUT/snap"
	# The limits themselves: 128 bytes are fine, 129 are not.
	run -0 lrt -l "$(head -c 128 /dev/zero | tr '\0' n)" -- true
	refused "leaderrun: invalid lock name *" -- \
	    -l "$(head -c 129 /dev/zero | tr '\0' n)" -- touch "$OUT/ran"
}

@test "hostile: non-UTF-8 and control bytes in a name or node id are refused and shown escaped" {
	snap > "$OUT/snap"
	# (A backslash in a pattern is written \\\\ in double quotes.)
	refused "leaderrun: invalid lock name 'x\\\\xff\\\\xfe': *" -- -l $'x\xff\xfe' -- touch "$OUT/ran"
	refused "leaderrun: invalid lock name 'a\\\\x1b\\[2Jb': *" -- -l $'a\e[2Jb' -- touch "$OUT/ran"
	refused "leaderrun: invalid node id 'n\\\\xc3(': *" -- -i $'n\xc3\x28' -- touch "$OUT/ran"
	# A node id may not smuggle lines into the record.
	refused "leaderrun: invalid node id 'n\\\\x0astate=released': *" -- \
	    -i $'n\nstate=released' -- touch "$OUT/ran"
	refused "leaderrun: invalid lock name 't\\\\x0a': *" -- -l $'t\n' -- touch "$OUT/ran"
	only_in_dir
	untouched "$OUT/snap"
}

@test "hostile: a lock directory with non-UTF-8 bytes in its path works, a missing one fails cleanly" {
	local d=$OUT/$'dir\xff\xfe'
	mkdir "$d"
	run -0 "$LEADERRUN" -d "$d" -l t -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 1 ]
	[ -f "$d/t.lease" ]
	run --separate-stderr "$LEADERRUN" -d "$OUT/"$'no\xff' -l t -- touch "$OUT/ran"
	[ "$status" = 125 ]
	[ "${#stderr_lines[@]}" = 1 ]
	[[ "$stderr" == *"No such file or directory" ]]
	[ ! -e "$OUT/ran" ]
}

# ---- resource limits -------------------------------------------------------

@test "hostile: with few file descriptors leaderrun fails cleanly (125) or works; the record is never lost" {
	# ASan's leak checker spins at exit when it cannot get descriptors.
	[ -z "${LEADERRUN_SANITIZED:-}" ] || skip "sanitizer runtimes need descriptors of their own"
	local n st msg ok=0 failed=0 term=0
	for n in 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 24 32; do
		# Only 0, 1 and 2 open, as in a fresh login.
		run --separate-stderr bash -c 'for f in /proc/$$/fd/*; do
			f=${f##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done
			ulimit -n "$1"; shift; exec "$@"' lim "$n" \
		    "$LEADERRUN" -d "$DIR" -l t -t 400ms -- sh -c 'echo $LEADERRUN_TERM'
		echo "ulimit -n $n: status $status: $stderr" >&2
		case $status in
		127)
			# The dynamic loader, before leaderrun runs at all.
			[[ "$stderr" == *"error while loading shared libraries"* ]]
			continue
			;;
		0)
			ok=$((ok + 1))
			[ "$output" -gt "$term" ]
			term=$output
			;;
		125)
			failed=$((failed + 1))
			[ -z "$output" ]
			# gcov cannot write its data without descriptors either
			[ -n "${LEADERRUN_COVERAGE:-}" ] || [ "${#stderr_lines[@]}" = 1 ]
			[[ "${stderr_lines[0]}" == "leaderrun: "*": "@(Too many open files|No file descriptors available) ]]
			;;
		*)
			false
			;;
		esac
		if [ -e "$DIR/t.lease" ]; then
			run "$LEADERRUN" -d "$DIR" --status -l t
			[ "$status" = 0 ] || [ "$status" = 1 ]
			st=$(status_field term)
			[ "$st" -ge "$term" ]
			term=$st
		fi
	done
	[ "$ok" -gt 0 ] && [ "$failed" -gt 0 ]
	# The last one took over at once from wherever the others stopped.
	run -0 lrt -l t -t 400ms -w 300ms -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = $((term + 1)) ]
}

# mount_tmpfs OPTIONS: a small tmpfs at MNT (a new DIR), or unmet.
mount_tmpfs() {
	need_root
	MNT=$OUT/mnt
	mkdir -p "$MNT"
	mount -t tmpfs -o "$1" lrtest "$MNT" 2>/dev/null || {
		MNT=
		unmet "cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)"
	}
	DIR=$MNT
}

# fill: take every free block of MNT.
fill() {
	dd if=/dev/zero of="$MNT/fill" bs=4096 2>/dev/null || true
	[ "$(df --output=avail "$MNT" | tail -n 1 | tr -d ' ')" = 0 ]
}

@test "hostile: a full disk at the start: 125, one message, no record, nothing else written" {
	mount_tmpfs size=16k,mode=755
	fill
	refused "leaderrun: write $DIR/t.lease*: No space left on device" -- \
	    -l t -- touch "$OUT/ran"
	# No record: the store creates the file (an inode, no block), then
	# finds the disk full when it writes the record.
	[ -f "$DIR/t.lease" ] && [ ! -s "$DIR/t.lease" ]
	run st -l t
	[ "$status" = 1 ]
	rm "$MNT/fill"
	run -0 lrt -l t -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 1 ]
}

@test "hostile: the disk fills up while leading: renewed in place, the command runs on, the record intact" {
	mount_tmpfs size=16k,mode=755
	run -0 lrt -l t -- true
	bg a -l t -t 1s -r 50ms -- "${TRAPPER[@]}" TERM "$OUT/mark" "$OUT/ready" 0
	wait_for "$OUT/ready"
	fill
	# Renewals go on (each rewrites a slot of blocks it has), past three
	# renew deadlines (500ms each), without a word.
	local n0
	n0=$(field renewals)
	sleep 1.5
	alive "$(pid_of a)"
	[ "$(field renewals)" -ge $((n0 + 10)) ]
	[ ! -s "$OUT/a.err" ]
	[ ! -e "$OUT/mark" ]
	kill -TERM "$(pid_of a)"
	wait_exit a 5
	[ "$STATUS" = 0 ]
	[ "$(status_field state)" = released ]
	[ "$(status_field term)" = 2 ]
	# The disk is still full, and the next leader still gets term 3.
	run -0 lrt -l t -w 500ms -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 3 ]
}

@test "hostile: no free inodes: the record is renewed and taken over in place, no new inode needed" {
	mount_tmpfs size=64k,mode=755
	run -0 lrt -l t -- true
	# Only the root, the lock file and the record: no inode for anything
	# else.
	mount -o remount,nr_inodes=3 "$MNT" || unmet "cannot limit the inodes of a tmpfs (remount,nr_inodes)"
	run ! touch "$MNT/one-more"
	run --separate-stderr -0 lrt -l t -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 2 ]
	[ -z "$stderr" ]
	[ "$(status_field state)" = released ]
}

@test "hostile: a read-only lock directory: the record is renewed in place (no file created, none renamed)" {
	need_root
	need_cmd setpriv util-linux
	EXTRA_DIR=$(mktemp -d /tmp/lrhostile.XXXXXX)
	chmod 755 "$EXTRA_DIR"
	local d=$EXTRA_DIR/locks
	mkdir "$d"
	chown 65534:65534 "$d"
	cp "$LEADERRUN" "$EXTRA_DIR/leaderrun"
	local as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --
	    timeout -k 1 10 "$EXTRA_DIR/leaderrun" -d "$d")
	run -0 "${as_nobody[@]}" -l t -- true
	chmod 555 "$d"
	run --separate-stderr -0 "${as_nobody[@]}" -l t -- sh -c 'echo $LEADERRUN_TERM'
	[ "$output" = 2 ]
	[ -z "$stderr" ]
	run -1 "${as_nobody[@]}" --status -l t
	[[ "$output" == *"state:      released"*"term:       2"* ]]
	chmod 755 "$d"
}
