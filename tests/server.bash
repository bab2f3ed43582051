# server.bash - what every test that runs a server of its own needs (etcd,
# redis-server, stunnel, the fakes): a temporary directory, free loopback
# ports, starting a process that dies with the test, telling a live
# process from a zombie, waiting (bounded) until it answers.  Sourced by
# etcd.bash, redis.bash and secure.bash; CI or not is tests/ci.bash.
source "${BASH_SOURCE[0]%/*}/ci.bash"

# server_tmp: the directory this test (or file) keeps its servers in.
server_tmp() { echo "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}"; }

# free_ports N: N distinct loopback TCP ports free right now (held at once
# while picked, so never the same twice).  A server may still lose one to
# another test before it binds: starters retry on "address in use".
free_ports() {
	if [ -x /usr/bin/python3 ]; then
		/usr/bin/python3 -c '
import socket, sys
ss = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ss.append(s)
print(*[s.getsockname()[1] for s in ss])' "$1"
	else
		local i out=
		for ((i = 0; i < $1; i++)); do
			out+="$((20000 + (RANDOM * 32768 + RANDOM) % 40000 + i)) "
		done
		echo $out
	fi
}

# server_running PID: PID is a live (not zombie) process.
server_running() {
	local line
	[ -n "$1" ] && read -r line 2> /dev/null < "/proc/$1/stat" || return 1
	line=${line##*) }
	[ "${line%% *}" != Z ]
}

# server_spawn LOG CMD...: start CMD in the background, in this shell,
# dying with this shell, without LRT_TAG and without bats' fd 3, its output
# appended to LOG; its pid in _SPAWNED.
server_spawn() {
	local log=$1
	shift
	if command -v setpriv > /dev/null 2>&1; then
		env -u LRT_TAG setpriv --pdeathsig KILL "$@" < /dev/null >> "$log" 2>&1 3>&- &
	else
		env -u LRT_TAG "$@" < /dev/null >> "$log" 2>&1 3>&- &
	fi
	_SPAWNED=$!
}

# server_wait SECONDS PID PROBE...: until PROBE... succeeds.  0 ready,
# 1 timed out, 2 PID exited (its log says why).
server_wait() {
	local end=$(($(now_ms) + $1 * 1000)) pid=$2
	shift 2
	until "$@"; do
		server_running "$pid" || return 2
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.01
	done
}
