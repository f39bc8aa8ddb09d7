#!/usr/bin/env bash
# Scale-out on one machine, to try it: a redis-server and two mcpflow
# replicas (`serve --transport http`) sharing their sessions through it,
# all on loopback. Start a workflow on one replica, read it on the other.
# Ctrl-C stops all three. Nothing is kept: Redis runs without persistence
# in a temporary folder.
#
#   make replicas                        # or: scripts/replicas.sh
#   REDIS_PORT=6390 PORT_A=4301 PORT_B=4302 scripts/replicas.sh
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-6390}
PORT_A=${PORT_A:-4301}
PORT_B=${PORT_B:-4302}

if ! command -v redis-server >/dev/null; then
	echo "redis-server is not installed: apt-get install -y redis-server (or brew install redis)" >&2
	exit 1
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building mcpflow..."
go build -o "$tmp/mcpflow" ./cmd/mcpflow

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
	--maxmemory-policy noeviction --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	if grep -q "Ready to accept connections" "$tmp/redis.log"; then break; fi
	if ! kill -0 "${pids[0]}" 2>/dev/null; then cat "$tmp/redis.log" >&2; exit 1; fi
	sleep 0.1
done

state="redis://127.0.0.1:$REDIS_PORT/0?prefix=replicas"
mkdir -p "$tmp/a" "$tmp/b"
"$tmp/mcpflow" serve --transport http --http "127.0.0.1:$PORT_A" --root "$tmp/a" --state "$state" 2> >(awk '{ print "[A] " $0; fflush() }' >&2) &
pids+=($!)
"$tmp/mcpflow" serve --transport http --http "127.0.0.1:$PORT_B" --root "$tmp/b" --state "$state" 2> >(awk '{ print "[B] " $0; fflush() }' >&2) &
pids+=($!)

cat <<MSG

redis-server  127.0.0.1:$REDIS_PORT (no persistence)
replica A     http://127.0.0.1:$PORT_A/mcp   metrics: http://127.0.0.1:$PORT_A/metrics
replica B     http://127.0.0.1:$PORT_B/mcp   metrics: http://127.0.0.1:$PORT_B/metrics
state         $state

Point two MCP clients at A and B: a session started on one is served by the other.
Ctrl-C stops everything.

MSG
wait -n "${pids[@]}"
