#!/usr/bin/env bash
# Runs the peer comparison as ROUNDS interleaved rounds of -count=1, so that
# the load of a shared machine, which changes over minutes, falls on every
# implementation alike instead of on the one whose -count repetitions ran
# during a burst. Then the hit ratios, the end-to-end server run, the
# benchstat summaries, the charts and the tables. Output, in results/:
# peers.txt (bench format, for benchstat and cmd/charts), hitratio.txt,
# e2e.txt, benchstat-*.txt and tables.md; the charts go to ../docs.
#
#   ./run-peers.sh            # ROUNDS=10 BENCHTIME=200ms CPU=1,2,4 E2E=1
#   ROUNDS=2 BENCHTIME=50ms E2E=0 ./run-peers.sh    # a quick look
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-10}
BENCHTIME=${BENCHTIME:-200ms}
CPU=${CPU:-1,2,4}
BENCH=${BENCH:-Throughput|GetOrLoad|Stampede|Blocking|Sweep|LostWrites}
E2E=${E2E:-1}
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
if [ "$E2E" = 1 ]; then
	echo "end-to-end server run" >&2
	go run ./e2e -clients 1,8,32 -duration 5s -rounds 5 -sessions 25 > results/e2e.txt
fi
# benchstat comes from golang.org/x/perf, which this module already requires
# (cmd/charts reads the benchmark format with it).
benchstat() { go run golang.org/x/perf/cmd/benchstat "$@"; }
benchstat -filter '.unit:cpu-ns/op' -col /impl results/peers.txt > results/benchstat-cpu.txt
benchstat -filter '.unit:ops/s' -col /impl results/peers.txt > results/benchstat-ops.txt
benchstat -filter '.name:Blocking .unit:p99.9-ns' -col /impl results/peers.txt > results/benchstat-blocking.txt
benchstat -filter '.unit:hit%' -col /impl results/hitratio.txt > results/benchstat-hitratio.txt
benchstat results/peers.txt > results/benchstat-all.txt
go run ./cmd/charts -in results/peers.txt -out ../docs -tables results/tables.md \
	-hitratio results/hitratio.txt -e2e results/e2e.txt
