#!/usr/bin/env bash
# Prints a Go duration (the units FUZZTIME takes: 90s, 10m, 1h30m, 1.5h,
# 500ms) as whole seconds, rounded up, for the Makefile's loops. A value
# that is not a positive duration is an error naming it.
#
#   scripts/seconds.sh 1h30m    # 5400
set -euo pipefail
d=${1:-}
secs=$(awk -v d="$d" 'BEGIN {
	u["h"] = 3600; u["m"] = 60; u["s"] = 1; u["ms"] = 0.001; u["us"] = 0.000001; u["µs"] = 0.000001; u["ns"] = 0.000000001
	rest = d; total = 0
	if (rest == "") exit 1
	while (rest != "") {
		if (!match(rest, /^[0-9]+(\.[0-9]*)?|^\.[0-9]+/)) exit 1
		n = substr(rest, 1, RLENGTH) + 0; rest = substr(rest, RLENGTH + 1)
		if (match(rest, /^(ms|us|µs|ns|h|m|s)/) == 0) exit 1
		total += n * u[substr(rest, 1, RLENGTH)]; rest = substr(rest, RLENGTH + 1)
	}
	if (total <= 0) exit 1
	s = int(total); if (s < total) s++
	print s
}') || { echo "seconds.sh: \"$d\" is not a duration; use Go's units, e.g. 90s, 10m or 1h30m" >&2; exit 2; }
echo "$secs"
