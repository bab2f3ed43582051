#!/usr/bin/env bats
# Promises of the man page that no other test held leaderrun to, on the file
# store (the ones that hold on etcd and Redis too are in 52-etcd-promises
# and 61-redis-promises).  Signals, the terminal, descendants, PATH and the
# metrics file are the supervisor's, whatever the store.
load helpers

setup() {
	lr_setup
	TMUX_SOCK=
	PROBE=
}
teardown() {
	[ -z "$TMUX_SOCK" ] || tmux -L "$TMUX_SOCK" kill-server 2> /dev/null || true
	[ -z "$PROBE" ] || rm -f "$PROBE"
	lr_teardown
}

# ---- signals -------------------------------------------------------------

@test "promise: a signal ignored when leaderrun starts stays ignored: not caught, not forwarded, ignored in the command" {
	# USR1 ignored from the start, as a shell does with INT and QUIT for a
	# background job.  The command (perl, which may catch a signal that
	# was ignored at its start) says what it inherited and logs what it
	# gets; USR2, not ignored, is forwarded and ends it.
	env --ignore-signal=USR1 --default-signal=INT,QUIT "$LEADERRUN" -d "$DIR" \
	    -l t "${SAFE[@]}" -- perl -e '
		open(my $s, "<", "/proc/self/status") or die;
		my ($ign) = map { /^SigIgn:\s*(\S+)/ ? $1 : () } <$s>;
		sub note { open(my $f, ">>", $_[0]) or die; print $f $_[1], "\n"; close $f }
		note("$ARGV[0].ign", $ign);
		$SIG{USR1} = sub { note("$ARGV[0].got", "USR1") };
		$SIG{USR2} = sub { note("$ARGV[0].got", "USR2"); exit 7 };
		note("$ARGV[0].ready", "");
		sleep 1 while 1;' "$OUT/m" > "$OUT/l.out" 2> "$OUT/l.err" &
	echo $! > "$OUT/l.pid"
	wait_for "$OUT/m.ready"
	# The command started with USR1 (signal 10, bit 9) ignored.
	echo "command's SigIgn: $(cat "$OUT/m.ign")"
	[ $((0x$(cat "$OUT/m.ign") & (1 << 9))) != 0 ]
	kill -USR1 "$(pid_of l)"	# neither kills leaderrun nor is forwarded
	kill -USR2 "$(pid_of l)"
	wait_exit l
	cat "$OUT/l.err"
	[ "$STATUS" = 7 ]
	[ "$(cat "$OUT/m.got")" = USR2 ]
}

@test "promise: if someone kills the held command while leaderrun waits, leaderrun gives up with 125" {
	bg a -l t "${SAFE[@]}" -i a -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	bg w -l t "${SAFE[@]}" -i w -v -- touch "$OUT/ran"
	wait_until 5 has waiting "$OUT/w.err"
	# The held command: the waiting leaderrun's child in its session (the
	# other child, the watchdog, has a session of its own).
	held=$(ps -o pid=,sid= --ppid "$(pid_of w)" | awk '$1 != $2 { print $1 }')
	[ "$(wc -w <<< "$held")" = 1 ]
	[ "$(readlink "/proc/$held/exe")" = "$(readlink -f "$LEADERRUN")" ]
	t0=$(now_ms)
	kill -KILL "$held"
	wait_exit w 5
	took=$(elapsed_ms "$t0")
	cat "$OUT/w.err"
	echo "gave up ${took}ms after the kill"
	[ "$STATUS" = 125 ]
	[ "$took" -lt "$AT_ONCE_MS" ]
	grep -q "^leaderrun: t: the command's process (pid $held) ended before it could start" "$OUT/w.err"
	[ ! -e "$OUT/ran" ]
	# Nothing of it is left (its watchdog went with it); the leader leads on.
	wait_until 2 eval '[ -z "$(pgrep -f -- "-l t .* -i w -v")" ]'
	[ "$(field holder)" = a ]
	[ "$(field state)" = held ]
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
}

