#!/usr/bin/env bats
# An etcd lock removed by hand never gives two commands at once (issue 23).
# The leader's job needs 300 ms to stop after SIGTERM, a waiter queues
# behind it, and a witness flock catches two jobs at once (tests/hand.bash).
# Then the lock goes by hand: the leader's lease revoked, its keys deleted.
# -t 3s -k 600ms: retry 600ms, renew-deadline 1.5s, so a leader that
# cannot renew has stopped 2.1s after its last renewal.  Real etcd.
load helpers
load etcd
load hand

setup() { lr_setup; }
teardown() {
	lr_teardown
	etcd_teardown
}

# TIMING: the timing options of contend and contend_on.
TIMING=(-t 3s -k 600ms)

# contend NAME [ARG...]: a contender for t running job.sh as NAME.
contend() {
	local n=$1
	shift
	bge "$n" -l t "${TIMING[@]}" -i "$n" -v "$@" -- \
	    "$OUT/job.sh" "$OUT/log" "$OUT/wit" "$n"
}

# leader_and_waiter: a leads, b waits right behind it, and has asked how
# long a's lease has left.
leader_and_waiter() {
	write_job
	contend a
	wait_for "$OUT/log.a" 10
	contend b
	wait_until 5 has "waiting" "$OUT/b.err"
	sleep 1.3	# past a's first renewal and b's first questions
}

# a_lease: the etcd lease of a's key (its name: leaderrun/t/<lease in hex>).
a_lease() { local k; k=$(holder_key t); echo "${k##*/}"; }

@test "etcd hand delete: the leader's lease revoked: the waiter starts after the old job stopped, at once after it" {
	etcd_start
	leader_and_waiter
	lease=$(a_lease)
	[ -n "$lease" ]
	t0=$(now_ms)
	etcdctl_ lease revoke "$lease" > /dev/null
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	grep -q "went without a clean end" "$OUT/b.err"
	# a sees it at once (its watch), its job takes 300ms, then its clean
	# end lets b go: well before a's 2.1s stop time.
	echo "b started ${took}ms after the revoke"
	[ "$took" -lt 1800 ]
	finish
}

@test "etcd hand delete: del --prefix of every key of the lease (queue and mark): no overlap" {
	etcd_start
	leader_and_waiter
	etcdctl_ del --prefix leaderrun/t > /dev/null
	wait_for "$OUT/log.b" 10
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	finish
}

@test "etcd hand delete: del of the leader's key (its mark stands): no overlap" {
	etcd_start
	leader_and_waiter
	etcdctl_ del "$(holder_key t)" > /dev/null
	wait_for "$OUT/log.b" 10
	no_overlap
	wait_exit a 5
	[ "$STATUS" = 124 ]
	finish
}

@test "etcd hand delete: the lease of a stopped leader revoked: the waiter waits its renew-deadline + kill-after" {
	etcd_start
	leader_and_waiter
	lease=$(a_lease)
	kill -STOP "$(pid_of a)"	# it can neither see nor end cleanly
	t0=$(now_ms)	# b sees the key go after this
	etcdctl_ lease revoke "$lease" > /dev/null
	wait_until 5 has "went without a clean end" "$OUT/b.err"
	# Its job stops within its stop time, as its supervisor would see to.
	sleep 0.5
	[ ! -e "$OUT/log.b" ]
	kill -TERM -- "-$(cat "$OUT/log.a.pid")"
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	echo "b started ${took}ms after the revoke (stop time 2.1s)"
	[ "$took" -ge 2000 ]
	kill -CONT "$(pid_of a)"
	no_overlap
	wait_exit a 5
	finish
}

@test "etcd hand delete: a dead first in line that never led, reaped, leaves the next waiting its stop time, past the leader's it waited" {
	etcd_start
	leader_and_waiter
	contend c
	wait_until 5 has_nkeys 3
	wait_until 5 has "waiting" "$OUT/c.err"
	sleep 1.3	# c knows a as the leader, b as the key ahead
	lease=$(a_lease)
	kill -STOP "$(pid_of a)"	# its job runs on, as if slow to stop
	t0=$(now_ms)
	etcdctl_ lease revoke "$lease" > /dev/null
	# b, first in line, waits out a's stop time (2.1s); it dies then,
	# before it led, and c (same host) reaps its key.
	wait_until 5 has "went without a clean end" "$OUT/b.err"
	kill -KILL "$(pid_of b)"
	sleep 1.2
	[ ! -e "$OUT/log.c" ]
	kill -TERM -- "-$(cat "$OUT/log.a.pid")"	# within a's stop time
	wait_for "$OUT/log.c" 10
	took=$(elapsed_ms "$t0")
	kill -CONT "$(pid_of a)"
	cat "$OUT/log" "$OUT/c.err"
	run ! grep -q OVERLAP "$OUT/log"
	[ ! -e "$OUT/log.b" ]
	[ "$(sed -n 2p "$OUT/log")" = "stop a" ]
	[ "$(sed -n 3p "$OUT/log")" = "start c" ]
	echo "c started ${took}ms after the revoke (stop time 2.1s)"
	[ "$took" -ge 2000 ]
	wait_exit a 5
	kill -TERM "$(pid_of c)"
	wait_exit c 5
}

