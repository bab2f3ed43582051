#!/bin/sh
# needs.sh - check that the tools a make target runs are installed, or
# install them.
#
#   tests/needs.sh [-w TARGET] [COMMAND:PACKAGE ...] [-- COMMAND:PACKAGE ...]
#   tests/needs.sh -i [-n] COMMAND:PACKAGE ...
#
# Each COMMAND:PACKAGE pair names a command and the Debian package that
# brings it.  The pairs before "--" are needed: if any command is missing,
# print the one apt-get line that installs the packages of all missing ones
# and exit 1 (TARGET, default "make test", names who needs them).  The
# pairs after "--" are optional (their tests skip without them): a missing
# one gets a note, nothing more.
#
# -i: install the packages of every missing command (the "--" makes no
# difference here): apt-get update, then apt-get install -y, as root or
# through sudo.  -n: print those commands instead of running them.
#
# COMMAND "parallel" must be GNU parallel (bats --jobs needs it, not
# moreutils'); a COMMAND starting with / is that file, executable
# (/usr/lib/postgresql/15/bin/postgres: Debian keeps it off PATH);
# COMMAND python3/MODULE means that the system python3
# (/usr/bin/python3) can import MODULE.  The Makefile keeps the lists
# (TEST_NEEDS, TEST_WANTS, CI_NEEDS).  BATS: the bats command to check the
# version of (default bats; its first word).

missing() {
	# missing COMMAND: true if COMMAND is not usable as the suite uses it.
	case $1 in
	parallel)
		parallel --version 2>/dev/null | grep -q 'GNU parallel' && return 1
		return 0 ;;
	/*)	# a path: for servers kept outside PATH (Debian's postgres)
		[ -f "$1" ] && [ -x "$1" ] && return 1
		return 0 ;;
	python3/*)
		/usr/bin/python3 -c "import ${1#python3/}" 2>/dev/null && return 1
		return 0 ;;
	*)	command -v "$1" >/dev/null 2>&1 && return 1
		return 0 ;;
	esac
}

target="make test" install=0 dry=0
while getopts inw: opt; do
	case $opt in
	i)	install=1 ;;
	n)	dry=1 ;;
	w)	target=$OPTARG ;;
	*)	exit 2 ;;
	esac
done
shift $((OPTIND - 1))

need="" needcmds="" want="" wantcmds="" optional=0
for p in "$@"; do
	if [ "$p" = -- ]; then
		optional=1
		continue
	fi
	cmd=${p%%:*} pkg=${p#*:}
	missing "$cmd" || continue
	if [ $optional = 0 ] || [ $install = 1 ]; then
		needcmds="$needcmds $cmd"
		case " $need " in *" $pkg "*) ;; *) need="$need $pkg" ;; esac
	else
		wantcmds="$wantcmds $cmd"
		case " $want " in *" $pkg "*) ;; *) want="$want $pkg" ;; esac
	fi
done

if [ $install = 1 ]; then
	if [ -z "$need" ]; then
		echo "needs: nothing to install"
		exit 0
	fi
	echo "needs: missing$needcmds; installing$need"
	if [ "$(id -u)" = 0 ]; then
		run=
	elif command -v sudo >/dev/null 2>&1; then
		run=sudo
	else
		echo "needs: not root and no sudo; as root, run:" >&2
		echo "    apt-get update && apt-get install$need" >&2
		exit 1
	fi
	[ $dry = 0 ] || run="echo $run"
	# The package lists of a fresh system (a container) are empty.
	$run env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
	    $run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need
	exit
fi

status=0
if [ -n "$need" ]; then
	echo "$target needs$needcmds; on Debian or Ubuntu, as root:" >&2
	echo "    apt-get install$need" >&2
	status=1
fi
# bats_require_minimum_version in helpers.bash; --jobs needs 1.x anyway.
bats=${BATS:-bats}
bats=${bats%% *}	# BATS may carry options: make test BATS='bats --timing'
if [ "$target" = "make test" ] && ! missing "$bats"; then
	v=$("$bats" --version 2>/dev/null |
	    sed -n 's/^Bats \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
	case $v in
	0.*|1.[0-4]|"")
		echo "make test needs bats-core 1.5 or later; this bats is ${v:-unknown}" >&2
		status=1 ;;
	esac
fi
if [ -n "$want" ]; then
	echo "note: optional for $target, not installed:$wantcmds" \
	    "(apt-get install$want)" >&2
fi
exit $status
