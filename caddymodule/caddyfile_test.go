package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-replay/caddy-replay/collector"
)

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

func TestUnmarshalReplay(t *testing.T) {
	d := caddyfile.NewTestDispenser(`replay {
		base_path /_rec/
		application_id app-1
		client_token pub_123
		service shop
		env prod
		version 2.1.0
		sample_rate 50
		replay_sample_rate 20.5
		track_interactions off
		start manual
		privacy mask
		cors_origins https://player.example.com https://b.example.com
		crossorigin https://cdn.example.com
		inject_error_pages
		inject off
		ingest {
			max_body_size 512KiB
			max_raw_size 8MiB
			max_records 1000
			allowed_origins https://other.example.com
			client_rate 10 40
			session_rate 2
			client_raw_rate 4MiB 32MiB
			max_concurrent_writes 64
			max_buffered_size 64MiB
			store_client_ip
		}
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	want := Handler{
		BasePath: "/_rec/", ApplicationID: "app-1", ClientToken: "pub_123", Service: "shop", Env: "prod", Version: "2.1.0",
		SampleRate: f(50), ReplaySampleRate: f(20.5), TrackInteractions: b(false), Start: "manual", Privacy: "mask",
		CORSOrigins:        []string{"https://player.example.com", "https://b.example.com"},
		CrossOriginOrigins: []string{"https://cdn.example.com"},
		InjectErrorPages:   true, DisableInjection: true,
		Ingest: &Ingest{
			MaxBodySize: 512 << 10, MaxRawSize: 8 << 20, MaxRecords: 1000,
			AllowedOrigins: []string{"https://other.example.com"},
			ClientRate:     collector.Rate{PerSecond: 10, Burst: 40}, SessionRate: collector.Rate{PerSecond: 2},
			ClientRawRate:       collector.Rate{PerSecond: 4 << 20, Burst: 32 << 20},
			MaxConcurrentWrites: 64, MaxBufferedSize: 64 << 20, StoreClientIP: true,
		},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
}

func TestUnmarshalReplayErrors(t *testing.T) {
	for _, src := range []string{
		"replay extra",
		"replay {\n sample_rate 101\n}",
		"replay {\n sample_rate lots\n}",
		"replay {\n track_interactions maybe\n}",
		"replay {\n service\n}",
		"replay {\n service a b\n}",
		"replay {\n cors_origins\n}",
		"replay {\n unknown_option 1\n}",
		"replay {\n ingest {\n max_body_size huge\n }\n}",
		"replay {\n ingest {\n client_rate 0\n }\n}",
		"replay {\n ingest {\n max_records -1\n }\n}",
		"replay {\n ingest {\n client_raw_rate lots\n }\n}",
		"replay {\n ingest {\n client_raw_rate -1 1MiB\n }\n}",
		"replay {\n ingest {\n client_raw_rate 1MiB 2MiB 3MiB\n }\n}",
		"replay {\n ingest {\n max_buffered_size 0\n }\n}",
		"replay {\n ingest on\n}",
		"replay {\n sample_rate NaN\n}",
		"replay {\n replay_sample_rate -0.5\n}",
		"replay {\n start later\n}",
		"replay {\n privacy secret\n}",
		"replay {\n base_path /no-trailing-slash\n}",
		"replay {\n cors_origins https://player.example.com/path\n}",
		"replay {\n crossorigin cdn.example.com\n}",
		"replay {\n ingest {\n allowed_origins ftp://x.example\n }\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src)); err == nil {
			t.Errorf("accepted %q", src)
		}
	}
}

func TestValidateRejectsBadValues(t *testing.T) {
	for name, h := range map[string]Handler{
		"base path without slash": {BasePath: "__replay"},
		"base path with quote":    {BasePath: `/a"b/`},
		"start":                   {Start: "later"},
		"privacy":                 {Privacy: "secret"},
		"rate":                    {ReplaySampleRate: f(-1)},
		"cors origin with path":   {CORSOrigins: []string{"https://a.example/x"}},
		"crossorigin not origin":  {CrossOriginOrigins: []string{"cdn.example.com"}},
		"ingest origin":           {Ingest: &Ingest{AllowedOrigins: []string{"ftp://x"}}},
	} {
		if err := h.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := Handler{CORSOrigins: []string{"https://player.example.com", "http://localhost:8090"}}
	if err := ok.validate(); err != nil || ok.BasePath != "/__replay/" {
		t.Errorf("valid handler: %v, base path %q", err, ok.BasePath)
	}
}

func TestUnmarshalGlobalOption(t *testing.T) {
	v, err := parseGlobalOption(caddyfile.NewTestDispenser("replay {\n data_dir /var/lib/replay\n retention 7d\n janitor_interval 10m\n}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	app := v.(httpcaddyfile.App)
	if app.Name != "replay" || string(app.Value) != `{"data_dir":"/var/lib/replay","retention":604800000000000,"janitor_interval":600000000000}` {
		t.Errorf("got %s: %s", app.Name, app.Value)
	}
	for _, bad := range []string{"replay {\n retention forever\n}", "replay {\n retention -1h\n}", "replay {\n data_dir\n}", "replay {\n color blue\n}", "replay arg"} {
		if _, err := parseGlobalOption(caddyfile.NewTestDispenser(bad), nil); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8090":      true,
		"tcp/127.0.0.1:8090":  true,
		"[::1]:8090":          true,
		"localhost:8090":      true,
		"unix//run/x.sock":    true,
		":8090":               false,
		"0.0.0.0:8090":        false,
		"192.168.1.5:8090":    false,
		"127.0.0.1:1,:2":      false,
		"tcp/[::]:443":        false,
		"example.com:443":     false,
		"127.0.0.1:80 :8443":  false,
		"127.0.0.1:80 ::1:80": false,
	} {
		if got := loopbackOnly(strings.FieldsFunc(listen, func(r rune) bool { return r == ' ' || r == ',' })); got != want {
			t.Errorf("loopbackOnly(%q) = %v, want %v", listen, got, want)
		}
	}
}

// TestPlayerGate: without authentication, a player on a public listener
// answers 401 and never reaches the player; an authenticated user, a
// loopback-only listener or insecure_no_auth pass.
func TestPlayerGate(t *testing.T) {
	reached := false
	p := &PlayerHandler{}
	p.loopback = new(sync.Map)
	pass := func(r *http.Request) int {
		reached = false
		rec := httptest.NewRecorder()
		if p.authorized(r) {
			reached = true
			return http.StatusOK
		}
		p.ServeHTTP(rec, r, nil)
		return rec.Code
	}
	req := func(listen []string, user string, header ...string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		repl := caddy.NewReplacer()
		switch user {
		case "":
		case "forward_auth":
			// What forward_auth leaves when its gateway said yes.
			repl.Set("http.reverse_proxy.status_code", 200)
		default:
			repl.Set("http.auth.user.id", user)
		}
		ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
		ctx = context.WithValue(ctx, caddyhttp.ServerCtxKey, &caddyhttp.Server{Listen: listen})
		return r.WithContext(ctx)
	}
	if code := pass(req([]string{":443"}, "")); code != http.StatusUnauthorized || reached {
		t.Errorf("public listener, no user: %d (reached %v)", code, reached)
	}
	if code := pass(req([]string{":443"}, "ops")); code != http.StatusOK || !reached {
		t.Errorf("public listener, authenticated: %d", code)
	}
	if code := pass(req([]string{"127.0.0.1:8090"}, "")); code != http.StatusOK || !reached {
		t.Errorf("loopback listener: %d", code)
	}
	// A proxy on this machine forwarding outside traffic to the loopback
	// listener: not local.
	if code := pass(req([]string{"127.0.0.1:8090"}, "", "X-Forwarded-For", "203.0.113.9")); code != http.StatusUnauthorized || reached {
		t.Errorf("loopback listener, forwarded request: %d", code)
	}
	p.RequireAuth = true
	if code := pass(req([]string{"127.0.0.1:8090"}, "")); code != http.StatusUnauthorized || reached {
		t.Errorf("loopback listener with require_auth: %d", code)
	}
	if code := pass(req([]string{"127.0.0.1:8090"}, "forward_auth")); code != http.StatusOK || !reached {
		t.Errorf("forward_auth passed, require_auth: %d", code)
	}
	p.RequireAuth = false
	p.InsecureNoAuth = true
	if code := pass(req([]string{":443"}, "")); code != http.StatusOK || !reached {
		t.Errorf("insecure_no_auth: %d", code)
	}
}

// docBlocks returns the fenced code blocks of the Markdown file at path
// whose info string is lang, with the line each starts on.
func docBlocks(t *testing.T, path, lang string) (blocks []string, lines []int) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cur []string
	in, start := false, 0
	for i, line := range strings.Split(string(src), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```"+lang:
			in, start, cur = true, i+2, nil
		case in && trimmed == "```":
			in = false
			blocks = append(blocks, strings.Join(cur, "\n")+"\n")
			lines = append(lines, start)
		case in:
			cur = append(cur, line)
		}
	}
	if in {
		t.Fatalf("%s: the block starting on line %d is not closed", path, start)
	}
	return blocks, lines
}

// TestDocsCaddyfileExamplesAdapt adapts every ```caddyfile block of the
// README and docs/CONFIG.md, as a user who copies one would: the examples
// cannot rot. Syntax summaries with <placeholders> are ```text blocks,
// checked by TestDocsSyntaxOptionsExist.
func TestDocsCaddyfileExamplesAdapt(t *testing.T) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, doc := range []struct {
		path string
		min  int // the examples the file has at least: a parse that finds none fails
	}{{"../README.md", 2}, {"../docs/CONFIG.md", 4}} {
		blocks, lines := docBlocks(t, doc.path, "caddyfile")
		if len(blocks) < doc.min {
			t.Errorf("%s: %d caddyfile blocks, want at least %d", doc.path, len(blocks), doc.min)
		}
		for i, block := range blocks {
			name := fmt.Sprintf("%s:%d", strings.TrimPrefix(doc.path, "../"), lines[i])
			t.Run(name, func(t *testing.T) {
				if strings.Contains(block, "<") {
					t.Fatalf("a caddyfile example has a <placeholder>; make it a real value or a ```text syntax block:\n%s", block)
				}
				out, warnings, err := adapter.Adapt([]byte(block), map[string]any{"filename": "Caddyfile"})
				if err != nil {
					t.Fatalf("does not adapt: %v\n%s", err, block)
				}
				for _, w := range warnings {
					// The examples are written as `caddy fmt` writes them.
					t.Errorf("warning: line %d: %s", w.Line, w.Message)
				}
				// What the example shows is in the config it makes.
				for directive, want := range map[*regexp.Regexp]string{
					regexp.MustCompile(`(?m)^\s*replay(\s*$|\s+[{/@*])`): `"handler":"replay"`,
					regexp.MustCompile(`(?m)^\s*replay_player\b`):        `"handler":"replay_player"`,
					regexp.MustCompile(`(?m)^\s*replay \{\n\s*data_dir`): `"replay":{"data_dir"`,
				} {
					if directive.MatchString(block) && !strings.Contains(string(out), want) {
						t.Errorf("the adapted config lacks %s:\n%s", want, out)
					}
				}
			})
		}
	}
}

