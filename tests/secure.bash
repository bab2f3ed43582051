# Authentication and TLS for the bats suite: load after helpers and etcd
#
#	load helpers
#	load etcd
#	load secure
#
#   need_tls           stunnel and openssl installed, or skip naming the
#                      Debian packages; with CI=true a missing one FAILS
#   tls_pki DIR        a throwaway CA and, signed by it, a server
#                      certificate (CN etcd, IP 127.0.0.1 and DNS
#                      etcd1.example.com .. etcd3.example.com and
#                      redis.example.com, db.example.com), a client
#                      certificate without a Common Name (O=leaderrun) and
#                      one with (CN=leaderrun):
#                      DIR/{ca,server,client,client-cn}.{crt,key}
#   etcd_tls DIR       make the next etcd_start / etcd_cluster3 serve only
#                      TLS with --client-cert-auth from the pki in DIR, and
#                      point etcdctl_ at it over TLS (ETCDCTL_CACERT...)
#   ETCD_ARGS          starts as (--bcrypt-cost 4): cheap logins
#   etcd_auth          on the running etcd: users root (password $ROOT_PW),
#                      alice ($ALICE_PW, role lr: readwrite on the prefix
#                      leaderrun/) and bob ($BOB_PW, no role); then auth
#                      enable.  Afterwards etcdctl_ needs --user, as in
#                      etcdctl_root
#   etcdctl_root ARG...  etcdctl_ as root
#   stunnel_start CONF   stunnel CONF in the foreground, in this shell, dying
#                      with it; exports STUNNEL_PID; returns once its pid file
#                      is written and every accept port takes connections
#   stunnel_stop       SIGTERM, SIGKILL after 5 s; reaps it (call it from
#                      teardown: nothing else knows it)

# A login checks a bcrypt hash: at etcd's default cost (10) that takes
# 0.1-0.4 s on a busy 2-CPU machine, and -t 2s leaves a call 0.5 s, shared
# among the members.  Cost 4 keeps the logins of this suite to a few ms
# (the man page gives the cost at 10, measured by hand).
ETCD_ARGS=(--bcrypt-cost 4)

ROOT_PW=root-pw-$RANDOM$RANDOM
ALICE_PW=alice-pw-$RANDOM$RANDOM
BOB_PW=bob-pw-$RANDOM$RANDOM
_STUNNEL_PIDS=()

# need_tls: stunnel and openssl are there; else skip, or fail in CI.
need_tls() {
	local miss= pkgs=
	command -v stunnel > /dev/null 2>&1 || { miss+=" stunnel"; pkgs+=" stunnel4"; }
	command -v openssl > /dev/null 2>&1 || { miss+=" openssl"; pkgs+=" openssl"; }
	[ -z "$miss" ] && return 0
	unmet "${miss# } not installed (apt-get install$pkgs)"
}


