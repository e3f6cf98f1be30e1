#!/usr/bin/env bash
# Ingest throughput through a real Caddy process: Caddy runs
# collector/testdata/ingest-bench.Caddyfile, the collector's load generator
# (BenchmarkIngest) posts real recorder segments at concurrency 64.
set -euo pipefail
caddy=${1:-bin/caddy}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
REPLAY_BENCH_DIR="$dir" "$caddy" run --config collector/testdata/ingest-bench.Caddyfile --adapter caddyfile >"$dir/caddy.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -fs -o /dev/null http://127.0.0.1:8099/ && break
	sleep 0.1
done
REPLAY_INGEST_URL=http://127.0.0.1:8099 go test ./collector -run '^$' -bench Ingest -benchtime 20000x
