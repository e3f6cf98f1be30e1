// Package pins keeps the project's planned dependencies in go.mod while the
// packages that use them are written in parallel. Remove an import once a
// real package imports it.
package pins

import (
	_ "github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/tdewolff/parse/v2/html"
	_ "go.uber.org/zap"
	_ "golang.org/x/net/html"
	_ "modernc.org/sqlite"
)
