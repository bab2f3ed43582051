#!/usr/bin/env bats
# --min-hold, --status --json and --list on a real etcd: one member per
# test, on free loopback ports, data under the test's tmpdir, stopped by
# PID.  Skipped without etcd; with CI=true a missing etcd fails.  etcd
# runs with a 25ms heartbeat, which lets it grant 1s TTLs: -t 2s here.
load helpers

setup() {
	lr_setup
	ETCD_PID=
}

teardown() {
	lr_teardown
	if [ -n "${ETCD_PID:-}" ]; then
		kill -TERM "$ETCD_PID" 2> /dev/null || true
		wait_gone "$ETCD_PID" 5 || kill -KILL "$ETCD_PID" 2> /dev/null || true
		wait "$ETCD_PID" 2> /dev/null || true
	fi
	return 0
}

# etcd_up: start one etcd member; exports ETCD_EP (127.0.0.1:PORT),
# ETCD_URL and ETCD_PID.  It dies with this shell (setpriv --pdeathsig)
# and does not carry LRT_TAG.
etcd_up() {
	local ports try i py=python3
	command -v etcd > /dev/null && command -v etcdctl > /dev/null ||
	    unmet "etcd not installed (apt-get install etcd-server etcd-client)" || return
	[ ! -x /usr/bin/python3 ] || py=/usr/bin/python3
	for try in 1 2 3 4 5; do
		ports=($("$py" -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])'))
		rm -rf "$OUT/etcd.data"
		env -u LRT_TAG setpriv --pdeathsig KILL etcd --name lrt \
		    --data-dir "$OUT/etcd.data" \
		    --listen-client-urls "http://127.0.0.1:${ports[0]}" \
		    --advertise-client-urls "http://127.0.0.1:${ports[0]}" \
		    --listen-peer-urls "http://127.0.0.1:${ports[1]}" \
		    --initial-advertise-peer-urls "http://127.0.0.1:${ports[1]}" \
		    --initial-cluster "lrt=http://127.0.0.1:${ports[1]}" \
		    --heartbeat-interval 25 --election-timeout 250 \
		    < /dev/null > "$OUT/etcd.log" 2>&1 3>&- &
		ETCD_PID=$!
		export ETCD_EP=127.0.0.1:${ports[0]} ETCD_URL=etcd://127.0.0.1:${ports[0]}
		for i in $(seq 1500); do
			alive "$ETCD_PID" || break
			etcdctl_ --command-timeout=1s get probe > /dev/null 2>&1 && return 0
			sleep 0.01
		done
		kill -KILL "$ETCD_PID" 2> /dev/null || true
		wait "$ETCD_PID" 2> /dev/null || true
		ETCD_PID=
		grep -q 'address already in use' "$OUT/etcd.log" || break
	done
	echo "etcd did not start; its log:" >&2
	tail -n 20 "$OUT/etcd.log" >&2
	return 1
}

etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints "$ETCD_EP" "$@"; }

# keys NAME: the contenders' keys of lease NAME.
keys() { etcdctl_ get --prefix "leaderrun/$1/" --keys-only | sed '/^$/d'; }
nkeys() { keys "$1" | wc -l; }
# nkeys_is NAME N: lease NAME has N keys.
nkeys_is() { [ "$(nkeys "$1")" = "$2" ]; }

