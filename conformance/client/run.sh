#!/usr/bin/env bash
# Drives the mcpflow binary with the official MCP TypeScript client (the
# version pinned in package.json, installed with npm ci from
# package-lock.json) in protocol revision 2026-07-28, over streamable HTTP
# and over stdio: discovery, capabilities, resources, prompts, completion,
# a whole workflow, logs per request, and subscriptions/listen. Each
# scenario reports on its own line. Scenarios listed in
# expected-failures.json, with the reason, must fail; any other failure,
# or a listed scenario that passes, fails the run.
#
#   make client        # or: conformance/client/run.sh
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v npm >/dev/null; then
	echo "client: npm is not installed (apt-get install -y nodejs npm)" >&2
	exit 1
fi
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
	echo "client: needs Node 22 or later, found $(node --version) (.ci/run installs one)" >&2
	exit 1
fi
if [ ! -d node_modules/@modelcontextprotocol/client ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
go build -o "$tmp/mcpflow" ../../cmd/mcpflow
if ! node client.mjs "$tmp/mcpflow" "$tmp" ../../engine/workflows; then
	for log in "$tmp"/*.log; do
		echo "--- $(basename "$log")" >&2
		tail -n 40 "$log" >&2
	done
	exit 1
fi
