#!/usr/bin/env bats
# Secure stores (issue 10), on real servers started by each test: etcd with
# authentication (etcd://USER@..., LEADERRUN_STORE_PASSWORD,
# --store-password-file), etcd and Redis serving only TLS with client
# certificates, reached through stunnel with examples/leaderrun-stunnel-
# etcd.conf and -redis.conf (the recipe of leaderrun(1), TLS), and the rule
# that a secret is never in argv and never printed.  The server helpers are
# in etcd.bash and redis.bash, the TLS and auth ones in secure.bash.
load helpers
load etcd
load redis
load postgres
load secure

setup() { lr_setup; }
teardown() {
	lr_teardown
	stunnel_stop
	etcd_teardown
	redis_teardown
	postgres_teardown
}

# lra USER PASSWORD ARG...: leaderrun on this test's etcd as USER, the
# password in the environment, bounded by 30 s.
lra() {
	local u=$1 pw=$2
	shift 2
	LEADERRUN_STORE_PASSWORD=$pw timeout 30 "$LEADERRUN" -S "etcd://$u@$ETCD_EP" "$@"
}

# bga NAME USER PASSWORD ARG...: lra in the background, as bg does.
bga() {
	local n=$1 u=$2 pw=$3
	shift 3
	LEADERRUN_STORE_PASSWORD=$pw env --default-signal=INT,QUIT "$LEADERRUN" \
	    -S "etcd://$u@$ETCD_EP" "$@" > "$OUT/$n.out" 2> "$OUT/$n.err" &
	echo $! > "$OUT/$n.pid"
}

# no_secret TEXT...: none of the test's passwords is in TEXT.
no_secret() {
	local pw
	for pw in "$ALICE_PW" "$BOB_PW" "$ROOT_PW"; do
		if [[ "$*" == *"$pw"* ]]; then
			echo "a password shows in: $*"
			return 1
		fi
	done
}

# no_leftovers_root: no key under leaderrun/ but NAME.ended (the last
# clean end), and no lease holding a key (as root).
no_leftovers_root() {
	[ "$(etcdctl_root get --prefix leaderrun/ --keys-only | sed '/^$/d' |
	    grep -cv '\.ended$')" = 0 ] &&
	    [ "$(nleases etcdctl_root)" = 0 ]
}

# one_error TEXT: $stderr is one "leaderrun: " line holding TEXT.
one_error() {
	printf 'stderr: %s\n' "${stderr_lines[@]}"
	[ "${#stderr_lines[@]}" = 1 ] && [[ "${stderr_lines[0]}" == "leaderrun: "*"$1"* ]]
}

# ---- the harness ------------------------------------------------------------

@test "harness: with CI=true a missing stunnel or openssl fails and names the package; else it skips" {
	mkdir "$OUT/empty"
	probe='skip() { echo "SKIPPED: $*"; exit 0; }
		source "$1/etcd.bash"; source "$1/secure.bash"; need_tls; echo "need_tls returned $?"'
	run -0 env CI=true PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
	echo "$output"
	[[ "$output" == *"apt-get install stunnel4 openssl"* ]]
	[[ "$output" == *"need_tls returned 1" ]]
	[[ "$output" != *SKIPPED* ]]
	run -0 env -u CI PATH="$OUT/empty" /bin/bash -c "$probe" sh "$BATS_TEST_DIRNAME"
	echo "$output"
	[ "$output" = "SKIPPED: stunnel openssl not installed (apt-get install stunnel4 openssl)" ]
}

# ---- etcd with authentication -----------------------------------------------

@test "auth: a user whose role covers leaderrun/ is elected, runs the command, releases" {
	etcd_start
	etcd_auth
	# Without a user the server says what it wants.
	run -125 --separate-stderr timeout 30 "$LEADERRUN" -S "$ETCD_URL" -l t -- touch "$OUT/ran"
	one_error "etcd $ETCD_EP: the server requires authentication: name a user (etcd://USER@HOST:PORT)"
	[ ! -e "$OUT/ran" ]
	# %-escapes in the user are decoded: al%69ce is alice.
	run -0 --separate-stderr lra al%69ce "$ALICE_PW" -v -l t -t 2s -- \
	    sh -c 'echo "term $LEADERRUN_TERM"'
	printf 'stderr: %s\n' "${stderr_lines[@]}"
	[[ "$output" =~ ^term\ [0-9]+$ ]]
	[[ "$stderr" == *"elected (term"* ]]
	[[ "$stderr" == *"released (term"* ]]
	no_secret "$output" "$stderr"
	no_leftovers_root
}

