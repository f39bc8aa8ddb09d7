#!/usr/bin/env bash
# make fuzz-smoke: every fuzz target really fuzzes, for a short while.
#
# Before it mutates anything, Go's fuzzer runs the target's whole corpus
# (the inputs in testdata/fuzz and in $(go env GOCACHE)/fuzz, hundreds per
# target here) to gather baseline coverage, and -fuzztime counts that time
# too: with a few seconds, most targets never get past it. So each target
# runs for SMOKETIME; one that did not finish its baseline runs once more,
# for the time its baseline took at the rate it was going plus SMOKETIME
# (at most SMOKEMAX). A target that still fuzzed nothing fails the run, as
# does any failure of a target, except Go 1.26's deadline race at the end
# of -fuzztime (go.dev/issue/75804), which is run again once.
#
#   scripts/fuzz-smoke.sh SMOKETIME SMOKEMAX ./pkg:FuzzName...
set -euo pipefail
cd "$(dirname "$0")/.."
# deadline_race reports whether a failed run's output is only the
# coordinator's deadline race: "context deadline exceeded" with no failing
# input, no panic and no test failure line.
deadline_race() {
	grep -q 'context deadline exceeded' <<<"$1" &&
		! grep -qE 'Failing input written|panic:|^[[:space:]]+[A-Za-z0-9_]+\.go:[0-9]+:' <<<"$1"
}
# scripts/fuzz-smoke.sh --classify < output: exit 0 when the output is
# only that race (scripts/fuzz-smoke_test.sh tests the classifier).
if [ "${1:-}" = --classify ]; then
	deadline_race "$(cat)"
	exit
fi
smoke=$(scripts/seconds.sh "$1")
max=$(scripts/seconds.sh "$2")
shift 2
fail=0
for t in "$@"; do
	pkg=${t%%:*}
	name=${t##*:}
	budget=$smoke
	for attempt in 1 2; do
		if ! out=$(go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "${budget}s" 2>&1); then
			# Go 1.26's fuzz coordinator can report a bare "context
			# deadline exceeded" when -fuzztime ends while a worker is
			# mid-call on a loaded machine (go.dev/issue/75804, fixed in
			# Go 1.27): no input failed and none is written. That failure,
			# and only that one, is run again once; a real finding
			# writes its input to testdata/fuzz, and a t.Error or panic
			# prints its file and line.
			if deadline_race "$out"; then
				echo "fuzz-smoke: $name: the fuzz coordinator's deadline race (go.dev/issue/75804), no input failed; once more"
				out2=$(go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "${budget}s" 2>&1) && out=$out2 || { echo "$out2"; echo "fuzz-smoke: $name failed"; exit 1; }
			else
				echo "$out"
				echo "fuzz-smoke: $name failed"
				exit 1
			fi
		fi
		total=$(grep -oE '(baseline coverage|seed corpus): [0-9]+/[0-9]+' <<<"$out" | tail -n 1 | cut -d/ -f2)
		total=${total:-0}
		if grep -q 'now fuzzing' <<<"$out"; then
			execs=$(grep -oE 'execs: [0-9]+' <<<"$out" | tail -n 1 | cut -d' ' -f2)
			echo "fuzz-smoke: $name: baseline of $total inputs, then $(( ${execs:-$total} - total )) mutated inputs run, in ${budget}s in all"
			continue 2
		fi
		done_=$(grep -oE '(baseline coverage|seed corpus): [0-9]+/' <<<"$out" | tail -n 1 | grep -oE '[0-9]+/' | tr -d /)
		done_=${done_:-0}
		if [ "$attempt" -eq 1 ] && [ "$budget" -lt "$max" ]; then
			need=$(( (budget * total + (done_ > 0 ? done_ : 1) - 1) / (done_ > 0 ? done_ : 1) + smoke ))
			budget=$(( need < max ? need : max ))
			echo "fuzz-smoke: $name: baseline $done_/$total inputs after ${smoke}s; again for ${budget}s"
		else
			break
		fi
	done
	echo "fuzz-smoke: $name fuzzed nothing: its baseline of $total inputs took longer than ${budget}s ($done_ done)"
	fail=1
done
exit $fail
