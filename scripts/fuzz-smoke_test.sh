#!/usr/bin/env bash
# Tests fuzz-smoke.sh's classifier of failed runs: only Go 1.26's bare
# deadline race at the end of -fuzztime is run again.
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0 fail=0
check() { # want(0 race, 1 real) name output
	scripts/fuzz-smoke.sh --classify <<<"$3"
	got=$?
	if [ "$got" -eq "$1" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2: got $got, want $1"; fi
}
check 0 "bare deadline race" $'fuzz: elapsed: 8s, execs: 13462 (0/sec), new interesting: 3 (total: 240)\n--- FAIL: FuzzStdioGate (8.05s)\n    context deadline exceeded\nFAIL'
check 1 "failing input written" $'--- FAIL: FuzzX (1.2s)\n    --- FAIL: FuzzX (0.00s)\n        x_test.go:12: bad\n    Failing input written to testdata/fuzz/FuzzX/abc\n    context deadline exceeded\nFAIL'
check 1 "a t.Fatal line" $'--- FAIL: FuzzX (3.01s)\n    fuzz_test.go:123: pending -1\n    context deadline exceeded'
check 1 "a panic" $'panic: runtime error: index out of range\ncontext deadline exceeded'
check 1 "another failure" $'--- FAIL: FuzzX (0.5s)\n    could not create worker: exec format error'
echo "fuzz-smoke classifier: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
