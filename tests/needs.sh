#!/bin/sh
# needs.sh - check that the tools the test suite runs are installed.
#
#   tests/needs.sh [COMMAND:PACKAGE ...] [-- COMMAND:PACKAGE ...]
#
# Each COMMAND:PACKAGE pair names a command the suite runs and the Debian
# package that brings it.  The pairs before "--" are needed: if any command
# is missing, print the one apt-get line that installs the packages of all
# missing ones and exit 1.  The pairs after "--" are optional (their tests
# skip without them): a missing one gets a note, nothing more.  The command
# "parallel" must be GNU parallel (bats --jobs needs it, not moreutils').
# The Makefile keeps the lists (TEST_NEEDS, TEST_WANTS).  BATS: the bats
# command to check the version of (default bats; its first word).

missing() {
	# missing COMMAND: true if COMMAND is not usable as the suite uses it.
	case $1 in
	parallel)
		parallel --version 2>/dev/null | grep -q 'GNU parallel' && return 1
		return 0 ;;
	*)	command -v "$1" >/dev/null 2>&1 && return 1
		return 0 ;;
	esac
}

need="" needcmds="" want="" wantcmds="" optional=0
for p in "$@"; do
	if [ "$p" = -- ]; then
		optional=1
		continue
	fi
	cmd=${p%%:*} pkg=${p#*:}
	missing "$cmd" || continue
	if [ $optional = 0 ]; then
		needcmds="$needcmds $cmd"
		case " $need " in *" $pkg "*) ;; *) need="$need $pkg" ;; esac
	else
		wantcmds="$wantcmds $cmd"
		case " $want " in *" $pkg "*) ;; *) want="$want $pkg" ;; esac
	fi
done

status=0
if [ -n "$need" ]; then
	echo "make test needs$needcmds; on Debian or Ubuntu, as root:" >&2
	echo "    apt-get install$need" >&2
	status=1
fi
# bats_require_minimum_version in helpers.bash; --jobs needs 1.x anyway.
bats=${BATS:-bats}
bats=${bats%% *}	# BATS may carry options: make test BATS='bats --timing'
if ! missing "$bats"; then
	v=$("$bats" --version 2>/dev/null |
	    sed -n 's/^Bats \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
	case $v in
	0.*|1.[0-4]|"")
		echo "make test needs bats-core 1.5 or later; this bats is ${v:-unknown}" >&2
		status=1 ;;
	esac
fi
if [ -n "$want" ]; then
	echo "note: optional for make test, not installed:$wantcmds" \
	    "(apt-get install$want)" >&2
fi
exit $status
