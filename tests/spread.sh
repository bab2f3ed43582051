#!/bin/bash
# spread.sh [-l] N FILE FILTER...: run the tests of FILE that match each
# FILTER N times and print the min, median and max of the first "<n>ms" each
# prints (its measured time); -l first loads both cores (yes > /dev/null).
# How the time bounds of the suite were chosen; LEADERRUN and FAULTSHIM as
# for make test.
load=0
[ "$1" = -l ] && { load=1; shift; }
n=$1 file=$2
shift 2
pids=()
if [ $load = 1 ]; then
	for _ in 1 2; do yes > /dev/null & pids+=($!); done
fi
trap '[ ${#pids[@]} = 0 ] || kill "${pids[@]}"' EXIT
for f in "$@"; do
	vals=() fails=0
	for ((i = 0; i < n; i++)); do
		out=$(bats --show-output-of-passing-tests -f "$f" "$file" 2>&1)
		grep -q '^not ok' <<< "$out" && fails=$((fails + 1))
		v=$(grep -o '[0-9][0-9]*ms' <<< "$out" | head -n 1)
		[ -n "$v" ] && vals+=("${v%ms}")
	done
	printf '%s\n' "${vals[@]}" | sort -n | awk -v name="$f" -v fails=$fails -v load=$load '
		{ v[NR] = $1 }
		END { printf "%s%s: n=%d min=%d median=%d max=%d failed=%d\n", load ? "[loaded] " : "", name, NR, v[1], v[int((NR + 1) / 2)], v[NR], fails }'
done