@test "auth: a follower waits on a watch that carries the token, and takes over at once" {
	etcd_start
	etcd_auth
	bga a alice "$ALICE_PW" -l t -t 2s -- "${HOLD[@]}" "$OUT/a.ready" "$OUT/a.go"
	wait_for "$OUT/a.ready" 10
	bga b alice "$ALICE_PW" -v -l t -t 2s -- sh -c 'echo "$LEADERRUN_TERM" > "$1.new"; mv "$1.new" "$1"' b "$OUT/b.term"
	wait_until 10 grep -q "waiting: held by" "$OUT/b.err"
	t0=$(now_ms)
	touch "$OUT/a.go"
	wait_for "$OUT/b.term" 10
	echo "handover in $(elapsed_ms "$t0")ms"
	# A watch that failed for want of a token would leave it to the retry
	# period (400ms): the watch wakes it in a few ms.
	[ "$(elapsed_ms "$t0")" -lt 380 ]
	wait "$(cat "$OUT/a.pid")"
	wait "$(cat "$OUT/b.pid")"
	no_secret "$(cat "$OUT"/a.* "$OUT"/b.*)"
	no_leftovers_root
}

@test "auth: renewals outlive the token (--auth-token-ttl 1): it logs in again, no loss, exit 0" {
	ETCD_ARGS+=(--auth-token-ttl 1)
	etcd_start
	etcd_auth
	p0=$(etcd_metric etcd_server_proposals_committed_total)
	# Renewals 2.5 s apart: etcd forgets a token unused for 1-2 s, so each
	# one finds its token gone and logs in again within its call.
	run -0 --separate-stderr lra alice "$ALICE_PW" -v -l t -t 6s -r 2500ms -- sleep 6.5
	printf 'stderr: %s\n' "${stderr_lines[@]}"
	p1=$(etcd_metric etcd_server_proposals_committed_total)
	# A run costs 4 proposals (login, grant, the join with the leader's
	# mark, the clean end); renewals add none, but for the logins.
	echo "proposals: $((p1 - p0))"
	[ $((p1 - p0)) -ge 6 ]
	[ "${#stderr_lines[@]}" = 3 ]
	[[ "${stderr_lines[0]}" == *"elected (term"* ]]
	[[ "${stderr_lines[1]}" == *"command exited (status 0)" ]]
	[[ "${stderr_lines[2]}" == *"released (term"* ]]
	no_leftovers_root
}

@test "auth: a wrong password is 125 and one clear message before the command runs" {
	etcd_start
	etcd_auth
	run -125 --separate-stderr lra alice "$BOB_PW" -v -l t -t 2s -- touch "$OUT/ran"
	one_error "etcd $ETCD_EP: authentication failed: invalid user ID or password (user 'alice')"
	[ ! -e "$OUT/ran" ]
	no_secret "$output" "$stderr"
	run -125 --separate-stderr lra nobody "$BOB_PW" -l t -t 2s -- touch "$OUT/ran"
	one_error "authentication failed: invalid user ID or password (user 'nobody')"
	# --status too.
	run -125 --separate-stderr lra alice wrong-pw --status -l t
	one_error "status: etcd $ETCD_EP: authentication failed"
	no_leftovers_root
}

@test "auth: a user without permission on the prefix is 125, named with the prefix; nothing left" {
	etcd_start
	etcd_auth
	run -125 --separate-stderr lra bob "$BOB_PW" -l t -t 2s -- touch "$OUT/ran"
	one_error "etcd $ETCD_EP: permission denied: user 'bob' may not read and write leaderrun/t/ (grant one of its roles readwrite on that prefix)"
	[ ! -e "$OUT/ran" ]
	no_secret "$output" "$stderr"
	# alice's role covers leaderrun/ only.
	run -125 --separate-stderr lra alice "$ALICE_PW" -S "etcd://alice@$ETCD_EP/other" -l t -- touch "$OUT/ran"
	one_error "permission denied: user 'alice' may not read and write other/t/"
	# The lease granted before the refusal was revoked.
	no_leftovers_root
}