# tls_pki DIR: CA, server and client certificates (P-256, one day).
tls_pki() {
	local d=$1
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		exec 2> openssl.log
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout ca.key -out ca.crt -days 1 -subj /CN=leaderrun-test-ca
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout server.key -out server.csr -subj /CN=etcd
		# No Common Name: with auth on, etcd's JSON gateway refuses a
		# client certificate that has one (HTTP 400).  client-cn has.
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout client.key -out client.csr -subj /O=leaderrun
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout client-cn.key -out client-cn.csr -subj /CN=leaderrun
		# etcd's own gateway shows the server certificate as a client.
		printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:etcd1.example.com,DNS:etcd2.example.com,DNS:etcd3.example.com,DNS:redis.example.com,DNS:db.example.com" \
		    "extendedKeyUsage=serverAuth,clientAuth" > server.ext
		printf '%s\n' "extendedKeyUsage=clientAuth" > client.ext
		cp client.ext client-cn.ext
		for n in server client client-cn; do
			openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key \
			    -CAcreateserial -out $n.crt -days 1 -extfile $n.ext
		done
		chmod 600 ./*.key
	) || { cat "$d/openssl.log" >&2; return 1; }
}

# _etcd_tls_answers EP: EP serves a linearizable read over TLS.
_etcd_tls_answers() {
	ETCDCTL_API=3 timeout 3 "$ETCDCTL_BIN" --endpoints "https://$1" \
	    --command-timeout=1s get lrt-ready > /dev/null 2>&1
}

# etcd_tls DIR: the next etcd serves only TLS, with client certificates.
etcd_tls() {
	ETCD_SCHEME=https
	ETCD_READY=_etcd_tls_answers
	ETCD_ARGS+=(--client-cert-auth --trusted-ca-file "$1/ca.crt"
	    --cert-file "$1/server.crt" --key-file "$1/server.key")
	export ETCDCTL_CACERT=$1/ca.crt ETCDCTL_CERT=$1/client.crt ETCDCTL_KEY=$1/client.key
}

# etcd_tls_eps: ETCD_EP as etcdctl needs it for TLS (https:// each).
etcd_tls_eps() {
	ETCD_EP=$(echo "$ETCD_EP" | sed 's|^|https://|; s|,|,https://|g')
	export ETCD_EP
}

etcdctl_root() { etcdctl_ --user "root:$ROOT_PW" "$@"; }

# etcd_auth: users, the role lr on leaderrun/, then auth enable.
etcd_auth() {
	{
		etcdctl_ user add "root:$ROOT_PW" &&
		    etcdctl_ user add "alice:$ALICE_PW" &&
		    etcdctl_ user add "bob:$BOB_PW" &&
		    etcdctl_ role add lr &&
		    etcdctl_ role grant-permission lr --prefix=true readwrite leaderrun/ &&
		    etcdctl_ user grant-role alice lr &&
		    etcdctl_ auth enable
	} > "$(server_tmp)/etcd-auth.log" 2>&1 || {
		cat "$(server_tmp)/etcd-auth.log" >&2
		return 1
	}
}

# _port_open PORT: something accepts connections on 127.0.0.1:PORT.
_port_open() { timeout 1 bash -c "exec 3<> /dev/tcp/127.0.0.1/$1" 2> /dev/null; }

# stunnel_start CONF: run CONF; CONF names its pid file (pid = FILE).
stunnel_start() {
	need_tls || return 1
	local conf=$1 pidf port t0 log
	pidf=$(sed -n 's/^pid *= *//p' "$conf")
	log=${conf%.conf}.log
	[ -n "$pidf" ] || { echo "stunnel_start: $conf names no pid file" >&2; return 1; }
	rm -f "$pidf"
	server_spawn "$log" stunnel "$conf"
	STUNNEL_PID=$_SPAWNED
	_STUNNEL_PIDS+=("$STUNNEL_PID")
	export STUNNEL_PID STUNNEL_LOG=$log
	t0=$(now_ms)
	until [ -s "$pidf" ]; do
		if ! server_running "$STUNNEL_PID" || [ $(($(now_ms) - t0)) -ge 10000 ]; then
			echo "stunnel_start: no pid file from stunnel $conf; its log:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.01
	done
	for port in $(sed -n 's/^accept *= *127\.0\.0\.1://p' "$conf"); do
		wait_until 10 _port_open "$port" || { cat "$log" >&2; return 1; }
	done
}

# stunnel_stop: end every stunnel this test started, by pid.
stunnel_stop() {
	local p end
	for p in "${_STUNNEL_PIDS[@]}"; do
		kill -TERM "$p" 2> /dev/null || true
		end=$(($(now_ms) + 5000))
		while server_running "$p" && [ "$(now_ms)" -lt $end ]; do sleep 0.01; done
		kill -KILL "$p" 2> /dev/null || true
		server_running "$p" || wait "$p" 2> /dev/null || true
	done
	_STUNNEL_PIDS=()
}