// TestDocsSyntaxOptionsExist: every option in docs/CONFIG.md's syntax
// summaries is one the Caddyfile parsers know (an unknown one would fail
// with "unknown ... option").
func TestDocsSyntaxOptionsExist(t *testing.T) {
	parsers := map[string]func(opt string) error{
		"global": func(opt string) error {
			_, err := parseGlobalOption(caddyfile.NewTestDispenser("replay {\n"+opt+"\n}"), nil)
			return err
		},
		"replay": func(opt string) error {
			return new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser("replay {\n" + opt + "\n}"))
		},
		"ingest": func(opt string) error {
			return new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser("replay {\ningest {\n" + opt + "\n}\n}"))
		},
		"replay_player": func(opt string) error {
			return new(PlayerHandler).UnmarshalCaddyfile(caddyfile.NewTestDispenser("replay_player {\n" + opt + "\n}"))
		},
	}
	unknown := func(err error) bool { return err != nil && strings.Contains(err.Error(), "unknown") }
	for block, parse := range parsers {
		if !unknown(parse("no_such_option")) {
			t.Fatalf("%s: an unknown option is not reported as unknown; this test cannot tell", block)
		}
	}
	blocks, lines := docBlocks(t, "../docs/CONFIG.md", "text")
	seen := map[string]int{}
	for i, b := range blocks {
		var stack []string // the blocks the line is in
		for j, line := range strings.Split(strings.TrimSpace(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			opt := fields[0]
			switch {
			case opt == "}":
				stack = stack[:len(stack)-1]
				continue
			case j == 0 && opt == "{":
				stack = append(stack, "{")
				continue
			case len(stack) == 0:
				stack = append(stack, opt) // replay or replay_player
				continue
			case len(stack) == 1 && opt == "replay":
				stack = append(stack, "global")
				continue
			}
			block := stack[len(stack)-1]
			if fields[len(fields)-1] == "{" {
				stack = append(stack, opt) // ingest
			}
			parse, ok := parsers[block]
			if !ok {
				t.Errorf("CONFIG.md:%d: a syntax block of unknown shape (in %q)", lines[i]+j, block)
				continue
			}
			seen[block]++
			if err := parse(opt); unknown(err) {
				t.Errorf("CONFIG.md:%d: %s option %q: %v", lines[i]+j, block, opt, err)
			}
		}
	}
	for _, block := range []string{"global", "replay", "ingest", "replay_player"} {
		if seen[block] < 2 {
			t.Errorf("CONFIG.md: the %s syntax block lists %d options; was it removed or reshaped?", block, seen[block])
		}
	}
}