@test "auth: a user needs a password, a password needs a user: 125 before any contact" {
	run -125 --separate-stderr env -u LEADERRUN_STORE_PASSWORD "$LEADERRUN" \
	    -S etcd://alice@127.0.0.1:1 -- touch "$OUT/ran"
	one_error "etcd user 'alice' needs a password: set LEADERRUN_STORE_PASSWORD or use --store-password-file"
	run -125 --separate-stderr env LEADERRUN_STORE_PASSWORD=x "$LEADERRUN" \
	    -S etcd://127.0.0.1:1 -- touch "$OUT/ran"
	one_error "a store password is given, but the URL names no etcd user (etcd://USER@HOST:PORT)"
	[ ! -e "$OUT/ran" ]
}

# ---- secrets ------------------------------------------------------------------

@test "secrets: the password is not in ps, not in the command's environment, not in -v, --status or errors" {
	etcd_start
	etcd_auth
	printf '%s\n' "$ALICE_PW" > "$OUT/pw"
	chmod 600 "$OUT/pw"
	bga a alice "$ALICE_PW" -v --heartbeat=100ms -l t -t 2s -- sh -c \
	    'cat /proc/$$/environ | tr "\0" "\n" > "$1"; touch "$2"; until [ -e "$3" ]; do sleep 0.01; done' \
	    a "$OUT/a.env" "$OUT/a.ready" "$OUT/a.go"
	wait_for "$OUT/a.ready" 10
	# The file form as well, in a second contender.
	LEADERRUN_STORE_PASSWORD= "$LEADERRUN" -S "etcd://alice@$ETCD_EP" \
	    --store-password-file "$OUT/pw" -v -l t -t 2s -- true \
	    > "$OUT/b.out" 2> "$OUT/b.err" &
	echo $! > "$OUT/b.pid"
	wait_until 10 grep -q "waiting: held by" "$OUT/b.err"
	ps -eo pid,args > "$OUT/ps.1"
	ps auxww > "$OUT/ps.2"
	grep -q "etcd://alice@$ETCD_EP" "$OUT/ps.1"	# they are there...
	no_secret "$(cat "$OUT"/ps.*)"			# ...without it
	# The command does not inherit LEADERRUN_STORE_PASSWORD.
	grep -q '^LEADERRUN_TERM=' "$OUT/a.env"
	run ! grep -q LEADERRUN_STORE_PASSWORD "$OUT/a.env"
	no_secret "$(cat "$OUT/a.env")"
	run -0 --separate-stderr lra alice "$ALICE_PW" --status -l t
	echo "$output"
	[[ "$output" == *"lease:      etcd://alice@$ETCD_EP leaderrun/t/"* ]]
	[[ "$output" == *"state:      held"* ]]
	[[ "$output" == *"waiters:    1"* ]]
	no_secret "$output" "$stderr"
	# --status --json and --list log in the same way, and show no secret.
	run -0 --separate-stderr lra alice "$ALICE_PW" --status --json -l t
	echo "$output"
	[[ "$output" == *'"state":"held"'* ]]
	no_secret "$output" "$stderr"
	run -0 --separate-stderr lra alice "$ALICE_PW" --list
	echo "$output"
	read -r n st rest <<< "${lines[1]}"
	[ "$n $st" = "t held" ]
	no_secret "$output" "$stderr"
	touch "$OUT/a.go"
	wait "$(cat "$OUT/a.pid")"
	wait "$(cat "$OUT/b.pid")"
	grep -q "elected" "$OUT/b.err"
	no_secret "$(cat "$OUT"/a.out "$OUT"/a.err "$OUT"/b.out "$OUT"/b.err)"
	no_leftovers_root
}

