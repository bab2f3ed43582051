#!/usr/bin/env bats
# The etcd store (issue 8): -S etcd://HOST:PORT[,HOST:PORT...][/PREFIX], on
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

# ---- the harness itself (no leaderrun needed) ------------------------------

@test "harness: with CI=true a missing etcd fails the test and names etcd-server; else it skips" {
	mkdir "$OUT/empty"
	# need_etcd in a shell without etcd on its PATH; bats' skip stubbed.
	probe='skip() { echo "SKIPPED: $*"; exit 0; }
		source "$1/etcd.bash"; need_etcd; echo "need_etcd returned $?"'
	run -0 env CI=true PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
	echo "$output"
	[[ "$output" == *etcd-server* ]]
	[[ "$output" == *"need_etcd returned 1" ]]
	[[ "$output" != *SKIPPED* ]]
	run -0 env -u CI PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
	echo "$output"
	[ "$output" = "SKIPPED: etcd not installed (apt-get install etcd-server etcd-client)" ]
	# With etcd there, need_etcd just returns 0 (when it is installed).
	if command -v etcd > /dev/null && command -v etcdctl > /dev/null; then
		run -0 env CI=true /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
		[ "$output" = "need_etcd returned 0" ]
	fi
}

@test "harness: etcd_start answers, grants 1s TTLs, keeps its data over etcd_restart, etcd_stop ends it" {
	t0=$(now_ms)
	etcd_start
	echo "etcd up in $(elapsed_ms "$t0")ms at $ETCD_EP (pid $ETCD_PID, $ETCD_URL, $ETCD_DATA)"
	[ "$ETCD_URL" = "etcd://$ETCD_EP" ]
	[[ "$ETCD_EP" =~ ^127\.0\.0\.1:[0-9]+$ ]]
	alive "$ETCD_PID"
	[ -d "$ETCD_DATA/member" ]
	etcdctl_ put lrt-probe one
	rev=$(knum lrt-probe create_revision)
	run -0 etcdctl_ lease grant 1
	[[ "$output" == *"granted with TTL(${ETCD_MIN_TTL}s)"* ]]
	[ "$(etcd_metric etcd_server_proposals_committed_total)" -ge 2 ]
	[ "$(etcd_metric etcd_server_has_leader)" = 1 ]
	run -1 etcd_metric no_such_metric_lrt
	old=$ETCD_PID ep=$ETCD_EP
	etcd_restart
	[ "$ETCD_EP" = "$ep" ]
	[ "$ETCD_PID" != "$old" ]
	dead "$old"
	[ "$(etcdctl_ get lrt-probe --print-value-only)" = one ]
	[ "$(knum lrt-probe create_revision)" = "$rev" ]
	etcd_pause
	ETCD_HTTP_TIMEOUT=1 run etcd_http "$ETCD_EP" /v3/kv/range '{"key":"AA=="}'
	[ "$status" != 0 ]
	[ -z "$output" ]
	etcd_resume
	etcd_http "$ETCD_EP" /v3/kv/range '{"key":"AA=="}' | head -n 1 | grep -q ' 200 '
	p=$ETCD_PID
	etcd_pause # etcd_stop must end even a stopped server
	etcd_stop
	dead "$p"
}

@test "harness: etcd_cluster3 has a leader, writes survive killing it, a member restarts" {
	t0=$(now_ms)
	etcd_cluster3
	echo "cluster up in $(elapsed_ms "$t0")ms: $ETCD_URL"
	[ "$ETCD_URL" = "etcd://$ETCD_EP1,$ETCD_EP2,$ETCD_EP3" ]
	for i in 1 2 3; do p=ETCD_PID$i; alive "${!p}"; done
	l=$(etcd_leader)
	echo "raft leader: m$l"
	etcd_kill "$l"
	t0=$(now_ms)
	wait_until 5 etcdctl_ --command-timeout=1s put lrt-probe two
	echo "a write went through $(elapsed_ms "$t0")ms after the leader's SIGKILL"
	l2=$(etcd_leader)
	[ "$l2" != "$l" ]
	etcd_restart "$l"
	ep=ETCD_EP$l
	[ "$(ETCD_EP=${!ep} etcdctl_ get lrt-probe --print-value-only)" = two ]
}