// TestDocsEveryJSONFieldDocumented: each JSON field of the app and the
// handlers is named in docs/CONFIG.md, so an option added to the code
// cannot stay undocumented.
func TestDocsEveryJSONFieldDocumented(t *testing.T) {
	src, err := os.ReadFile("../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	n := 0
	for _, v := range []any{App{}, Handler{}, Ingest{}, PlayerHandler{}, collector.Rate{}} {
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			n++
			if !strings.Contains(doc, "`"+name+"`") {
				t.Errorf("%s.%s (JSON %q) is not documented in docs/CONFIG.md", typ.Name(), f.Name, name)
			}
		}
	}
	if n < 25 {
		t.Errorf("only %d JSON fields found: the reflection is broken", n)
	}
}

func TestUnmarshalClientRawRateOff(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("replay {\n ingest {\n client_raw_rate -1\n }\n}")); err != nil {
		t.Fatal(err)
	}
	if h.Ingest == nil || h.Ingest.ClientRawRate != (collector.Rate{PerSecond: -1}) {
		t.Errorf("client_raw_rate -1: got %+v", h.Ingest)
	}
}

// TestUnmarshalErrorsNameTheLine: a bad value is refused while the
// Caddyfile is read, with the line of the option, not later at provision
// time (where the line is lost) nor as a config JSON cannot carry (NaN
// made `caddy adapt` print a handler "null" and a warning at line 0).
func TestUnmarshalErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"replay {\n service s\n sample_rate NaN\n}", "sample_rate"},
		{"replay {\n service s\n\n start later\n}", "start must be auto or manual"},
		{"replay {\n privacy secret\n}", "privacy must be"},
		{"replay {\n env e\n base_path __replay/\n}", "base_path must"},
		{"replay {\n cors_origins http://ok.example\n cors_origins not-an-origin\n}", "not an origin"},
		{"replay {\n crossorigin https://cdn.example/x.css\n}", "not an origin"},
		{"replay {\n ingest {\n  max_records 5\n  allowed_origins * example.com\n }\n}", "not an origin"},
		{"replay_player {\n insecure_no_auth\n require_auth\n}", "contradict"},
		{"replay {\n ingest off {\n  max_records 5\n }\n}", "no effect"},
	} {
		lines := strings.Split(c.src, "\n")
		line := 0
		for i, l := range lines {
			if strings.Contains(l, "NaN") || strings.Contains(l, "later") || strings.Contains(l, "secret") || strings.Contains(l, "__replay/") || strings.Contains(l, "not-an-origin") || strings.Contains(l, "x.css") || strings.Contains(l, "example.com") || strings.Contains(l, "require_auth") || strings.Contains(l, "max_records 5") && strings.Contains(c.src, "off") {
				line = i + 1
			}
		}
		var err error
		if strings.HasPrefix(c.src, "replay_player") {
			err = new(PlayerHandler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.src))
		} else {
			err = new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(c.src))
		}
		if err == nil {
			t.Errorf("accepted %q", c.src)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasSuffix(err.Error(), fmt.Sprintf("Testfile:%d", line)) {
			t.Errorf("%q: error %q, want %q at Testfile:%d", c.src, err, c.want, line)
		}
	}
}

