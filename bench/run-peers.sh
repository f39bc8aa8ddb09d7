#!/usr/bin/env bash
# Runs the peer comparison as ROUNDS interleaved rounds of -count=1, so that
# the load of a shared machine, which changes over minutes, falls on every
# implementation alike instead of on the one whose -count repetitions ran
# during a burst. Output: results/peers.txt (bench format, for benchstat and
# cmd/charts) and results/hitratio.txt.
#
#   ./run-peers.sh            # ROUNDS=5 BENCHTIME=200ms CPU=1,2,4
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-5}
BENCHTIME=${BENCHTIME:-200ms}
CPU=${CPU:-1,2,4}
BENCH=${BENCH:-Throughput|GetOrLoad|Stampede|Blocking|Sweep|LostWrites}
mkdir -p results
go test -c -o results/bench.test .
: > results/peers.txt
for r in $(seq "$ROUNDS"); do
	echo "round $r of $ROUNDS" >&2
	./results/bench.test -test.run '^$' -test.bench "$BENCH" -test.benchmem \
		-test.benchtime "$BENCHTIME" -test.count 1 -test.cpu "$CPU" -test.timeout 60m >> results/peers.txt
done
# Hit ratio is a property of the policy, not of the machine: one trace per
# run, three runs, at GOMAXPROCS=2.
./results/bench.test -test.run '^$' -test.bench 'HitRatio' -test.benchtime 1x -test.count 3 -test.cpu 2 > results/hitratio.txt
rm -f results/bench.test