@test "promise: a leader that wakes up after its renew deadline stops its command before it renews" {
	# A suspend, as the leader sees it: its monotonic and boot-time clocks
	# jump 5s ahead (the fault shim), while the record is still its own
	# and a renewal would succeed.  The shim logs each write of the record.
	need_shim
	env --default-signal=INT,QUIT LD_PRELOAD="$FAULTSHIM" \
	    LR_FAULT="clock:jump:ms=5000:while=$OUT/asleep" LR_FAULT_LOG="$OUT/flog" \
	    "$LEADERRUN" -d "$DIR" -l t -t 2s -r 50ms --renew-deadline 1s -k 600ms -- \
	    bash -c 'trap "echo \${EPOCHREALTIME/[.,]/} > \"\$2\"; exit 0" TERM
		touch "$1"; while :; do sleep 0.01; done' job "$OUT/ready" "$OUT/got" \
	    > "$OUT/l.out" 2> "$OUT/l.err" &
	echo $! > "$OUT/l.pid"
	wait_for "$OUT/ready"
	wait_until 5 eval '[ "$(field renewals)" -ge 2 ]'
	jump=${EPOCHREALTIME/[.,]/}
	touch "$OUT/asleep"
	wait_for "$OUT/got" 5
	got=$(cat "$OUT/got")
	echo "stopped $(((got - jump) / 1000))ms after the wake-up (retry 50ms)"
	wait_exit l 5
	cat "$OUT/l.err"
	[ "$STATUS" = 124 ]
	grep -q "^leaderrun: t: lost leadership: no renewal within 1s" "$OUT/l.err"
	# No renewal between the wake-up and the stop signal, but one that
	# may have been under way as the clock jumped.
	run awk -v a="$jump" -v b="$got" '$3 == "pwrite" && $4 == "t.lease" && $1 > a && $1 < b' "$OUT/flog"
	echo "record writes between the wake-up and the stop: ${#lines[@]}"
	[ "${#lines[@]}" -le 1 ]
	[ $(((got - jump) / 1000)) -lt "$AT_ONCE_MS" ]
}

# ---- the lock files ------------------------------------------------------

@test "promise: the lock descriptors are close-on-exec: the command and its children hold no lease file" {
	run -0 lr -l t -- sh -c 'ls -l /proc/$$/fd/ > "$1"
		sh -c "ls -l /proc/\$\$/fd/" > "$1.child"' sh "$OUT/fds"
	cat "$OUT/fds" "$OUT/fds.child"
	grep -q -- '->' "$OUT/fds"	# it lists descriptors at all
	run ! grep -e "$DIR" -e 't\.lock' -e 't\.lease' "$OUT/fds" "$OUT/fds.child"
	# And no lock of the lease is left with a process of the command.
	run -0 lr -l t -- sh -c 'sleep 30 > /dev/null 2>&1 & echo $! > "$1"' sh "$OUT/kid"
	ino=$(stat -c %i "$DIR/t.lock")
	run ! grep ":$ino " /proc/locks
}

# ---- store errors while waiting --------------------------------------------

@test "promise: later store errors while waiting are printed and retried (file store)" {
	need_shim
	bg a -l t "${SAFE[@]}" -i a -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	# A waiter behind a local leader looks again every 3 lease durations
	# (900ms with -t 300ms); its reads fail while $OUT/fault exists.
	env --default-signal=INT,QUIT LD_PRELOAD="$FAULTSHIM" LR_FAULT=read:EIO \
	    LR_FAULT_FILE="$OUT/fault" "$LEADERRUN" -d "$DIR" -l t -t 300ms -i w -v \
	    -- touch "$OUT/ran" > "$OUT/w.out" 2> "$OUT/w.err" &
	echo $! > "$OUT/w.pid"
	wait_until 5 has waiting "$OUT/w.err"
	touch "$OUT/fault"
	wait_until 5 has "Input/output error" "$OUT/w.err"
	rm "$OUT/fault"
	cat "$OUT/w.err"
	grep -q "^leaderrun: read $DIR/t.lease: Input/output error (retrying)$" "$OUT/w.err"
	alive "$(pid_of w)"
	touch "$OUT/go"
	wait_exit w 5
	[ "$STATUS" = 0 ]
	[ -e "$OUT/ran" ]
	# Said once, not once per try.
	[ "$(grep -c "Input/output error" "$OUT/w.err")" = 1 ]
}