// TestUnmarshalRejectsNonFiniteRates: `client_rate NaN` (or Inf) was
// accepted, and since JSON cannot carry it, `caddy adapt` turned the whole
// replay handler into "null" with a warning at line 0, and `caddy run`
// then failed with "module name not specified". It is refused at its line.
func TestUnmarshalRejectsNonFiniteRates(t *testing.T) {
	for _, opt := range []string{"client_rate NaN", "client_rate +Inf", "session_rate Inf", "session_rate -Inf", "client_rate nan 10"} {
		src := "replay {\n ingest {\n  " + opt + "\n }\n}"
		err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(src))
		if err == nil {
			t.Errorf("accepted %q", opt)
			continue
		}
		if name, _, _ := strings.Cut(opt, " "); !strings.Contains(err.Error(), name) || !strings.HasSuffix(err.Error(), "Testfile:3") {
			t.Errorf("%q: error %q, want it to name %s at Testfile:3", opt, err, name)
		}
	}
	// -1 stays the documented way to turn a limit off.
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("replay {\n ingest {\n  client_rate -1\n  session_rate 0.5 3\n }\n}")); err != nil {
		t.Fatal(err)
	}
	if h.Ingest.ClientRate != (collector.Rate{PerSecond: -1}) || h.Ingest.SessionRate != (collector.Rate{PerSecond: 0.5, Burst: 3}) {
		t.Errorf("got client_rate %+v, session_rate %+v", h.Ingest.ClientRate, h.Ingest.SessionRate)
	}
}

