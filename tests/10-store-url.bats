#!/usr/bin/env bats
# -S URL and LEADERRUN_STORE choose the store; a bad URL is refused (125)
# before anything else happens.  The etcd store itself: 50-etcd.bats; the
# Redis store: 60-redis.bats.
load helpers

setup() { lr_setup; unset LEADERRUN_STORE; }
teardown() { lr_teardown; }

# refused_url URL PATTERN: -S URL is refused with one line matching PATTERN,
# the usual Try line, exit 125, and the command never runs.
refused_url() {
	run --separate-stderr "$LEADERRUN" -S "$1" -l t -- touch "$OUT/ran"
	[ "$status" = 125 ]
	[[ "${stderr_lines[0]}" == $2 ]]
	[ "${stderr_lines[1]}" = "Try 'leaderrun --help' for more information." ]
	[ ! -e "$OUT/ran" ]
}

@test "-S file:DIR and --store file:DIR are the file store in DIR" {
	run -0 "$LEADERRUN" -S "file:$DIR" -l a -- true
	[ "$(field state a)" = released ]
	run -0 "$LEADERRUN" --store="file://$DIR" -l b -- true
	[ "$(field state b)" = released ]
}

@test "LEADERRUN_STORE is used when -S and -d are absent, and -S wins over it" {
	mkdir "$OUT/other"
	LEADERRUN_STORE="file:$DIR" run -0 "$LEADERRUN" -l envy -- true
	[ -f "$DIR/envy.lease" ]
	LEADERRUN_STORE="file:$DIR" run -0 "$LEADERRUN" -S "file:$OUT/other" -l envy -- true
	[ -f "$OUT/other/envy.lease" ]
	LEADERRUN_STORE="file:$DIR" run -0 "$LEADERRUN" -d "$OUT/other" -l envy2 -- true
	[ -f "$OUT/other/envy2.lease" ]
	[ ! -e "$DIR/envy2.lease" ]
}

@test "a bad LEADERRUN_STORE is refused, naming where it came from" {
	LEADERRUN_STORE="zk://x:1" run --separate-stderr -125 "$LEADERRUN" -l t -- touch "$OUT/ran"
	[[ "${stderr_lines[0]}" == "leaderrun: store 'zk://x:1': unknown scheme 'zk'"*"(from LEADERRUN_STORE)" ]]
	[ ! -e "$OUT/ran" ]
}

@test "-d and -S together are refused" {
	run --separate-stderr -125 "$LEADERRUN" -d "$DIR" -S "file:$DIR" -l t -- touch "$OUT/ran"
	[ "${stderr_lines[0]}" = "leaderrun: -d and -S both name the store; use one" ]
	[ ! -e "$OUT/ran" ]
}

@test "bad store URLs are refused with one clear message before anything runs" {
	refused_url "zk://x:1" "leaderrun: store 'zk://x:1': unknown scheme 'zk' (use file:DIR, etcd://HOST:PORT, redis://HOST:PORT or postgres://HOST:PORT/DB)"
	refused_url "/tmp" "leaderrun: store '/tmp': not a store URL (use file:DIR, etcd://HOST:PORT, redis://HOST:PORT or postgres://HOST:PORT/DB)"
	refused_url "/tmp" "leaderrun: store '/tmp': not a store URL *"
	refused_url "file:" "leaderrun: store 'file:': no directory after file:"
	refused_url "etcd://" "leaderrun: store 'etcd://': no HOST:PORT after etcd://"
	refused_url "etcd://:2379" "leaderrun: store 'etcd://:2379': endpoint ':2379': empty host"
	refused_url "etcd://127.0.0.1" "leaderrun: store 'etcd://127.0.0.1': endpoint '127.0.0.1': *port*"
	refused_url "etcd://127.0.0.1:99999" "leaderrun: store 'etcd://127.0.0.1:99999': endpoint '127.0.0.1:99999': *port*"
	refused_url "etcd://127.0.0.1:0" "*endpoint '127.0.0.1:0': *port*"
	refused_url "etcd://127.0.0.1:23x9" "*endpoint '127.0.0.1:23x9': *port*"
	refused_url "etcd://[::1:2379" "*endpoint '[::1:2379': *"
	refused_url "etcd://::1:2379" "*endpoint '::1:2379': *bracket*"
	refused_url "etcd://a:1,,b:2" "*endpoint '': empty*"
	refused_url "etcd://a:1," "*empty endpoint*"
	refused_url "etcd://a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9" "*more than 8 endpoints*"
	refused_url "etcd://a:1/bad prefix" "*prefix may hold only*"
	refused_url "etcd://a:1/x//y" "*empty segment*"
	refused_url "redis://" "leaderrun: store 'redis://': no HOST:PORT after redis://"
	refused_url "redis://127.0.0.1" "leaderrun: store 'redis://127.0.0.1': endpoint '127.0.0.1': *port*"
	refused_url "redis://127.0.0.1:0" "*endpoint '127.0.0.1:0': *port*"
	refused_url "redis://:6379" "*endpoint ':6379': empty host"
	refused_url "redis://::1:6379" "*bracket*"
	refused_url "redis://127.0.0.1:6379/x" "*database after '/' must be a number*"
	refused_url "redis://127.0.0.1:6379/123456" "*database after '/' must be a number*"
	refused_url "redis://@127.0.0.1:6379" "*empty user before '@'"
	refused_url "redis://a b@127.0.0.1:6379" "*user name may hold only*"
	refused_url "redis://u:pw@127.0.0.1:6379" "leaderrun: store 'redis://u:***@127.0.0.1:6379': a password in the URL is refused: every local user can read command lines (ps), and the command inherits LEADERRUN_STORE; use LEADERRUN_STORE_PASSWORD or --store-password-file"
}