# fake_reply MODE: start fake server MODE for one connection and make one
# HTTP/1.0 request to it; the raw reply is in $OUT/reply.
fake_reply() {
	fake_server_start "$1" 1 10
	ETCD_HTTP_TIMEOUT=${2:-3} etcd_http "$FAKE_EP" /v3/kv/range '{"key":"AA=="}' \
	    > "$OUT/reply" || true
	wait_until 5 dead "$FAKE_PID"
	cat "$FAKE_LOG"
	grep -q "^conn 1 $1: POST /v3/kv/range HTTP/1.0" "$FAKE_LOG"
}

@test "harness: fake_server.py answers each mode as documented and exits after its connections" {
	fake_reply garbage
	[ -s "$OUT/reply" ]
	[[ "$(head -c 5 "$OUT/reply")" != HTTP* ]]
	fake_reply hang 1
	[ ! -s "$OUT/reply" ]
	fake_reply close
	head -n 1 "$OUT/reply" | grep -q '^HTTP/1.1 200 OK'
	len=$(sed -n 's/^Content-Length: \([0-9]*\).$/\1/p' "$OUT/reply")
	body=$(sed '1,/^.$/d' "$OUT/reply" | wc -c)
	echo "close: Content-Length $len, got $body"
	[ "$body" -gt 0 ]
	[ "$body" -lt "$len" ]
	fake_reply big
	grep -q '^Content-Length: 10485760' "$OUT/reply"
	[ "$(wc -c < "$OUT/reply")" -gt 3000000 ]
	fake_reply html502
	head -n 1 "$OUT/reply" | grep -q '^HTTP/1.1 502 Bad Gateway'
	grep -q '^Content-Type: text/html' "$OUT/reply"
	fake_reply badjson
	head -n 1 "$OUT/reply" | grep -q '^HTTP/1.1 200 OK'
	grep -q '^Content-Length: ' "$OUT/reply"
	grep -q 'not JSON' "$OUT/reply"
}

@test "harness: fake_server.py exits after its time even with a connection hanging" {
	fake_server_start hang 5 1
	exec {fd}<> "/dev/tcp/127.0.0.1/$FAKE_PORT"
	wait_until 3 dead "$FAKE_PID"
	exec {fd}>&-
}

# ---- store URLs -------------------------------------------------------------

# BAD_URLS: URL|what the message must mention (an extended regex, any case).
BAD_URLS=(
	'zk://x:1|zk|scheme'
	'etcd://127.0.0.1:99999|99999|port'
	'etcd://127.0.0.1:0|port'
	'etcd://127.0.0.1:http|port'
	'etcd://:2379|host'
	'etcd://|host|empty|missing'
	'etcd://127.0.0.1:2379,:2380|host'
	'etcd://[::1|\]|bracket'
	'etcd://[::1:2379|\]|bracket'
	'etcd://::1:2379|bracket|\[|ipv6'
	'etcd://fe80::1:2379|bracket|\[|ipv6'
)