# ---- killed during --min-hold --------------------------------------------------

done_marked() { [ "$(field done)" = 1 ]; }

@test "promise: a leaderrun killed during --min-hold leaves its lease like a dead holder: taken at once on this host" {
	bg a -l t "${SAFE[@]}" -i a --min-hold 10s -- true
	wait_until 5 done_marked
	kill -KILL "$(pid_of a)"
	wait_exit a
	t0=$(now_ms)
	run -0 lr -l t "${SAFE[@]}" -n -i b -- sh -c 'echo $LEADERRUN_TERM'
	took=$(elapsed_ms "$t0")
	echo "taken over ${took}ms after it started"
	[ "$output" = 2 ]
	[ "$took" -lt "$AT_ONCE_MS" ]
}

@test "promise: a leaderrun killed during --min-hold is taken over after the lease duration from another host" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	bg a -l t -t 800ms -i a --min-hold 10s -- true
	wait_until 5 done_marked
	kill -KILL "$(pid_of a)"
	wait_exit a
	t0=$(now_ms)
	run -0 unshare --uts --pid --fork --mount-proc sh -c 'hostname other-host && exec "$@"' \
	    sh "$LEADERRUN" -d "$DIR" -l t -t 800ms -w 5s -i b -- sh -c 'echo $LEADERRUN_TERM'
	took=$(elapsed_ms "$t0")
	echo "taken over ${took}ms after it started (lease 800ms)"
	[ "$output" = 2 ]
	[ "$took" -ge 800 ]
	[ "$(field host)" = other-host ]
}

# ---- the terminal ----------------------------------------------------------------

# in_tmux COMMAND: run COMMAND (a bash command line) in a new tmux server of
# this test, on a terminal; its pane is $PANE.
in_tmux() {
	need_cmd tmux tmux
	TMUX_SOCK=lrt-$$-$BATS_TEST_NUMBER
	tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -x 80 -y 10 -s t "bash -c '$1'"
	PANE=t
}

@test "promise: on a terminal, Ctrl-C ends the wait with status 130, without running the command" {
	bg a -l t "${SAFE[@]}" -i a -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready"
	in_tmux "\"$LEADERRUN\" -d \"$DIR\" -l t -v -- touch \"$OUT/ran\" 2> \"$OUT/w.err\"; echo \$? > \"$OUT/rc\"; sleep 30"
	wait_until 5 has waiting "$OUT/w.err"
	tmux -L "$TMUX_SOCK" send-keys -t "$PANE" C-c
	wait_for "$OUT/rc" 5
	[ "$(cat "$OUT/rc")" = 130 ]
	[ ! -e "$OUT/ran" ]
	[ "$(field holder)" = a ]
	touch "$OUT/go"
}

command_stopped() { [ "$(ps -o stat= -p "$1" | cut -c1)" = T ]; }
owns_terminal() { [ "$(ps -o tpgid= -p "$1" | tr -d " ")" = "$(ps -o pgid= -p "$1" | tr -d " ")" ]; }
renewed_past() { [ "$(field renewals)" -ge "$1" ]; }

