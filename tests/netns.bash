# netns.bash - a small network of namespaces for tests/partition.sh, and the
# faults it can suffer.  Sourced; needs root, ip(8) and tc(8).
#
# The network: one namespace NETNS_PREFIX-net holds two bridges, brc (clients:
# 10.231.1.0/24) and brp (etcd peers: 10.231.2.0/24).  Each node is a
# namespace of its own, NETNS_PREFIX-NODE, joined to a bridge by one veth
# pair per link: eth0 inside the node, NODE (or NODEp for the peer link) on
# the bridge's side.  So a link has two ends, each with its own egress queue:
#
#   netns_fabric              make the net namespace and its two bridges
#   netns_node NODE ADDR [PEERADDR]   a node with a client link (10.231.1.ADDR)
#                             and, if PEERADDR, a peer link (10.231.2.PEERADDR)
#   netns_exec NODE CMD...    CMD inside NODE's network namespace
#   netns_teardown            delete every namespace of NETNS_PREFIX (and so
#                             every veth: a veth dies with its namespace)
#   netns_left                print what is left of NETNS_PREFIX (namespaces),
#                             nothing if all is gone
#   netns_usable              yes if this process may make a namespace and a
#                             veth (root, ip, tc), else prints why and fails
#
# Faults.  This kernel may have no netem, no u32/matchall filters and no
# iptables; what every kernel with veth has is a root qdisc: pfifo with limit
# 0 drops every packet leaving the device, silently (the sender sees
# nothing, as with a pulled cable); tbf at 16 kbit makes a slow link.  A
# fault on one end of a link acts on the packets leaving that end:
#   netns_drop NS DEV         pfifo limit 0 on DEV in NS
#   netns_slow NS DEV         tbf 16kbit on DEV in NS
#   netns_heal NS DEV         back to the default qdisc
# and on a node's link (LINK: c for the client link, p for the peer link):
#   netns_cut NODE LINK       both ends drop: a silent cut both ways
#   netns_lose_replies NODE   the bridge's end of the client link drops: the
#                             node's requests arrive, the replies are lost
#   netns_slow_link NODE      both ends of the client link slow
#   netns_heal_link NODE LINK both ends healed

NETNS_PREFIX=${NETNS_PREFIX:-lrp$$}

_netns_ns() { printf '%s-%s' "$NETNS_PREFIX" "$1"; }
_netns_port() { if [ "$2" = p ]; then printf '%sp' "$1"; else printf '%s' "$1"; fi; }
_netns_dev() { if [ "$2" = p ]; then printf eth1; else printf eth0; fi; }

netns_usable() {
	local t=lrp-probe-$$
	if [ "$(id -u)" != 0 ]; then
		echo "needs root (network namespaces, veth pairs, tc)"
		return 1
	fi
	command -v ip > /dev/null && command -v tc > /dev/null || {
		echo "needs ip and tc (apt-get install iproute2)"
		return 1
	}
	command -v unshare > /dev/null || {
		echo "needs unshare (apt-get install util-linux)"
		return 1
	}
	if ! ip netns add "$t" 2> /dev/null; then
		echo "cannot create a network namespace here (ip netns add failed)"
		return 1
	fi
	ip -n "$t" link add pa0 type veth peer name pb0 2> /dev/null &&
	    tc -n "$t" qdisc replace dev pa0 root pfifo limit 0 2> /dev/null &&
	    unshare --pid --fork --mount-proc true 2> /dev/null || {
		ip netns del "$t" 2> /dev/null
		echo "a namespace works but veth, tc pfifo or a PID namespace does not"
		return 1
	}
	ip netns del "$t"
}

netns_fabric() {
	local net
	net=$(_netns_ns net)
	ip netns add "$net" || return 1
	ip -n "$net" link set lo up &&
	ip -n "$net" link add brc type bridge &&
	ip -n "$net" link add brp type bridge &&
	ip -n "$net" addr add 10.231.1.1/24 dev brc &&
	ip -n "$net" addr add 10.231.2.1/24 dev brp &&
	ip -n "$net" link set brc up &&
	ip -n "$net" link set brp up
}

# _netns_link NODE LINK ADDR: a veth from NODE's eth0/eth1 to the bridge.
_netns_link() {
	local net ns port dev br net_addr
	net=$(_netns_ns net)
	ns=$(_netns_ns "$1")
	port=$(_netns_port "$1" "$2")
	dev=$(_netns_dev "$1" "$2")
	if [ "$2" = p ]; then br=brp net_addr=10.231.2; else br=brc net_addr=10.231.1; fi
	ip -n "$net" link add "$port" type veth peer name "$dev" netns "$ns" &&
	ip -n "$net" link set "$port" master "$br" &&
	ip -n "$net" link set "$port" up &&
	ip -n "$ns" addr add "$net_addr.$3/24" dev "$dev" &&
	ip -n "$ns" link set "$dev" up
}

netns_node() {
	local ns
	ns=$(_netns_ns "$1")
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up &&
	_netns_link "$1" c "$2" || return 1
	[ -z "${3:-}" ] || _netns_link "$1" p "$3"
}

netns_exec() {
	local ns
	ns=$(_netns_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

netns_drop() { tc -n "$1" qdisc replace dev "$2" root pfifo limit 0; }
netns_slow() { tc -n "$1" qdisc replace dev "$2" root tbf rate 16kbit burst 1600 latency 3s; }
# Deleting the root qdisc of a device that has none fails: that is healed.
netns_heal() { tc -n "$1" qdisc del dev "$2" root 2> /dev/null || :; }

netns_cut() {
	netns_drop "$(_netns_ns "$1")" "$(_netns_dev "$1" "$2")"
	netns_drop "$(_netns_ns net)" "$(_netns_port "$1" "$2")"
}

netns_lose_replies() { netns_drop "$(_netns_ns net)" "$(_netns_port "$1" c)"; }

netns_slow_link() {
	netns_slow "$(_netns_ns "$1")" eth0
	netns_slow "$(_netns_ns net)" "$1"
}

netns_heal_link() {
	netns_heal "$(_netns_ns "$1")" "$(_netns_dev "$1" "$2")"
	netns_heal "$(_netns_ns net)" "$(_netns_port "$1" "$2")"
}

netns_left() { ip netns list 2> /dev/null | awk -v p="$NETNS_PREFIX-" 'index($1, p) == 1 { print $1 }'; }

netns_teardown() {
	local ns
	for ns in $(netns_left); do
		ip netns del "$ns" 2> /dev/null
	done
	return 0
}