@test "etcd: a lease that runs out (the leader stopped) is taken at its TTL, not a stop time later" {
	etcd_start
	leader_and_waiter
	kill -STOP "$(pid_of a)"
	kill -KILL -- "-$(cat "$OUT/log.a.pid")"	# as its supervisor would
	t0=$(now_ms)
	wait_for "$OUT/log.b" 10
	took=$(elapsed_ms "$t0")
	echo "b started ${took}ms after a stopped (TTL 3s)"
	run ! grep -q "without a clean end" "$OUT/b.err"
	run ! grep -q OVERLAP "$OUT/log"
	[ "$took" -lt 4200 ]
	kill -KILL "$(pid_of a)"
	finish
}

@test "etcd: a waiter on another host whose supervisor is killed leaves the queue at once: its watchdog revokes its lease" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	etcd_start
	write_job
	contend a
	wait_for "$OUT/log.a" 10
	# b on another host (nobody here can judge it), not exec'd: its
	# supervisor is not the namespace's init, whose death would take the
	# watchdog with it.
	unshare --uts --pid --fork --mount-proc sh -c 'hostname other-host; "$@"; sleep 5' \
	    sh "$LEADERRUN" -S "$ETCD_URL" -l t -t 3s -k 600ms -i b -v -- \
	    "$OUT/job.sh" "$OUT/log" "$OUT/wit" b 2> "$OUT/b.err" &
	wait_until 5 has "waiting" "$OUT/b.err"
	[ "$(keys t | wc -l)" = 2 ]
	# its supervisor: the leaderrun of b whose parent is the sh
	sup=$(ps -eo pid=,ppid=,args= | awk '$3 ~ /leaderrun$/ && / -i b / { print $1, $2 }' |
	    while read -r p pp; do [ "$(ps -o comm= -p "$pp")" = sh ] && echo "$p"; done | head -n 1)
	[ -n "$sup" ]
	t0=$(now_ms)
	kill -KILL "$sup"
	wait_until 2 eval '[ "$(keys t | wc -l)" = 1 ]'
	took=$(elapsed_ms "$t0")
	echo "b's key went ${took}ms after the kill (its lease: 3s)"
	[ "$took" -lt 1500 ]
	kill -TERM "$(pid_of a)"
	wait_exit a 5
	run ! grep -q "start b" "$OUT/log"
}

@test "etcd: a clean release leaves the term in NAME.ended, no other key, and its lease bound to nothing; 3 raft writes on its way" {
	etcd_start
	p0=$(etcd_metric etcd_server_proposals_committed_total)
	# The command waits for the leader's mark, so that a mark written at
	# the first renewal would be counted every time.
	bge a -l t -t 3s -- sh -c 'echo $LEADERRUN_TERM > "$1"; while [ ! -e "$2" ]; do sleep 0.01; done' sh "$OUT/term" "$OUT/go"
	wait_until 5 eval '[ -n "$(etcdctl_ get leaderrun/t.leader --keys-only)" ]'
	touch "$OUT/go"
	wait_exit a 5
	p1=$(etcd_metric etcd_server_proposals_committed_total)
	echo "raft proposals: $((p1 - p0))"
	[ "$(etcdctl_ get leaderrun/t.ended --print-value-only)" = "$(cat "$OUT/term")" ]
	[ "$(etcdctl_ get --prefix leaderrun/ --keys-only | sed '/^$/d')" = leaderrun/t.ended ]
	# The lease grant, the join (with the mark: alone in the queue) and
	# the clean end; no revoke on the way out.  The lease, bound to
	# nothing, runs out by itself (etcd's own proposal, a TTL later).
	[ $((p1 - p0)) -le 3 ]
	lease=$(etcdctl_ lease list | sed 1d)
	[ "$(echo "$lease" | wc -w)" = 1 ]
	ttl=$(etcdctl_ lease timetolive --keys "$lease")
	echo "$ttl"
	[[ $ttl == *"attached keys([])"* ]]
	[ "$(echo "$ttl" | sed -n 's/.*remaining(\([0-9]*\)s).*/\1/p')" -le 3 ]
	[ "$(nleases)" = 0 ]
}