// TestRepeatedOptions: a scalar option given twice keeps the last value,
// origin lists add up (as docs/CONFIG.md says), and `ingest off` after an
// ingest block with limits is refused like limits inside `ingest off {}`:
// it dropped them silently, while the other order was an error.
func TestRepeatedOptions(t *testing.T) {
	var h Handler
	src := "replay {\n sample_rate 10\n sample_rate 20\n cors_origins http://a.example\n cors_origins http://b.example\n}"
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src)); err != nil {
		t.Fatal(err)
	}
	if h.SampleRate == nil || *h.SampleRate != 20 {
		t.Errorf("sample_rate given twice: %v, want the last (20)", h.SampleRate)
	}
	if !reflect.DeepEqual(h.CORSOrigins, []string{"http://a.example", "http://b.example"}) {
		t.Errorf("cors_origins given twice: %v, want both", h.CORSOrigins)
	}
	for _, src := range []string{
		"replay {\n ingest {\n  max_records 5\n }\n ingest off\n}",
		"replay {\n ingest off\n ingest {\n  max_records 5\n }\n}",
	} {
		err := new(Handler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(src))
		if err == nil || !strings.Contains(err.Error(), "no effect") {
			t.Errorf("%q: %v, want an error saying the limits would have no effect", src, err)
		}
	}
	// ingest off twice, or an empty ingest block around it, is harmless.
	for _, src := range []string{"replay {\n ingest off\n ingest off\n}", "replay {\n ingest {\n }\n ingest off\n}"} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src)); err != nil || h.Ingest == nil || !h.Ingest.Disabled {
			t.Errorf("%q: %v, %+v", src, err, h.Ingest)
		}
	}
}

// TestCaddyfileErrorsSayWhatIsWrong: Caddy already prefixes a Caddyfile
// error with "parsing caddyfile tokens for 'replay':", so a second
// "replay:" read "for 'replay': replay: privacy must be ..."; and a
// base_path refused for a '<' was told it may contain no "quotes, spaces,
// '?' or '#'", which named neither '<' nor '>'.
func TestCaddyfileErrorsSayWhatIsWrong(t *testing.T) {
	for src, want := range map[string]string{
		"replay {\n base_path /a<b/\n}":                       `(with "<")`,
		"replay {\n base_path /a>b/\n}":                       `(with ">")`,
		"replay {\n base_path /a#b/\n}":                       `(with "#")`,
		"replay {\n base_path /x\n}":                          "start and end with '/'",
		"replay {\n privacy secret\n}":                        `"secret"`,
		"replay {\n start later\n}":                           `"later"`,
		"replay {\n cors_origins https://a.example/x\n}":      `"https://a.example/x"`,
		"replay {\n ingest {\n allowed_origins ftp://x\n}\n}": `"ftp://x"`,
	} {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src))
		if err == nil {
			t.Errorf("accepted %q", src)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, want) || strings.HasPrefix(msg, "replay:") || strings.Contains(msg, ": replay:") {
			t.Errorf("%q: %q, want it to name %s without a second \"replay:\"", src, msg, want)
		}
	}
}

// TestJSONLeavesUnsetRatesOut: the JSON of an ingest block that sets one
// option names that option only (`caddy adapt` printed an empty
// client_rate, session_rate and client_raw_rate object for every rate left
// at its default).
func TestJSONLeavesUnsetRatesOut(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("replay {\n ingest {\n max_records 500\n }\n}")); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(h.Ingest)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"max_records":500}` {
		t.Errorf("ingest JSON %s, want only max_records", b)
	}
}
