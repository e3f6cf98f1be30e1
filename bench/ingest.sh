#!/usr/bin/env bash
# Ingest throughput through a real Caddy process: Caddy runs
# collector/testdata/ingest-bench.Caddyfile and the collector's load
# generator (BenchmarkIngest) posts real recorder segments at concurrency 64,
# twice, each time to a fresh Caddy and data directory:
#
#   go   the Go load generator (raw keep-alive HTTP/1.1 clients)
#   wrk  wrk with testdata/ingest-wrk.lua (a C event loop: lighter still)
#
# The generator shares the machine's cores with Caddy, so each line also
# gives Caddy's own CPU per segment (from /proc) beside the generator's.
#
#   ./bench/ingest.sh [caddy binary] [go|wrk ...]
#
# REPLAY_INGEST_N sets the segments per run (default 20000).
set -euo pipefail
caddy=${1:-bin/caddy}
shift || true
generators=("$@")
[ ${#generators[@]} -gt 0 ] || generators=(go wrk)
n=${REPLAY_INGEST_N:-20000}
port=${REPLAY_BENCH_PORT:-8099}

work=$(mktemp -d)
pid=
stop_caddy() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
trap 'stop_caddy; rm -rf "$work"' EXIT

# The test binary is built once, before anything is timed.
go test -c -o "$work/collector.test" ./collector

# cpu_ticks prints a process's user + system CPU in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

for gen in "${generators[@]}"; do
	data="$work/data-$gen"
	mkdir -p "$data"
	REPLAY_BENCH_DIR="$data" REPLAY_BENCH_PORT="$port" "$caddy" run \
		--config collector/testdata/ingest-bench.Caddyfile --adapter caddyfile >"$work/caddy-$gen.log" 2>&1 &
	pid=$!
	up=
	for _ in $(seq 100); do
		if curl -fs -o /dev/null "http://127.0.0.1:$port/"; then
			up=1
			break
		fi
		sleep 0.1
	done
	if [ -z "$up" ]; then
		cat "$work/caddy-$gen.log" >&2
		exit 1
	fi
	env=(REPLAY_INGEST_URL="http://127.0.0.1:$port")
	[ "$gen" = wrk ] && env+=(REPLAY_INGEST_WRK=1)
	before=$(cpu_ticks "$pid")
	out=$(cd collector && env "${env[@]}" "$work/collector.test" -test.run '^$' -test.bench Ingest -test.benchtime "${n}x")
	after=$(cpu_ticks "$pid")
	stop_caddy
	echo "$out" | grep -v -e '^goos:' -e '^goarch:' -e '^pkg:' -e '^cpu:' -e '^PASS' || true
	line=$(echo "$out" | grep '^BenchmarkIngest')
	echo "$line" | awk -v gen="$gen" -v ticks=$((after - before)) -v hz="$hz" -v n="$n" '{
		for (i = 2; i <= NF; i++) m[$(i+1)] = $i
		printf "ingest via caddy, %s generator: %.0f segments/s  p50 %.1f ms  p99 %.1f ms  lost %d  caddy %.0f cpu-µs/segment  generator %.0f cpu-µs/segment\n",
			gen, m["segments/s"], m["p50_ms"], m["p99_ms"], m["lost"], ticks / hz * 1e6 / n, m["client-cpu-µs/segment"]
	}'
done