# contend_on HOST NAME: contend NAME, as a holder of another host (UTS and
# PID namespaces of its own): no waiter judges it dead from /proc, so none
# looks when its supervisor exits after its term.  Its job runs until
# $OUT/NAME.go exists, or as write_job's does on SIGTERM.
contend_on() {
	unshare --uts --pid --fork --mount-proc sh -c 'hostname "$1"; shift
	    exec "$@"' sh "$1" "$LEADERRUN" -S "$ETCD_URL" -l t "${TIMING[@]}" \
	    -i "$2" -v -- sh -c 'exec 9> "$2"; flock -n 9 || echo "OVERLAP $3" >> "$1"
	    trap "sleep 0.3; echo \"stop \$3\" >> \"\$1\"; exit 0" TERM
	    echo "start $3" >> "$1"; touch "$1.$3"
	    until [ -e "$4" ]; do sleep 0.01; done; echo "stop $3" >> "$1"' \
	    job "$OUT/log" "$OUT/wit" "$2" "$OUT/$2.go" \
	    > "$OUT/$2.out" 2> "$OUT/$2.err" &
	echo $! > "$OUT/$2.pid"
}

@test "etcd hand delete: a waiter two back whose key went by hand does not lead by the clean end it sees next" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	etcd_start
	write_job
	contend_on h1 a
	wait_for "$OUT/log.a" 10
	contend_on h2 b
	wait_until 5 has_nkeys 2
	contend c
	wait_until 5 has_nkeys 3
	wait_until 5 has "waiting" "$OUT/c.err"
	sleep 0.3	# c watches the key of b, the one ahead of it
	etcdctl_ del "$(keys | sed -n 3p)" > /dev/null
	# d queues right behind b now, where c was.
	contend d
	wait_until 5 has_nkeys 3
	wait_until 5 has "waiting" "$OUT/d.err"
	sleep 0.3
	touch "$OUT/a.go"	# a ends cleanly: b leads
	wait_for "$OUT/log.b" 10
	sleep 0.3	# b's first renewal, which c and d see
	touch "$OUT/b.go"	# b ends cleanly: d leads, c does not
	wait_for "$OUT/log.d" 10
	sleep 1
	cat "$OUT/log" "$OUT/c.err" "$OUT/d.err"
	run ! grep -q OVERLAP "$OUT/log"
	[ ! -e "$OUT/log.c" ]
	run ! grep -q "lost leadership" "$OUT/c.err"
	kill -TERM "$(pid_of d)"
	wait_for "$OUT/log.c" 10
	run ! grep -q OVERLAP "$OUT/log"
	[ "$(grep -c '^start' "$OUT/log")" = 4 ]
	[ "$(sed -n '$p' "$OUT/log")" = "start c" ]
	kill -TERM "$(pid_of c)"
	wait_exit c 5
}

@test "etcd hand delete: the first in line waits out a leader it never saw that went without a clean end" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	etcd_start
	write_job
	contend_on h1 a
	wait_for "$OUT/log.a" 10
	contend_on h2 x
	wait_until 5 has_nkeys 2
	contend b
	wait_until 5 has_nkeys 3
	contend c
	wait_until 5 has_nkeys 4
	wait_until 5 has "waiting" "$OUT/c.err"
	sleep 0.3	# c watches the key of b alone
	touch "$OUT/a.go"	# a ends cleanly, x leads: c does not see it
	wait_for "$OUT/log.x" 10
	sleep 0.3
	# x's lease revoked (its job takes 300 ms to stop), then b's key
	# deleted: c is first in line, and the ended key names a.
	k=$(holder_key t)
	etcdctl_ lease revoke "${k##*/}" > /dev/null
	etcdctl_ del "$(keys | sed -n 1p)" > /dev/null
	wait_for "$OUT/log.c" 10
	cat "$OUT/log" "$OUT/c.err"
	run ! grep -q OVERLAP "$OUT/log"
	[ "$(sed -n 3p "$OUT/log")" = "start x" ]
	[ "$(sed -n 4p "$OUT/log")" = "stop x" ]
	[ "$(sed -n 5p "$OUT/log")" = "start c" ]
	grep -q "went without a clean end" "$OUT/c.err"
	kill -TERM "$(pid_of c)"
	wait_exit c 5
}