@test "promise: on a terminal, Ctrl-Z stops the command but not leaderrun, which goes on renewing" {
	in_tmux "\"$LEADERRUN\" -d \"$DIR\" -l t ${SAFE[*]} -- sh -c \"echo \\\$\\\$ > $OUT/cmd.pid; while :; do sleep 0.01; done\"; echo \$? > \"$OUT/rc\"; sleep 30"
	wait_for "$OUT/cmd.pid"
	cmd=$(cat "$OUT/cmd.pid")
	lr=$(field pid)
	# The command's group owns the terminal (leaderrun gave it over).
	wait_until 5 owns_terminal "$cmd"
	tmux -L "$TMUX_SOCK" send-keys -t "$PANE" C-z
	wait_until 5 command_stopped "$cmd"
	n=$(field renewals)
	# Ten renewals (-r 50ms) while the command is stopped.
	wait_until 5 renewed_past $((n + 10))
	command_stopped "$cmd"
	run ! command_stopped "$lr"
	[ "$(field state)" = held ]
	[ ! -e "$OUT/rc" ]
	kill -CONT "$cmd"
	kill -TERM "$lr"
	wait_for "$OUT/rc" 5
	[ "$(cat "$OUT/rc")" = 143 ]
}

# ---- descendants -----------------------------------------------------------------

@test "promise: a signal is forwarded to descendants that left the process group and were reparented to leaderrun" {
	# The command starts a daemon (its own session, its parent gone), so
	# that only the subreaper link reaches it, and goes on running.
	cat > "$OUT/daemon" <<-'EOF'
	#!/bin/sh
	trap 'touch "$1.usr1"; exit 0' USR1
	echo $$ > "$1.pid.new"; mv "$1.pid.new" "$1.pid"
	while :; do sleep 0.01; done
	EOF
	chmod +x "$OUT/daemon"
	bg l -l t "${SAFE[@]}" -- sh -c '
		sh -c "setsid \"$1/daemon\" \"$1/d\" > /dev/null 2>&1 &"
		trap "touch \"$1/main.usr1\"" USR1
		until [ -e "$1/d.pid" ]; do sleep 0.01; done; touch "$1/ready"
		until [ -e "$1/go" ]; do sleep 0.01; done
		exit 0' sh "$OUT"
	wait_for "$OUT/ready"
	d=$(cat "$OUT/d.pid")
	# Reparented to leaderrun, in a process group of its own.
	wait_until 2 eval '[ "$(ps -o ppid= -p "$d" | tr -d " ")" = "$(pid_of l)" ]'
	[ "$(ps -o pgid= -p "$d" | tr -d " ")" = "$d" ]
	kill -USR1 "$(pid_of l)"
	# (The command runs on meanwhile: its end would stop the daemon.  Its
	# own sleep may die of the USR1 too, hence its explicit exit 0.)
	wait_for "$OUT/d.usr1" 5
	wait_for "$OUT/main.usr1" 5
	touch "$OUT/go"
	wait_exit l
	[ "$STATUS" = 0 ]
}

# ---- PATH and the metrics file ---------------------------------------------------

@test "promise: with PATH unset the command is looked up in /usr/local/bin:/bin:/usr/bin" {
	need_root
	[ -d /usr/local/bin ] || unmet "no /usr/local/bin"
	# A command only /usr/local/bin has (execvp's own default, /bin:/usr/bin,
	# would not find it).
	PROBE=/usr/local/bin/lrt-path-probe-$$
	printf '#!/bin/sh\necho found\n' > "$PROBE"
	chmod 755 "$PROBE"
	run -0 env -u PATH "$LEADERRUN" -d "$DIR" -l t -- "${PROBE##*/}"
	[ "$output" = found ]
}

@test "promise: the metrics file is mode 0644 whatever the umask" {
	local u
	for u in 077 027 000; do
		rm -f "$OUT/m.prom"
		run -0 bash -c 'umask "$1"; shift; exec "$@"' sh "$u" \
		    "$LEADERRUN" -d "$DIR" -l t --metrics "$OUT/m.prom" -- true
		echo "umask $u: $(stat -c %a "$OUT/m.prom")"
		[ "$(stat -c %a "$OUT/m.prom")" = 644 ]
	done
}
