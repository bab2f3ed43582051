#!/usr/bin/env bats
# The etcd store under failures (split from 50-etcd.bats so the two run in
# parallel): crashes, a stopped etcd, keys deleted by hand, restarts, lost
# members, other hosts, hostile servers.  The etcd store (issue 8):
# -S etcd://HOST:PORT[,HOST:PORT...][/PREFIX], on
# real etcd servers that each test starts (tests/etcd.bash) and on a hostile
# fake server (tests/fake_server.py).  The etcd servers grant TTLs of 1 s and
# up (see etcd.bash), so leases here are whole seconds: -t 2s gives retry
# 400ms, renew-deadline 1s, kill-after 600ms; -t 3s gives 600ms, 1.5s, 900ms.
load helpers
load etcd

# Scheduling slack for upper time bounds on a busy machine (ms).
SLACK=300
[ -z "${LEADERRUN_SANITIZED:-}" ] || SLACK=1500

setup() { lr_setup; }
teardown() {
	lr_teardown
	etcd_teardown
}

# ---- a crashed leader ----------------------------------------------------

@test "a contender arriving after the etcd leader was killed takes over well before the TTL" {
	etcd_start
	bge a -l t -t 3s -i a -- sh -c 'echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid" 10
	t0=$(now_ms)
	kill -KILL "$(pid_of a)"
	wait_until 2 dead "$(cat "$OUT/cmd.pid")"
	run -0 lre -l t -t 3s -w 5s -i b -- true
	took=$(elapsed_ms "$t0")
	echo "the next leader ran ${took}ms after the kill (TTL 3s)"
	[ "$took" -lt $((1200 + SLACK)) ]
	used_etcd
}

# ---- a lost lease ------------------------------------------------------------

@test "etcd SIGSTOPped under a leader: 124 within renew-deadline + kill-after, the job stopped" {
	etcd_start
	# -t 3s: retry 600ms, renew-deadline 1.5s, kill-after 900ms; the
	# command ignores SIGTERM, so it takes the SIGKILL.
	bge l -l t -t 3s -- sh -c 'trap "" TERM; echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid" 10
	cmd=$(cat "$OUT/cmd.pid")
	sleep 0.3
	etcd_pause
	t0=$(now_ms)
	wait_until 6 dead "$cmd"
	took=$(elapsed_ms "$t0")
	echo "the job was killed ${took}ms after etcd stopped"
	# Loss at renew-deadline after the last good keepalive (sent at most a
	# retry period before the stop), SIGKILL kill-after later.
	[ "$took" -ge 1000 ]
	[ "$took" -le $((3100 + SLACK)) ]
	wait_exit l 5
	echo "leaderrun exited $(elapsed_ms "$t0")ms after etcd stopped, status $STATUS"
	cat "$OUT/l.err"
	[ "$STATUS" = 124 ]
	[ "$(elapsed_ms "$t0")" -le 5000 ]
	grep -qi "lost leadership" "$OUT/l.err"
}

@test "the key deleted with etcdctl del: the leader loses at once (124)" {
	etcd_start
	bge l -l t -t 3s -r 300ms -- "${TRAPPER[@]}" TERM "$OUT/term" "$OUT/ready" 0
	wait_for "$OUT/ready" 10
	t0=$(now_ms)
	etcdctl_ del --prefix leaderrun/t/
	wait_for "$OUT/term" 5
	took=$(elapsed_ms "$t0")
	echo "stopped ${took}ms after the delete (retry 300ms)"
	[ "$took" -lt $((700 + SLACK)) ]
	wait_exit l 5
	[ "$STATUS" = 124 ]
	grep -qi "lost leadership" "$OUT/l.err"
	[ "$(nkeys)" = 0 ]
	# Its lease is revoked, or expires within its TTL (3s) at the latest.
	wait_until 5 no_leftovers
}

@test "the key deleted by hand: the next leader starts only once the old command is dead" {
	# The old leader's mark (leaderrun/t.leader) lives on its etcd lease,
	# which the old leader revokes only when its command is dead: a waiter
	# and a contender that arrives later both wait for that.
	etcd_start
	bge a -l t -t 3s -r 300ms -- sh -c 'trap "sleep 0.5; date +%s%N > $0/a.end; exit 1" TERM
	    date +%s%N > $0/a.start; sleep 30 & wait' "$OUT"
	wait_for "$OUT/a.start" 10
	bge b -l t -t 3s -r 300ms -- sh -c 'date +%s%N > $0/b.start' "$OUT"
	wait_until 10 has_nkeys 2	# b has joined
	etcdctl_ del --prefix leaderrun/t/
	bge c -l t -t 3s -r 300ms -- sh -c 'date +%s%N > $0/c.start' "$OUT"
	wait_for "$OUT/b.start" 10
	wait_for "$OUT/c.start" 10
	wait_exit a 5
	[ "$STATUS" = 124 ]
	echo "a ended $(cat "$OUT/a.end"), b started $(cat "$OUT/b.start"), c $(cat "$OUT/c.start")"
	[ "$(cat "$OUT/b.start")" -gt "$(cat "$OUT/a.end")" ]
	[ "$(cat "$OUT/c.start")" -gt "$(cat "$OUT/a.end")" ]
}