@test "secrets: a password in the URL is refused (125), on the command line and in LEADERRUN_STORE, and never shown" {
	why="a password in the URL is refused: every local user can read command lines (ps), and the command inherits LEADERRUN_STORE; use LEADERRUN_STORE_PASSWORD or --store-password-file"
	run -125 --separate-stderr "$LEADERRUN" -S "etcd://alice:$ALICE_PW@127.0.0.1:2379" -- touch "$OUT/ran"
	printf 'stderr: %s\n' "${stderr_lines[@]}"
	[ "${stderr_lines[0]}" = "leaderrun: store 'etcd://alice:***@127.0.0.1:2379': $why" ]
	[ "${stderr_lines[1]}" = "Try 'leaderrun --help' for more information." ]
	no_secret "$output" "$stderr"
	run -125 --separate-stderr env LEADERRUN_STORE="etcd://alice:$ALICE_PW@127.0.0.1:2379/p" \
	    "$LEADERRUN" --status
	[ "${stderr_lines[0]}" = "leaderrun: store 'etcd://alice:***@127.0.0.1:2379/p': $why (from LEADERRUN_STORE)" ]
	no_secret "$output" "$stderr"
	# Whatever the scheme, and an empty user too.
	run -125 --separate-stderr "$LEADERRUN" -S "redis://:$ALICE_PW@h:6379" -- touch "$OUT/ran"
	[ "${stderr_lines[0]}" = "leaderrun: store 'redis://:***@h:6379': $why" ]
	no_secret "$output" "$stderr"
	[ ! -e "$OUT/ran" ]
}

@test "secrets: URL users: an empty user, a bad %-escape and a user with no host are refused" {
	run -125 --separate-stderr "$LEADERRUN" -S etcd://@127.0.0.1:1 -- true
	[ "${stderr_lines[0]}" = "leaderrun: store 'etcd://@127.0.0.1:1': empty user before '@'" ]
	run -125 --separate-stderr "$LEADERRUN" -S etcd://a%4@127.0.0.1:1 -- true
	[ "${stderr_lines[0]}" = "leaderrun: store 'etcd://a%4@127.0.0.1:1': bad %-escape in the user" ]
	run -125 --separate-stderr "$LEADERRUN" -S etcd://a%0a@127.0.0.1:1 -- true
	[ "${stderr_lines[0]}" = "leaderrun: store 'etcd://a%0a@127.0.0.1:1': control character in the user" ]
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@ -- true
	[ "${stderr_lines[0]}" = "leaderrun: store 'etcd://alice@': no HOST:PORT after etcd://USER@" ]
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@/p -- true
	[ "${stderr_lines[0]}" = "leaderrun: store 'etcd://alice@/p': no HOST:PORT after etcd://USER@" ]
}

@test "secrets: --store-password-file must be private to its owner: 0644 and the like are 125" {
	printf 'pw\n' > "$OUT/pw"
	for mode in 644 640 604 660 606 610 601; do
		chmod "$mode" "$OUT/pw"
		run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
		    --store-password-file "$OUT/pw" -- touch "$OUT/ran"
		one_error "store password file $OUT/pw: mode 0$mode lets group or others at it; it must be private to its owner (chmod 600)"
	done
	# A missing, empty or blank-first-line file, a directory, a FIFO.
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
	    --store-password-file "$OUT/none" -- true
	one_error "store password file $OUT/none: No such file or directory"
	install -m 600 /dev/null "$OUT/empty"
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
	    --store-password-file "$OUT/empty" -- true
	one_error "store password file $OUT/empty: no password on its first line"
	printf '\nsecond-line\n' > "$OUT/empty"
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
	    --store-password-file "$OUT/empty" -- true
	one_error "no password on its first line"
	[[ "$stderr" != *second-line* ]]
	mkdir -m 700 "$OUT/d"
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
	    --store-password-file "$OUT/d" -- true
	one_error "store password file $OUT/d: not a regular file"
	mkfifo -m 600 "$OUT/fifo"
	run -125 --separate-stderr timeout 10 "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
	    --store-password-file "$OUT/fifo" -- true
	one_error "store password file $OUT/fifo: not a regular file"
	[ ! -e "$OUT/ran" ]
}

# set_acl FILE UID: FILE 0400 with the ACL user:UID:r (so stat says 0440),
# as systemd writes a LoadCredential= file for a service's user.
set_acl() {
	chmod 400 "$1"
	"$ETCD_PYTHON" -c '
import os, struct, sys
u = 0xffffffff
acl = [(1, 4, u), (2, 4, int(sys.argv[2])), (4, 0, u), (0x10, 4, u), (0x20, 0, u)]
os.setxattr(sys.argv[1], "system.posix_acl_access",
    struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in acl))' "$1" "$2"
}

