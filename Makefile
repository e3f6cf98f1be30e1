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
