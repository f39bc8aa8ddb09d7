#!/usr/bin/env bash
# Runs the official MCP conformance suite (the version pinned in
# package.json, installed with npm ci from package-lock.json) against the
# mcpflow binary serving streamable HTTP on a free loopback port, with the
# built-in sample workflows and standards: its active suite (the 2025-11-25
# revision), then the scenarios the 2026-07-28 revision requires. Scenarios
# listed in expected-failures.yml and expected-failures-2026-07-28.yml need
# the suite's own test tools (or the tasks extension); any other failure,
# or a listed scenario that passes, fails the run.
#
#   make conformance        # or: conformance/run.sh
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null; then
	echo "conformance: npm is not installed (apt-get install -y nodejs npm)" >&2
	exit 1
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
	echo "conformance: the suite needs Node 22 or later, found $(node --version) (.ci/run installs one)" >&2
	exit 1
fi
if [ ! -x node_modules/.bin/conformance ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$tmp/mcpflow" ../cmd/mcpflow
"$tmp/mcpflow" serve --transport http --http 127.0.0.1:0 --root "$tmp" --addr-file "$tmp/addr" 2>"$tmp/server.log" &
pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/addr" ] && break
	if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/server.log" >&2; exit 1; fi
	sleep 0.1
done
if [ ! -s "$tmp/addr" ]; then echo "conformance: the server did not listen within 10 s" >&2; cat "$tmp/server.log" >&2; exit 1; fi
url=$(cat "$tmp/addr")

# The active suite (the 2025-11-25 revision), then the scenarios the
# 2026-07-28 revision requires, each against its own list.
status=0
report() { # report NAME FILE: our own lines instead of the suite's summary,
	# whose "Total: N passed, M failed" counts the expected failures as failures.
	local pass expected
	pass=$(grep -c '^✓' "$2" || true)
	expected=$(grep -c '^  ~ ' "$2" || true)
	grep '^✓' "$2" | sed 's/^✓ /  pass  /; s/: 1 passed, 0 failed$//; s/: \([0-9]*\) passed, 0 failed$/ (\1 checks)/'
	echo "conformance $1: $pass scenarios pass; the $expected in its expected-failures list fail as listed there"
}
if node_modules/.bin/conformance server --url "$url" --expected-failures expected-failures.yml >"$tmp/report.txt" 2>&1; then
	report "(active suite)" "$tmp/report.txt"
else
	cat "$tmp/report.txt"
	echo "conformance: the active suite failed" >&2
	status=1
fi
if node_modules/.bin/conformance server --url "$url" --requirements 2026-07-28 --expected-failures expected-failures-2026-07-28.yml >"$tmp/report-2026.txt" 2>&1; then
	report "2026-07-28" "$tmp/report-2026.txt"
else
	cat "$tmp/report-2026.txt"
	echo "conformance: the 2026-07-28 requirements failed" >&2
	status=1
fi
if [ $status -ne 0 ]; then
	echo "conformance: failed; the server log follows" >&2
	cat "$tmp/server.log" >&2
	exit 1
fi