@test "good redis URLs are accepted: IPv4, IPv6 in brackets, names, a user, a database" {
	for url in "redis://127.0.0.1:1" "redis://[::1]:1" "redis://localhost:1" \
	    "redis://127.0.0.1:1/" "redis://127.0.0.1:1/15" "redis://app@127.0.0.1:1/2"; do
		LEADERRUN_STORE_PASSWORD=x run --separate-stderr "$LEADERRUN" --status -S "$url" -l t
		echo "$url: $status $stderr"
		[ "$status" = 125 ]
		[[ "$stderr" == "leaderrun: status: "* ]]
		[[ "$stderr" != *"store '"* ]]
	done
	# A user needs a password.
	run --separate-stderr -125 env -u LEADERRUN_STORE_PASSWORD "$LEADERRUN" --status -S redis://app@127.0.0.1:1 -l t
	[[ "$stderr" == *"a user needs a password: set LEADERRUN_STORE_PASSWORD or use --store-password-file"* ]]
}

@test "good etcd URLs are accepted: IPv4, IPv6 in brackets, names, lists, prefixes" {
	# Checked by --status against closed ports: the URL passes, the
	# connection fails (125, "status: ..."), nothing about the URL.
	for url in "etcd://127.0.0.1:1" "etcd://[::1]:1" "etcd://localhost:1" \
	    "etcd://127.0.0.1:1,[::1]:1,localhost:1/my/prefix/" "etcd://127.0.0.1:1/p"; do
		run --separate-stderr "$LEADERRUN" --status -S "$url" -l t
		[ "$status" = 125 ]
		[[ "$stderr" == "leaderrun: status: "* ]]
		[[ "$stderr" != *"store '"* ]]
	done
}

@test "one rule for a URL's user on every network store: userinfo characters and %XX, named the same" {
	for scheme in etcd://U@127.0.0.1:1 redis://U@127.0.0.1:1 redis+unix://U@/tmp/no.sock; do
		# Accepted: the store then wants the password, naming the decoded user.
		run --separate-stderr -125 env -u LEADERRUN_STORE_PASSWORD "$LEADERRUN" --status -S "${scheme/U/a%2Fb.c~d}" -l t
		[[ "$stderr" == *"a/b.c~d"* ]]
		[[ "$stderr" != *"store '"* ]]
		refused_url "${scheme/U/a b}" "*the user name may hold only A-Z a-z 0-9 -._~!\$&'()*+,;=@ and %XX escapes"
		refused_url "${scheme/U/a%4}" "*bad %-escape in the user"
		refused_url "${scheme/U/a%0Ab}" "*control character in the user"
	done
	refused_url "redis+unix://@/tmp/no.sock" "*empty user before '@'"
	refused_url "redis+unix://u/tmp/no.sock" "*expected redis+unix://\\[USER@\\]/PATH"
}
