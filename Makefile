# Caddy Replay. The two commands a new user runs:
#   make run    build Caddy with our modules and run Caddyfile.example
#   make test   install what the tests need (Chromium, npm peers), run every test
GO       ?= go
CHROMIUM ?= /usr/bin/chromium
BIN      := bin/caddy
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The whole suite stays well under 15 minutes; this is a hard stop.
TEST_TIMEOUT ?= 20m

.PHONY: all build run test test-deps lint bench fuzz clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/caddy

run: build
	$(BIN) run --config Caddyfile.example --adapter caddyfile

test: test-deps lint
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

# Chromium for the browser tests (they fail, never skip, without it), and
# the npm comparison peers (rrweb) for the interoperability tests.
test-deps:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi
	@if [ ! -d testdata/npm/node_modules/@rrweb ]; then \
		echo "installing rrweb (test and benchmark peer) into testdata/npm"; \
		npm ci --prefix testdata/npm --no-audit --no-fund --loglevel=error; \
	fi

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin

# Benchmarks and figures (BENCHMARKS.md quotes them). Not part of `make
# test`: they take minutes and want a quiet machine. Each target runs the
# peer or baseline side by side with ours, in one run.
.PHONY: bench bench-inject bench-proxy bench-recorder bench-ingest bench-store bench-player
bench: bench-inject bench-proxy bench-recorder bench-ingest bench-store bench-player

# HTML rewriter throughput over the corpus, one core: ours vs io.Copy vs
# x/net/html tokenize-only; memory per response for 1 KB, 1 MB and 64 MB pages.
bench-inject:
	$(GO) test ./inject -run '^$$' -bench 'Rewrite|MemoryPerResponse' -benchtime 0.3s -count 5 -cpu 1

# Caddy with replay + reverse_proxy vs reverse_proxy alone, plain and gzip
# upstreams, requests/s and p50/p99.
bench-proxy: build
	$(GO) run ./bench/proxybench -caddy $(BIN)

# Recorder vs @rrweb/record in the same Chromium: bundle size, full
# snapshots, mutation workloads, bytes per minute of a scripted session.
bench-recorder: test-deps
	$(GO) test -tags figures -run 'TestFigures$$' -v -timeout 25m ./recorder/
	$(GO) test -tags figures -run 'TestFiguresSession$$' -v -timeout 15m ./recorder/

# Ingest throughput with real recorder segments at concurrency 64: through
# a Caddy process (Go and wrk load generators), in-process, and the store
# alone.
bench-ingest: build
	@command -v wrk >/dev/null || { echo "installing Debian's wrk (the light load generator)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	./bench/ingest.sh $(BIN)
	$(GO) test ./collector -run '^$$' -bench 'Ingest|Write' -benchtime 20000x
	$(GO) test ./store/embedded -run '^$$' -bench PutSegment -benchtime 20000x

# The index after a month of a busy site (1,000,000 sessions, filled
# directly in SQLite): every list query of the player, deletions, the
# retention janitor beside lists and writes, the size. About 10 minutes,
# 3 with REPLAY_SCALE_DIR=<dir> keeping the filled index between runs.
bench-store:
	$(GO) test ./store/embedded -run '^$$' -bench Scale -benchtime 1x -timeout 30m

# The player on a 60-minute recording vs rrweb's Replayer on our export of
# it: time to first frame and seek latency.
bench-player: test-deps
	$(GO) test ./player -run '^$$' -bench Replay60Min -benchtime 1x -timeout 30m