@test "the lease revoked with etcdctl: the leader loses at once (124)" {
	etcd_start
	bge l -l t -t 3s -r 300ms -- "${TRAPPER[@]}" TERM "$OUT/term" "$OUT/ready" 0
	wait_for "$OUT/ready" 10
	hex=$(holder_key)
	hex=${hex##*/}
	t0=$(now_ms)
	etcdctl_ lease revoke "$hex"
	wait_for "$OUT/term" 5
	took=$(elapsed_ms "$t0")
	echo "stopped ${took}ms after the revoke (retry 300ms)"
	[ "$took" -lt $((700 + SLACK)) ]
	wait_exit l 5
	[ "$STATUS" = 124 ]
	[ "$(nkeys)" = 0 ]
	wait_until 5 no_leftovers
}

@test "etcd restarted with the same data dir between two leaders: the term keeps growing" {
	etcd_start
	run -0 lre -l t -- sh -c 'echo "$LEADERRUN_TERM"'
	t1=$output
	run -0 lre -l t -- sh -c 'echo "$LEADERRUN_TERM"'
	t2=$output
	used_etcd
	etcd_restart
	run -0 lre -l t -- sh -c 'echo "$LEADERRUN_TERM"'
	t3=$output
	echo "terms: $t1 $t2, after the restart $t3"
	[ "$t1" -gt 0 ]
	[ "$t2" -gt "$t1" ]
	[ "$t3" -gt "$t2" ]
	used_etcd
}

# ---- a three-member cluster ------------------------------------------------

# cluster_member_killed KIND: a three-member cluster, leaderrun given all
# three endpoints with the raft leader (KIND=leader) or a follower
# (KIND=follower) first; that member is killed with SIGKILL while leaderrun
# leads; more than a TTL later it still leads and its command ends with 0.
cluster_member_killed() {
	local l k i ep rest= first
	etcd_cluster3
	l=$(etcd_leader)
	if [ "$1" = leader ]; then k=$l; else k=$((l % 3 + 1)); fi
	for i in 1 2 3; do
		ep=ETCD_EP$i
		[ $i = $k ] || rest+=${rest:+,}${!ep}
	done
	ep=ETCD_EP$k
	first=${!ep}
	echo "raft leader m$l; killing m$k ($first), first of etcd://$first,$rest"
	ETCD_URL=etcd://$first,$rest lead_hold a -t 3s -i a -v
	etcd_kill "$k"
	t0=$(now_ms)
	ETCD_EP=$rest
	# Longer than the TTL: leadership kept only by renewing elsewhere.
	sleep 3.3
	alive "$(pid_of a)"
	[ "$(efield holder)" = a ]
	hex=$(holder_key)
	hex=${hex##*/}
	etcdctl_ lease timetolive "$hex"
	[ "$(granted_ttl "$hex")" = 3 ]
	touch "$OUT/a.go"
	wait_exit a 5
	cat "$OUT/a.err"
	[ "$STATUS" = 0 ]
}

@test "three-member cluster: SIGKILL of the member leaderrun talks to (a follower) keeps leadership" {
	cluster_member_killed follower
}

@test "three-member cluster: SIGKILL of the member leaderrun talks to (the raft leader) keeps leadership" {
	cluster_member_killed leader
}

# ---- a leader on a second host -------------------------------------------

# remote NAME ARG...: leaderrun -S $ETCD_URL ARG... in the background on host
# "other-host" (new UTS and PID namespaces, as in 06-remote.bats).
remote() {
	local n=$1
	shift
	unshare --uts --pid --fork --mount-proc \
	    sh -c 'hostname other-host && exec "$@"' sh "$LEADERRUN" -S "$ETCD_URL" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

remote_pid() { pgrep -P "$(pid_of "$1")"; }

REMOTE_CMD=(sh -c 'trap "touch \"\$1.term\"; exit 0" TERM; touch "$1.ready"
	while :; do sleep 0.01; done' remote)

# start_remote_leader: remote leader "old" on lease t with -t 2s (TTL 2s,
# retry 400ms, renew-deadline 1s, kill-after 600ms); sets LR and CMD.
start_remote_leader() {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	remote old -l t -t 2s -i old-node -- "${REMOTE_CMD[@]}" "$OUT/old"
	wait_for "$OUT/old.ready" 10
	LR=$(remote_pid old)
	CMD=$(pgrep -P "$LR" -x sh)
	[ -n "$LR" ] && [ -n "$CMD" ]
	[ "$(efield host)" = other-host ]
	[ "$(efield holder)" = old-node ]
}

@test "a remote leader SIGSTOPped past its TTL is overtaken after about the TTL; its job was stopped first" {
	etcd_start
	start_remote_leader
	kill -STOP "$LR"
	t0=$(now_ms)
	bge new -l t -t 2s -i new-node -- sh -c '
		cat "/proc/$1/stat" > "$2" 2>/dev/null; touch "$3"' \
	    sh "$CMD" "$OUT/old.stat" "$OUT/new.started"
	sleep 1
	[ ! -e "$OUT/new.started" ]
	wait_for "$OUT/new.started" 8
	took=$(elapsed_ms "$t0")
	echo "taken over ${took}ms after the stop (TTL 2s)"
	[ "$took" -ge 1400 ]
	[ "$took" -lt 6000 ]
	if [ -s "$OUT/old.stat" ]; then
		cat "$OUT/old.stat"
		[[ "$(cat "$OUT/old.stat")" == *") Z "* ]]
	fi
	[ -e "$OUT/old.term" ]
	wait_exit new
	[ "$STATUS" = 0 ]
	kill -CONT "$LR"
}

@test "a resumed remote leader that was overtaken stops at once with 124 and leaves the new key alone" {
	etcd_start
	start_remote_leader
	kill -STOP "$LR"
	lead_hold new -t 2s -i new-node
	[ "$(efield holder)" = new-node ]
	k=$(holder_key)
	rev=$(knum "$k" create_revision)
	lease=$(knum "$k" lease)
	t0=$(now_ms)
	kill -CONT "$LR"
	wait_exit old 3
	took=$(elapsed_ms "$t0")
	echo "old leader exited ${took}ms after SIGCONT with $STATUS"
	cat "$OUT/old.err"
	[ "$STATUS" = 124 ]
	[ "$took" -lt $((1200 + SLACK)) ]
	dead "$CMD"
	grep -qi "lost leadership" "$OUT/old.err"
	[ "$(holder_key)" = "$k" ]
	[ "$(knum "$k" create_revision)" = "$rev" ]
	[ "$(knum "$k" lease)" = "$lease" ]
	[ "$(efield holder)" = new-node ]
	touch "$OUT/new.go"
	wait_exit new
	[ "$STATUS" = 0 ]
}

# ---- hostile servers ---------------------------------------------------------

# hostile MODE: leaderrun against fake server MODE, as the only endpoint: 125
# (first contact failed) with one clear message, in bounded time, and the
# command never ran.  $stderr has the message.
hostile() {
	fake_server_start "$1" 50 60
	t0=$(now_ms)
	run --separate-stderr timeout 30 "$LEADERRUN" -S "$FAKE_URL" -l t -t 2s -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "exit $status after ${took}ms; stderr: $stderr"
	cat "$FAKE_LOG"
	[ "$status" = 125 ]
	[[ "$stderr" == "leaderrun: "* ]]
	[ ! -e "$OUT/ran" ]
	[ "$took" -lt 10000 ]
	grep -q '^conn 1 ' "$FAKE_LOG"
}

@test "a server that answers garbage: 125, a clear message, no command" {
	hostile garbage
}

@test "a server that accepts and never answers: 125 in bounded time, no command" {
	hostile hang
	[[ "$stderr" == *"127.0.0.1:$FAKE_PORT"* || "$stderr" == *time* ]]
	t0=$(now_ms)
	run --separate-stderr timeout 30 "$LEADERRUN" --status -S "$FAKE_URL" -l t
	echo "--status: $status after $(elapsed_ms "$t0")ms: $stderr"
	[ "$status" = 125 ]
	[ "$(elapsed_ms "$t0")" -lt 10000 ]
}

@test "a server that closes mid-response: 125, no command" {
	hostile close
}

@test "a server that sends a 10 MB body: 125, no command" {
	hostile big
}

@test "a proxy's HTML 502: 125, the message names the status, no command" {
	hostile html502
	[[ "$stderr" == *502* ]]
}

@test "a 200 with a body that is not JSON: 125, no command" {
	hostile badjson
}

# before_good EP...: leaderrun given EP... and then this test's etcd leads.
before_good() {
	local eps
	eps=$(IFS=,; echo "$*")
	t0=$(now_ms)
	# (stderr apart: -t 3s warns that it cannot ride out a raft election)
	run -0 --separate-stderr timeout 30 "$LEADERRUN" -S "etcd://$eps,$ETCD_EP" -l t -t 3s -- \
	    sh -c 'echo "$LEADERRUN_TERM"'
	echo "ran after $(elapsed_ms "$t0")ms, term $output"
	[ "$output" -gt 0 ]
	[ "$(elapsed_ms "$t0")" -lt 10000 ]
	no_leftovers
	used_etcd
}

@test "a dead and a garbage endpoint before a good one: the good one is used" {
	etcd_start
	fake_server_start garbage 20 60
	before_good "127.0.0.1:$(free_ports 1)" "$FAKE_EP"
}

@test "a hanging endpoint before a good one: the good one is used" {
	etcd_start
	fake_server_start hang 20 60
	before_good "$FAKE_EP"
}