@test "secrets: a credential as systemd writes it (0400, ACL user:US:r, stat 0440) is ours; an ACL for anyone else is not" {
	need_python3
	printf 'pw\n' > "$OUT/cred"
	set_acl "$OUT/cred" "$(id -u)" ||
	    unmet "no POSIX ACLs on $OUT (a file system mounted with ACL support)"
	[ "$(stat -c %a "$OUT/cred")" = 440 ]
	# Accepted: leaderrun goes on to contact the (absent) server.
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
	    --store-password-file "$OUT/cred" -l t -t 2s -- touch "$OUT/ran"
	one_error "connect 127.0.0.1:1:"
	set_acl "$OUT/cred" $(($(id -u) + 4242))
	run -125 --separate-stderr "$LEADERRUN" -S etcd://alice@127.0.0.1:1 \
	    --store-password-file "$OUT/cred" -l t -t 2s -- touch "$OUT/ran"
	one_error "store password file $OUT/cred: its ACL lets group or others at it; it must be private to its owner (chmod 600)"
	[ ! -e "$OUT/ran" ]
}

@test "secrets: --store-password-file 0600 works (first line, CRLF or not, through a symlink) and wins over the variable" {
	etcd_start
	etcd_auth
	printf '%s\r\nsecond line\n' "$ALICE_PW" > "$OUT/pw"
	chmod 600 "$OUT/pw"
	run -0 --separate-stderr env LEADERRUN_STORE_PASSWORD=wrong timeout 30 "$LEADERRUN" \
	    -S "etcd://alice@$ETCD_EP" --store-password-file "$OUT/pw" -l t -t 2s -- echo ran
	[ "$output" = ran ]
	# No newline at all; and through a symlink, as Kubernetes mounts
	# secrets (the mode that counts is the file's, not the link's).
	printf '%s' "$ALICE_PW" > "$OUT/pw"
	ln -s pw "$OUT/link"
	run -0 --separate-stderr env -u LEADERRUN_STORE_PASSWORD timeout 30 "$LEADERRUN" \
	    -S "etcd://alice@$ETCD_EP" --store-password-file "$OUT/link" -l t -t 2s -- echo ran
	[ "$output" = ran ]
	chmod 640 "$OUT/pw"
	run -125 --separate-stderr "$LEADERRUN" -S "etcd://alice@$ETCD_EP" \
	    --store-password-file "$OUT/link" -l t -- true
	one_error "store password file $OUT/link: mode 0640 lets group or others at it"
	no_leftovers_root
}

# ---- TLS through stunnel ----------------------------------------------------