@test "etcd: a key two ahead that ran out on another host (its leader gone cleanly) is taken at its TTL, not a stop time later" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	etcd_start
	write_job
	contend_on h1 a
	wait_for "$OUT/log.a" 10
	contend_on h2 b
	wait_until 5 has_nkeys 2
	contend c
	wait_until 5 has_nkeys 3
	wait_until 5 has "waiting" "$OUT/c.err"
	sleep 1.3	# c knows a as the leader, b as the key ahead
	bpid=$(pgrep -P "$(pid_of b)")
	kill -STOP "$bpid"	# b's lease runs out
	touch "$OUT/a.go"	# a ends cleanly; c, watching b, does not see it
	wait_until 10 has_nkeys 1
	t0=$(now_ms)
	wait_for "$OUT/log.c" 10
	took=$(elapsed_ms "$t0")
	kill -KILL "$bpid"
	cat "$OUT/log" "$OUT/c.err"
	echo "c started ${took}ms after b's key ran out (stop time 2.1s)"
	run ! grep -q OVERLAP "$OUT/log"
	run ! grep -q "without a clean end" "$OUT/c.err"
	[ "$took" -lt 1500 ]
	kill -TERM "$(pid_of c)"
	wait_exit c 5
}

@test "etcd hand delete: a clean end of a first in line that never led, while the old leader's mark stands, hands over to no one" {
	etcd_start
	leader_and_waiter
	wait_until 5 etcdctl_ get leaderrun/t.leader --print-value-only
	kill -STOP "$(pid_of a)"	# its job runs on, as if slow to stop
	etcdctl_ del "$(holder_key t)" > /dev/null	# a's mark stands
	contend c	# its look: b leads, ahead of it; c watches the span
	wait_until 5 has_nkeys 2
	wait_until 5 has "waiting" "$OUT/c.err"
	sleep 0.5
	# b's clean end, as a reaper that thought it dead would send it: its
	# key's DELETE and the ended key's PUT of its term, in one revision.
	k=$(holder_key t)
	rev=$(etcdctl_ get "$k" -w fields | sed -n 's/^"CreateRevision" : //p')
	[ -n "$rev" ]
	printf '\ndel %s\nput leaderrun/t.ended %s\n\n\n' "$k" "$rev" |
	    etcdctl_ txn > /dev/null
	sleep 1
	[ ! -e "$OUT/log.c" ]
	kill -TERM -- "-$(cat "$OUT/log.a.pid")"	# a's stop time
	wait_for "$OUT/log.c" 10
	kill -CONT "$(pid_of a)"
	cat "$OUT/log" "$OUT/c.err"
	run ! grep -q OVERLAP "$OUT/log"
	[ "$(sed -n 2p "$OUT/log")" = "stop a" ]
	kill -TERM "$(pid_of b)" "$(pid_of c)"
	wait_exit c 5
	wait_exit a 5
}

@test "etcd hand delete: a first in line on another host that ran out before it led may have waited out a revoked leader: the next waits its stop time" {
	unshare --uts --pid --fork --mount-proc true 2> /dev/null ||
	    unmet "cannot create UTS and PID namespaces (unshare --uts --pid, as root; package util-linux)"
	etcd_start
	# TTL 9s, a waiter's keepalive every 3-3.5s; stop time 8.5s.
	TIMING=(-t 9s --renew-deadline 6s -k 2.5s -r 500ms)
	write_job
	contend_on h1 a
	wait_for "$OUT/log.a" 10
	contend_on h2 b
	wait_until 5 has_nkeys 2
	contend c
	wait_until 5 has_nkeys 3
	wait_until 5 has "waiting" "$OUT/c.err"
	sleep 1	# c knows a as the leader, b right behind it, and b's TTL
	apid=$(pgrep -P "$(pid_of a)") bpid=$(pgrep -P "$(pid_of b)")
	kill -STOP "$bpid"	# b's lease runs out 5.5-9s from now
	sleep 3.5
	# a, renewing until now, is cut off: its job may run 8s or more
	# (its supervisor would stop it then).  Its lease revoked: b would
	# wait that out, and its lease runs out meanwhile, 2-5.5s from now.
	kill -STOP "$apid"
	t0=$(now_ms)
	etcdctl_ lease revoke "$(a_lease)" > /dev/null
	wait_until 10 has_nkeys 1
	echo "b's key ran out $(elapsed_ms "$t0")ms after the revoke"
	until [ "$(elapsed_ms "$t0")" -ge 7500 ]; do sleep 0.05; done
	touch "$OUT/a.go"	# a's job stops, within a's stop time
	wait_for "$OUT/log.c" 15
	took=$(elapsed_ms "$t0")
	kill -KILL "$bpid"
	kill -CONT "$apid"
	cat "$OUT/log" "$OUT/c.err"
	echo "c started ${took}ms after the revoke (a's stop time 8.5s)"
	run ! grep -q OVERLAP "$OUT/log"
	[ "$(sed -n 2p "$OUT/log")" = "stop a" ]
	[ "$(sed -n 3p "$OUT/log")" = "start c" ]
	grep -q "went without a clean end before it led" "$OUT/c.err"
	kill -TERM "$(pid_of c)"
	wait_exit c 5
}