@test "a bad store URL is 125 with one message naming the problem, before anything runs" {
	for u in "${BAD_URLS[@]}"; do
		url=${u%%|*} want=${u#*|}
		echo "== $url"
		t0=$(now_ms)
		run --separate-stderr -125 "$LEADERRUN" -S "$url" -l t -- touch "$OUT/ran"
		one_line_error
		echo "${stderr_lines[0]}" | grep -Eqi -- "$want"
		[ -z "$output" ]
		[ ! -e "$OUT/ran" ]
		[ "$(elapsed_ms "$t0")" -lt 3000 ]
		run --separate-stderr -125 "$LEADERRUN" --store "$url" -l t -- touch "$OUT/ran"
		one_line_error
		[ ! -e "$OUT/ran" ]
	done
}

@test "a bad URL in LEADERRUN_STORE is refused the same way, also for --status" {
	for u in "${BAD_URLS[@]}"; do
		url=${u%%|*} want=${u#*|}
		echo "== $url"
		run --separate-stderr -125 env LEADERRUN_STORE="$url" "$LEADERRUN" -l t -- touch "$OUT/ran"
		one_line_error
		echo "${stderr_lines[0]}" | grep -Eqi -- "$want"
		[ ! -e "$OUT/ran" ]
		run --separate-stderr -125 "$LEADERRUN" --status -S "$url" -l t
		one_line_error
	done
}

@test "file:DIR is the file store, as -S and as LEADERRUN_STORE" {
	run -0 "$LEADERRUN" -S "file:$DIR" -l t -- sh -c 'echo "$LEADERRUN_TERM"'
	[ "$output" = 1 ]
	[ -f "$DIR/t.lease" ]
	mkdir "$OUT/d2"
	run -0 env LEADERRUN_STORE="file:$OUT/d2" "$LEADERRUN" -l u -- true
	[ -f "$OUT/d2/u.lease" ]
	run -1 "$LEADERRUN" --status -S "file:$DIR" -l t
	[[ "$output" == *"state:"*"released"* ]]
}

# ---- every option, on etcd ---------------------------------------------------

@test "-S etcd://: on a cluster, renew-deadline - retry-period below 2s warns once at the start; the command runs, its status passes through" {
	local cluster

	etcd_start
	# A second member that answers nothing: the URL names a cluster.
	cluster="etcd://$ETCD_EP,127.0.0.1:$(free_ports 1)"
	run -7 "$LEADERRUN" -S "$cluster" -l t -t 3s -- sh -c 'echo ran; exit 7'
	[ "${lines[0]}" = "leaderrun: warning: renew-deadline (1.5s) - retry-period (600ms) is below 2s, so one etcd raft election (up to 2s with etcd's default 1s election timeout) can cost the lease; -t 7s or more rides it out" ]
	[ "${lines[1]}" = ran ]
	[ "${#lines[@]}" = 2 ]
	# 3.5s - 1.4s and 2.2s - 200ms ride out an election: no warning.
	run -0 "$LEADERRUN" -S "$cluster" -l t -t 7s -- echo ran
	[ "$output" = ran ]
	run -0 "$LEADERRUN" -S "$cluster" -l t -t 3s --renew-deadline 2.2s \
	    -r 200ms -k 500ms -- echo ran
	[ "$output" = ran ]
	# One member holds no elections after it starts: no warning.
	run -0 "$LEADERRUN" -S "$ETCD_URL" -l t -t 3s -- echo ran
	[ "$output" = ran ]
	# No raft under the other stores; --status never warns.
	run -0 "$LEADERRUN" -S "file:$DIR" -l t -t 1s -- echo ran
	[ "$output" = ran ]
	run -1 "$LEADERRUN" --status -S "$cluster" -l t
	[[ "$output" != *warning* ]]
}

@test "-S etcd://: the command runs, its status passes through, nothing is left in etcd" {
	etcd_start
	run -7 lre -l t -- sh -c 'echo "ran $LEADERRUN_NAME"; exit 7'
	[ "$output" = "ran t" ]
	no_leftovers
	run -0 lre --store "$ETCD_URL" -l t -- true
	run -0 "$LEADERRUN" --store="$ETCD_URL" -l t -- true
	no_leftovers
	used_etcd
}

@test "the holder's key is leaderrun/NAME/<lease id in hex>, its value has holder, host, pid, job; LEADERRUN_TERM is its create_revision" {
	etcd_start
	bge a -l t -i node-a -t 3s -- sh -c '
		echo "$LEADERRUN_TERM" > "$1.tmp"; mv "$1.tmp" "$1"; echo $$ > "$2"
		until [ -e "$3" ]; do sleep 0.01; done' sh "$OUT/term" "$OUT/cmd.pid" "$OUT/go"
	wait_for "$OUT/term" 10
	k=$(holder_key)
	echo "key: $k"
	etcdctl_ get "$k" -w json
	etcdctl_ get "$k" --print-value-only
	[[ "$k" =~ ^leaderrun/t/[0-9a-f]+$ ]]
	hex=${k##*/}
	[ "$(knum "$k" lease)" = $((16#$hex)) ]
	[ "$(cat "$OUT/term")" = "$(knum "$k" create_revision)" ]
	[ "$(efield holder)" = node-a ]
	[ "$(efield host)" = "$(hostname)" ]
	[ "$(efield pid)" = "$(pid_of a)" ]
	wait_until 3 eval '[ "$(efield job)" = "$(cat "$OUT/cmd.pid")" ]'
	touch "$OUT/go"
	wait_exit a
	[ "$STATUS" = 0 ]
	no_leftovers
}

@test "a waiting contender queues its own key behind the holder's; the holder has the lowest create_revision" {
	etcd_start
	lead_hold a -i node-a -t 3s
	bge b -l t -i node-b -t 3s -v -- sh -c 'echo "$LEADERRUN_TERM" > "$1.new"; mv "$1.new" "$1"' sh "$OUT/b.term"
	wait_until 5 has waiting "$OUT/b.err"
	wait_until 3 eval '[ "$(nkeys)" = 2 ]'
	ka=$(keys | sed -n 1p) kb=$(keys | sed -n 2p)
	etcdctl_ get --prefix leaderrun/t/ -w json
	[ "$(etcdctl_ get "$ka" --print-value-only | sed -n 's/^holder=//p')" = node-a ]
	[ "$(etcdctl_ get "$kb" --print-value-only | sed -n 's/^holder=//p')" = node-b ]
	rb=$(knum "$kb" create_revision)
	[ "$(knum "$ka" create_revision)" -lt "$rb" ]
	touch "$OUT/a.go"
	wait_exit b 5
	[ "$STATUS" = 0 ]
	# b led with the key it had queued.
	[ "$(cat "$OUT/b.term")" = "$rb" ]
	wait_exit a
	no_leftovers
}

@test "a PREFIX in the URL puts the keys under PREFIX/NAME/" {
	etcd_start
	lead_hold a
	# Another prefix is another lease: this one leads at once too.
	ETCD_URL=$ETCD_URL/myapp lead_hold b
	[[ "$(holder_key t myapp)" == myapp/t/* ]]
	[[ "$(holder_key t)" == leaderrun/t/* ]]
	[ "$(nkeys)" = 1 ]
	touch "$OUT/a.go" "$OUT/b.go"
	wait_exit a
	[ "$STATUS" = 0 ]
	wait_exit b
	[ "$STATUS" = 0 ]
	# Nothing left but the record of the last clean end.
	[ "$(etcdctl_ get --prefix myapp/ --keys-only | sed '/^$/d')" = myapp/t.ended ]
}

@test "LEADERRUN_STORE is the store when -S is absent; -S wins over it" {
	etcd_start
	LEADERRUN_STORE=$ETCD_URL/fromenv "$LEADERRUN" -l t -- \
	    "${HOLD[@]}" "$OUT/ready" "$OUT/go" > "$OUT/e.out" 2>&1 &
	echo $! > "$OUT/e.pid"
	wait_for "$OUT/ready" 10
	[[ "$(holder_key t fromenv)" == fromenv/t/* ]]
	touch "$OUT/go"
	wait_exit e
	[ "$STATUS" = 0 ]
	rm "$OUT/ready" "$OUT/go"
	LEADERRUN_STORE=$ETCD_URL/fromenv "$LEADERRUN" -S "$ETCD_URL/fromopt" -l t -- \
	    "${HOLD[@]}" "$OUT/ready" "$OUT/go" > "$OUT/o.out" 2>&1 &
	echo $! > "$OUT/o.pid"
	wait_for "$OUT/ready" 10
	[[ "$(holder_key t fromopt)" == fromopt/t/* ]]
	[ -z "$(holder_key t fromenv)" ]
	touch "$OUT/go"
	wait_exit o
	[ "$STATUS" = 0 ]
	# And -d names the file store over an etcd LEADERRUN_STORE.
	run -0 env LEADERRUN_STORE="$ETCD_URL/fromenv" "$LEADERRUN" -d "$DIR" -l t -- true
	[ -f "$DIR/t.lease" ]
	[ -z "$(holder_key t fromenv)" ]
}

@test "-l: different names are independent leases on etcd; LEADERRUN_NAME is the name" {
	etcd_start
	lead_hold a -t 3s
	run -0 lre -l two -n -- sh -c 'echo "$LEADERRUN_NAME"'
	[ "$output" = two ]
	run -75 lre -l t -n -- true
	touch "$OUT/a.go"
	wait_exit a
	[ "$STATUS" = 0 ]
	used_etcd
}

@test "-i ID is holder= in the key's value and LEADERRUN_NODE_ID; the default is HOST:PID" {
	etcd_start
	# Written aside, then renamed: wait_for must not see a file that the
	# shell has created but not yet filled.
	bge a -l t -i node-i -- sh -c 'echo "$LEADERRUN_NODE_ID" > "$1.new"; mv "$1.new" "$1"
	    until [ -e "$2" ]; do sleep 0.01; done' sh "$OUT/id" "$OUT/go"
	wait_for "$OUT/id" 10
	[ "$(cat "$OUT/id")" = node-i ]
	[ "$(efield holder)" = node-i ]
	touch "$OUT/go"
	wait_exit a
	run -0 lre -l t -- sh -c 'echo "$LEADERRUN_NODE_ID $(hostname):$PPID"'
	set -- $output
	[ "$1" = "$2" ]
}

@test "-t: etcd grants the lease duration rounded up to whole seconds" {
	etcd_start
	for d in 2s:2 2500ms:3 1s:1 1.2:2; do
		rm -f "$OUT/a.ready" "$OUT/a.go"
		lead_hold a -t "${d%:*}"
		hex=$(holder_key)
		hex=${hex##*/}
		etcdctl_ lease timetolive "$hex"
		[ "$(granted_ttl "$hex")" = "${d#*:}" ]
		touch "$OUT/a.go"
		wait_exit a
		[ "$STATUS" = 0 ]
	done
	run -0 lre -l t --lease-duration 2s -- true
}

@test "-r: the leader sends a keepalive every retry period" {
	etcd_start
	n0=$(etcd_metric etcd_debugging_lease_renewed_total)
	run -0 lre -l t -t 3s -r 100ms -- sleep 1
	n1=$(etcd_metric etcd_debugging_lease_renewed_total)
	run -0 lre -l t -t 3s --retry-period=1s -- sleep 1
	n2=$(etcd_metric etcd_debugging_lease_renewed_total)
	echo "keepalives in 1s: -r 100ms: $((n1 - n0)), -r 1s: $((n2 - n1))"
	[ $((n1 - n0)) -ge 6 ]
	[ $((n1 - n0)) -le 15 ]
	[ $((n2 - n1)) -le 3 ]
}

@test "-k: a command that ignores the stop signal gets SIGKILL after kill-after" {
	etcd_start
	bge l -l t -t 3s -r 100ms -k 500ms -- sh -c 'trap "" TERM; echo $$ > "$1.new"; mv "$1.new" "$1"; exec sleep 100' sh "$OUT/cmd.pid"
	wait_for "$OUT/cmd.pid" 10
	t0=$(now_ms)
	etcdctl_ del --prefix leaderrun/t/
	wait_exit l 5
	took=$(elapsed_ms "$t0")
	echo "exit ${took}ms after the key was deleted (kill-after 500ms)"
	[ "$STATUS" = 124 ]
	[ "$took" -ge 480 ]
	[ "$took" -le $((2200 + SLACK)) ]
	dead "$(cat "$OUT/cmd.pid")"
}

@test "-s: the stop signal on a lost lease" {
	etcd_start
	bge l -l t -t 3s -r 100ms -s USR1 -- "${TRAPPER[@]}" USR1 "$OUT/got" "$OUT/ready" 0
	wait_for "$OUT/ready" 10
	etcdctl_ del --prefix leaderrun/t/
	wait_exit l 5
	[ "$STATUS" = 124 ]
	[ "$(cat "$OUT/got")" = USR1 ]
}

@test "-n: 75 at once while another leads, -E sets the code, the loser leaves nothing behind" {
	etcd_start
	lead_hold a -t 3s
	t0=$(now_ms)
	run -75 lre -l t -t 3s -n -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "-n gave up after ${took}ms"
	[ "$took" -lt $((1200 + SLACK)) ]
	run -42 lre -l t -n -E 42 -- touch "$OUT/ran"
	run -0 lre -l t --nonblock --conflict-exit-code 0 -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	# Only the holder's key and lease remain.
	[ "$(nkeys)" = 1 ]
	[ "$(nleases)" = 1 ]
	touch "$OUT/a.go"
	wait_exit a
	[ "$STATUS" = 0 ]
	no_leftovers
}

@test "-w: 75 after the timeout while another leads; long enough, elected when the leader ends" {
	etcd_start
	lead_hold a -t 3s
	t0=$(now_ms)
	run -75 lre -l t -t 3s -w 300ms -- touch "$OUT/ran"
	took=$(elapsed_ms "$t0")
	echo "gave up after ${took}ms"
	[ "$took" -ge 280 ]
	[ "$took" -lt $((1700 + SLACK)) ]
	[ ! -e "$OUT/ran" ]
	run -3 lre -l t --timeout=100ms -E 3 -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	bge b -l t -t 3s -v -w 10s -- sh -c 'echo elected'
	wait_until 5 has waiting "$OUT/b.err"
	touch "$OUT/a.go"
	wait_exit b 5
	[ "$STATUS" = 0 ]
	[ "$(cat "$OUT/b.out")" = elected ]
	no_leftovers
	used_etcd
}

@test "-v: elected, waiting and released on stderr" {
	etcd_start
	lead_hold a -t 3s -v -i node-a
	bge b -l t -t 3s -v -i node-b -- true
	wait_until 5 has waiting "$OUT/b.err"
	touch "$OUT/a.go"
	wait_exit b 5
	[ "$STATUS" = 0 ]
	wait_exit a
	cat "$OUT/a.err" "$OUT/b.err"
	grep -q "^leaderrun: t: elected (term [0-9]" "$OUT/a.err"
	grep -q "^leaderrun: t: waiting: held by node-a" "$OUT/b.err"
	grep -q "^leaderrun: t: elected (term [0-9]" "$OUT/b.err"
	grep -q "^leaderrun: t: released" "$OUT/a.err"
	used_etcd
}

@test "--heartbeat prints election and status lines on etcd" {
	etcd_start
	run --separate-stderr -0 env LC_ALL=C "$LEADERRUN" -S "$ETCD_URL" -l t \
	    -i node-1 --heartbeat=100ms -- sleep 0.35
	echo "$stderr"
	[[ "$stderr" == *"[node-1] Successfully acquired leadership (term "* ]]
	[[ "$stderr" == *"[node-1] Status: LEADER"* ]]
	[[ "$stderr" == *"[node-1] Released leadership (term "* ]]
	used_etcd
}

# Election, handover, crash failover, a stopped etcd and --status:
# scenarios.suite (41).