# tunnel_conf MEMBERS PORT PORT PORT [CERT]: examples/leaderrun-stunnel-etcd.conf
# made to run here as $OUT/stunnel.conf: paths into $OUT/pki (the client
# certificate CERT, default client), its accept ports onto the PORTs and
# its members onto MEMBERS (HOST:PORT,..., the last one repeated).
tunnel_conf() {
	local e=(${1//,/ }) s=("${@:2:3}") cert=${5:-client}
	while [ ${#e[@]} -lt 3 ]; do e+=("${e[-1]}"); done
	sed -e "s|/etc/leaderrun/tls/|$OUT/pki/|" \
	    -e "s|/client\.|/$cert.|" \
	    -e "s|^pid =.*|pid = $OUT/stunnel.pid|" \
	    -e "s|^accept = 127.0.0.1:12379|accept = 127.0.0.1:${s[0]}|" \
	    -e "s|^accept = 127.0.0.1:12380|accept = 127.0.0.1:${s[1]}|" \
	    -e "s|^accept = 127.0.0.1:12381|accept = 127.0.0.1:${s[2]}|" \
	    -e "s|^connect = etcd1.example.com:2379|connect = ${e[0]}|" \
	    -e "s|^connect = etcd2.example.com:2379|connect = ${e[1]}|" \
	    -e "s|^connect = etcd3.example.com:2379|connect = ${e[2]}|" \
	    "$BATS_TEST_DIRNAME/../examples/leaderrun-stunnel-etcd.conf" > "$OUT/stunnel.conf"
	diff "$BATS_TEST_DIRNAME/../examples/leaderrun-stunnel-etcd.conf" "$OUT/stunnel.conf" || true
}

@test "TLS: a TLS-only cluster with client certificates, through stunnel (the example config): election, handover, --status" {
	need_tls
	tls_pki "$OUT/pki"
	etcd_tls "$OUT/pki"
	etcd_cluster3
	etcd_tls_eps
	etcd_auth
	read -r s1 s2 s3 < <(free_ports 3)
	tunnel_conf "$ETCD_EPS" "$s1" "$s2" "$s3"
	stunnel_start "$OUT/stunnel.conf"
	printf '%s\n' "$ALICE_PW" > "$OUT/pw"
	chmod 600 "$OUT/pw"
	url=etcd://alice@127.0.0.1:$s1,127.0.0.1:$s2,127.0.0.1:$s3
	lrt() { timeout 30 "$LEADERRUN" -S "$url" --store-password-file "$OUT/pw" "$@"; }
	lrt -l t -t 2s -- "${HOLD[@]}" "$OUT/a.ready" "$OUT/a.go" > "$OUT/a.out" 2> "$OUT/a.err" &
	echo $! > "$OUT/a.pid"
	wait_for "$OUT/a.ready" 10
	lrt -v -l t -t 2s -- sh -c 'echo "$LEADERRUN_TERM" > "$1.new"; mv "$1.new" "$1"' b "$OUT/b.term" \
	    > "$OUT/b.out" 2> "$OUT/b.err" &
	echo $! > "$OUT/b.pid"
	wait_until 10 grep -q "waiting: held by" "$OUT/b.err" ||
	    { cat "$OUT/b.err" "$OUT/a.err"; tail -n 20 "$STUNNEL_LOG"; false; }
	run -0 --separate-stderr lrt --status -l t
	echo "$output"
	[[ "$output" == *"lease:      etcd://alice@127.0.0.1:$s1 leaderrun/t/"* ]]
	[[ "$output" == *"state:      held"* ]]
	t0=$(now_ms)
	touch "$OUT/a.go"
	wait_for "$OUT/b.term" 10
	echo "handover through the tunnel in $(elapsed_ms "$t0")ms"
	wait "$(cat "$OUT/a.pid")"
	wait "$(cat "$OUT/b.pid")"
	cat "$OUT"/a.err "$OUT"/b.err
	# The keys really are in the TLS cluster.
	[ "$(cat "$OUT/b.term")" -gt 0 ]
	[ "$(etcdctl_root get leaderrun/ --prefix --keys-only | sed '/^$/d' | grep -cv '\.ended$')" = 0 ]
	grep -q "Service \[etcd1\] connected remote server" "$STUNNEL_LOG"
	no_secret "$(cat "$OUT"/a.* "$OUT"/b.*)"
}

@test "TLS: pointed at the TLS port itself, leaderrun fails at once with 125 and says why" {
	need_tls
	tls_pki "$OUT/pki"
	etcd_tls "$OUT/pki"
	etcd_start
	t0=$(now_ms)
	run -125 --separate-stderr timeout 30 "$LEADERRUN" -S "etcd://$ETCD_EP" -l t -t 2s -- touch "$OUT/ran"
	ms=$(elapsed_ms "$t0")
	echo "failed in ${ms}ms"
	one_error "receive $ETCD_EP: connection closed before the response (a TLS-only port? reach it through a TLS tunnel such as stunnel: leaderrun(1), TLS)"
	[ "$ms" -lt 2000 ]
	[ ! -e "$OUT/ran" ]
	run -125 --separate-stderr timeout 30 "$LEADERRUN" -S "etcd://$ETCD_EP" --status -l t
	[[ "$stderr" == *"a TLS-only port?"* ]]
}

@test "TLS: with auth on, etcd refuses a client certificate that has a Common Name: 125, and the message says so" {
	need_tls
	tls_pki "$OUT/pki"
	etcd_tls "$OUT/pki"
	etcd_start
	members=$ETCD_EP
	etcd_tls_eps
	etcd_auth
	read -r s1 s2 s3 < <(free_ports 3)
	tunnel_conf "$members" "$s1" "$s2" "$s3" client-cn
	stunnel_start "$OUT/stunnel.conf"
	run -125 --separate-stderr env LEADERRUN_STORE_PASSWORD="$ALICE_PW" timeout 30 \
	    "$LEADERRUN" -S "etcd://alice@127.0.0.1:$s1" -l t -t 2s -- touch "$OUT/ran"
	one_error "etcd 127.0.0.1:$s1: refused the TLS client certificate: with authentication on, etcd's JSON gateway takes none that has a Common Name; issue one without (leaderrun(1), TLS)"
	[ ! -e "$OUT/ran" ]
}

@test "TLS: Redis serving only TLS with client certificates, through stunnel (the example config): an ACL user, election, handover" {
	need_tls
	tls_pki "$OUT/pki"
	read -r tport s1 < <(free_ports 2)
	redis_start --tls-port "$tport" --tls-auth-clients yes \
	    --tls-cert-file "$OUT/pki/server.crt" --tls-key-file "$OUT/pki/server.key" \
	    --tls-ca-cert-file "$OUT/pki/ca.crt"
	rcli acl setuser alice on ">$ALICE_PW" '~leaderrun:*' '&leaderrun:*' +@all
	rcli config set port 0		# from here on, TLS only
	sed -e "s|/etc/leaderrun/tls/|$OUT/pki/|" \
	    -e "s|^pid =.*|pid = $OUT/stunnel.pid|" \
	    -e "s|^accept = 127.0.0.1:16379|accept = 127.0.0.1:$s1|" \
	    -e "s|^connect = redis.example.com:6380|connect = 127.0.0.1:$tport|" \
	    "$BATS_TEST_DIRNAME/../examples/leaderrun-stunnel-redis.conf" > "$OUT/stunnel.conf"
	diff "$BATS_TEST_DIRNAME/../examples/leaderrun-stunnel-redis.conf" "$OUT/stunnel.conf" || true
	stunnel_start "$OUT/stunnel.conf"
	printf '%s\n' "$ALICE_PW" > "$OUT/pw"
	chmod 600 "$OUT/pw"
	lrt() { timeout 30 "$LEADERRUN" -S "redis://alice@127.0.0.1:$s1" --store-password-file "$OUT/pw" "$@"; }
	lrt -l t -t 2s -- "${HOLD[@]}" "$OUT/a.ready" "$OUT/a.go" > "$OUT/a.out" 2> "$OUT/a.err" &
	echo $! > "$OUT/a.pid"
	wait_for "$OUT/a.ready" 10
	lrt -v -l t -t 2s -- sh -c 'echo "$LEADERRUN_TERM" > "$1.new"; mv "$1.new" "$1"' b "$OUT/b.term" \
	    > "$OUT/b.out" 2> "$OUT/b.err" &
	echo $! > "$OUT/b.pid"
	wait_until 10 grep -q "waiting: held by" "$OUT/b.err" ||
	    { cat "$OUT/b.err" "$OUT/a.err"; tail -n 20 "$STUNNEL_LOG"; false; }
	run -0 --separate-stderr lrt --status -l t
	echo "$output"
	[[ "$output" == *"state:      held"* ]]
	t0=$(now_ms)
	touch "$OUT/a.go"
	wait_for "$OUT/b.term" 10
	echo "handover through the tunnel in $(elapsed_ms "$t0")ms"
	wait "$(cat "$OUT/a.pid")"
	wait "$(cat "$OUT/b.pid")"
	cat "$OUT"/a.err "$OUT"/b.err
	[ "$(cat "$OUT/b.term")" = 2 ]
	grep -q "Service \[redis\] connected remote server" "$STUNNEL_LOG"
	no_secret "$(cat "$OUT"/a.* "$OUT"/b.*)"
	# Straight at the TLS port: at once, 125, and a hint.
	run -125 --separate-stderr timeout 30 "$LEADERRUN" -S "redis://alice@127.0.0.1:$tport" \
	    --store-password-file "$OUT/pw" -l t -t 2s -- touch "$OUT/ran"
	one_error "127.0.0.1:$tport: "
	[[ "$stderr" == *"(a TLS-only port? reach it through a TLS tunnel such as stunnel: leaderrun(1), TLS)" ]]
	[ ! -e "$OUT/ran" ]
}

@test "TLS: PostgreSQL taking only TLS with client certificates, through stunnel (protocol = pgsql): SCRAM, election, handover" {
	need_tls
	need_postgres || return
	tls_pki "$OUT/pki"
	postgres_start
	cp "$OUT/pki/server.crt" "$OUT/pki/server.key" "$OUT/pki/ca.crt" "$PG_DIR/data/"
	[ "$(id -u)" != 0 ] || chown nobody:nogroup "$PG_DIR"/data/{server.crt,server.key,ca.crt}
	chmod 600 "$PG_DIR/data/server.key"
	cat > "$PG_DIR/data/pg_hba.conf" <<-EOF
	local	all	all			trust
	hostssl	all	all	127.0.0.1/32	scram-sha-256	clientcert=verify-ca
	EOF
	psql_ "ALTER SYSTEM SET ssl = on" "ALTER SYSTEM SET ssl_cert_file = 'server.crt'" \
	    "ALTER SYSTEM SET ssl_key_file = 'server.key'" \
	    "ALTER SYSTEM SET ssl_ca_file = 'ca.crt'" "SELECT pg_reload_conf()" > /dev/null
	wait_until 5 eval '[ "$(psql_ "SHOW ssl")" = on ]'
	read -r s1 < <(free_ports 1)
	sed -e "s|/etc/leaderrun/tls/|$OUT/pki/|" \
	    -e "s|^pid =.*|pid = $OUT/stunnel.pid|" \
	    -e "s|^accept = 127.0.0.1:15432|accept = 127.0.0.1:$s1|" \
	    -e "s|^connect = db.example.com:5432|connect = 127.0.0.1:$PG_PORT|" \
	    "$BATS_TEST_DIRNAME/../examples/leaderrun-stunnel-postgres.conf" > "$OUT/stunnel.conf"
	diff "$BATS_TEST_DIRNAME/../examples/leaderrun-stunnel-postgres.conf" "$OUT/stunnel.conf" || true
	stunnel_start "$OUT/stunnel.conf"
	printf '%s\n' "$PG_PASS_SCRAM" > "$OUT/pw"
	chmod 600 "$OUT/pw"
	lrt() { timeout 30 "$LEADERRUN" -S "postgres://lr_scram@127.0.0.1:$s1/$PG_DB" --store-password-file "$OUT/pw" "$@"; }
	lrt -l t -t 2s -- "${HOLD[@]}" "$OUT/a.ready" "$OUT/a.go" > "$OUT/a.out" 2> "$OUT/a.err" &
	echo $! > "$OUT/a.pid"
	wait_for "$OUT/a.ready" 10 || { cat "$OUT/a.err"; tail -n 20 "$STUNNEL_LOG"; false; }
	lrt -v -l t -t 2s -- sh -c 'echo "$LEADERRUN_TERM" > "$1.new"; mv "$1.new" "$1"' b "$OUT/b.term" \
	    > "$OUT/b.out" 2> "$OUT/b.err" &
	echo $! > "$OUT/b.pid"
	wait_until 10 grep -q "waiting: held by" "$OUT/b.err" ||
	    { cat "$OUT/b.err" "$OUT/a.err"; tail -n 20 "$STUNNEL_LOG"; false; }
	run -0 --separate-stderr lrt --status -l t
	echo "$output"
	[[ "$output" == *"state:      held"* ]]
	t0=$(now_ms)
	touch "$OUT/a.go"
	wait_for "$OUT/b.term" 10
	echo "handover through the tunnel in $(elapsed_ms "$t0")ms"
	wait "$(cat "$OUT/a.pid")"
	wait "$(cat "$OUT/b.pid")"
	cat "$OUT"/a.err "$OUT"/b.err
	[ "$(cat "$OUT/b.term")" = 2 ]
	grep -q "Service \[postgres\] connected remote server" "$STUNNEL_LOG"
	# Straight at the server: it takes TLS only; 125 and a hint.
	run -125 --separate-stderr timeout 30 "$LEADERRUN" -S "postgres://lr_scram@127.0.0.1:$PG_PORT/$PG_DB" \
	    --store-password-file "$OUT/pw" -l t -t 2s -- touch "$OUT/ran"
	one_error "28000"
	[[ "$stderr" == *"(a TLS-only server? reach it through a TLS tunnel such as stunnel: leaderrun(1), TLS)" ]]
	[ ! -e "$OUT/ran" ]
}