# ebg NAME ARG...: bg on this test's etcd.
ebg() {
	local n=$1
	shift
	env --default-signal=INT,QUIT "$LEADERRUN" -S "$ETCD_URL" "$@" \
	    > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

value_done() { etcdctl_ get --prefix "leaderrun/$1/" --print-value-only | grep -qx done=1; }

@test "etcd: --min-hold writes done=1 into the holder value; -n gets 75; a signal releases" {
	etcd_up
	ebg a -l t -t 2s -v --min-hold 20s -- sh -c 'exit 3'
	wait_until 10 value_done t
	etcdctl_ get --prefix leaderrun/t/ --print-value-only | grep -qx job=0
	run -0 "$LEADERRUN" --status --json -S "$ETCD_URL" -l t
	[ "$(jq -r .command <<< "$output")" = done ]
	run -75 "$LEADERRUN" -S "$ETCD_URL" -l t -n -t 2s -- touch "$OUT/ran"
	[ ! -e "$OUT/ran" ]
	kill -TERM "$(pid_of a)"
	wait_exit a
	[ "$STATUS" = 3 ]
	[ "$(nkeys t)" = 0 ]
}

@test "etcd: --status --json names the waiters in queue order, with the server's TTL" {
	etcd_up
	ebg l -l t -t 2s -i lead -- "${HOLD[@]}" "$OUT/ready" "$OUT/go"
	wait_for "$OUT/ready" 10
	ebg w1 -l t -t 2s -i w1 -- true
	wait_until 10 nkeys_is t 2
	ebg w2 -l t -t 2s -i w2 -- true
	wait_until 10 nkeys_is t 3
	run --separate-stderr -0 "$LEADERRUN" --status --json -S "$ETCD_URL" -l t
	echo "$output"
	[ "$(jq -c '[.state, .holder, .alive, .command]' <<< "$output")" = '["held","lead",true,"running"]' ]
	[ "$(jq -c '[.waiters[].holder]' <<< "$output")" = '["w1","w2"]' ]
	[ "$(jq -r '.waiters[0].pid' <<< "$output")" = "$(pid_of w1)" ]
	[ "$(jq -r '.expires_in_ms | type' <<< "$output")" = number ]
	[ "$(jq -r .renewed <<< "$output")" = null ]
	[ "$(jq -r .lease <<< "$output")" = "$ETCD_URL leaderrun/t/" ]
	touch "$OUT/go"
}

@test "etcd: --list shows each lease once, in name order, and skips keys that name none" {
	etcd_up
	ebg b -l bravo -t 2s -i node-b -- "${HOLD[@]}" "$OUT/ready-b" "$OUT/go"
	ebg a -l alpha -t 2s -i node-a -- "${HOLD[@]}" "$OUT/ready-a" "$OUT/go"
	wait_for "$OUT/ready-a" 10
	wait_for "$OUT/ready-b" 10
	ebg w -l alpha -t 2s -i node-w -- true
	wait_until 10 nkeys_is alpha 2
	etcdctl_ put leaderrun/junk x > /dev/null
	etcdctl_ put "leaderrun/bad name/1" x > /dev/null
	etcdctl_ put other/x/1 x > /dev/null
	# A lease that ended cleanly keeps one key, charlie.ended: free; and
	# charlie.x, which sorts after it, is a lease of its own.
	"$LEADERRUN" -S "$ETCD_URL" -l charlie -- true
	"$LEADERRUN" -S "$ETCD_URL" -l charlie.x -- true
	run --separate-stderr -0 "$LEADERRUN" --list -S "$ETCD_URL"
	echo "$output"
	echo "$stderr"
	[ "${#lines[@]}" = 5 ]
	read -r n s h o t a <<< "${lines[1]}"
	[ "$n $s $h" = "alpha held node-a" ]
	read -r n s h o t a <<< "${lines[2]}"
	[ "$n $s $h" = "bravo held node-b" ]
	read -r n s h o t a <<< "${lines[3]}"
	[ "$n $s" = "charlie free" ]
	read -r n s h o t a <<< "${lines[4]}"
	[ "$n $s" = "charlie.x free" ]
	grep -qxF "leaderrun: warning: skipped 'leaderrun/bad name/1': not a lease name" <<< "$stderr"
	grep -qxF "leaderrun: warning: skipped 'leaderrun/junk': not a leaderrun key (PREFIX/NAME/ID)" <<< "$stderr"
	[ "$(grep -c warning <<< "$stderr")" = 2 ]
	run --separate-stderr -0 "$LEADERRUN" --list --json -S "$ETCD_URL"
	[ "$(jq -c '[.[] | [.name, .holder, (.waiters | length)]]' <<< "$output")" = '[["alpha","node-a",1],["bravo","node-b",0],["charlie",null,0],["charlie.x",null,0]]' ]
	# Another prefix holds no leaderrun leases.
	run --separate-stderr -0 "$LEADERRUN" --list --json -S "$ETCD_URL/nothing/here"
	[ "$output" = "[]" ]
	touch "$OUT/go"
}
