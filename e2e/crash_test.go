package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/caddy-replay/caddy-replay/collector"
	"github.com/caddy-replay/caddy-replay/internal/browsertest"
	"github.com/caddy-replay/caddy-replay/internal/caddyrun"
	"github.com/caddy-replay/caddy-replay/internal/crashload"
	"github.com/caddy-replay/caddy-replay/store"
	"github.com/caddy-replay/caddy-replay/store/embedded"
)

// captured is a segment the recorder uploaded, replayable under another
// session id.
type captured struct {
	query string // the upload's query without sid
	body  []byte // the gzip body as the recorder sent it
	key   store.SegmentKey
}

// recordDemoVisit records a scripted visit of the demo shop in Chromium
// through the in-process stack and returns its segments, as the recorder
// uploaded them, and the session. With dwell, the visitor also lingers on
// each page, moving the mouse and scrolling, so that the recording holds
// the periodic segments of a real visit (for the benchmark), not only
// page loads.
func recordDemoVisit(t *testing.T, dwell time.Duration) ([]captured, *store.Session) {
	s := StartStack(t, StackOptions{})
	ctx := browsertest.New(t, 90*time.Second+12*dwell)
	linger := chromedp.ActionFunc(func(ctx context.Context) error {
		for end := time.Now().Add(dwell); time.Now().Before(end); {
			x, y := 100+rand.Float64()*800, 100+rand.Float64()*500
			if err := chromedp.MouseEvent(input.MouseMoved, x, y).Do(ctx); err != nil {
				return err
			}
			if rand.IntN(10) == 0 {
				if err := chromedp.Evaluate(`window.scrollBy(0, 120)`, nil).Do(ctx); err != nil {
					return err
				}
			}
			time.Sleep(80 * time.Millisecond)
		}
		return nil
	})
	steps := []chromedp.Action{
		chromedp.Navigate(s.Site + "/"),
		chromedp.WaitVisible("#shop-now"),
		chromedp.Sleep(500 * time.Millisecond),
		linger,
		clickCentered("#subscribe-toggle"),
		clickCentered("#shop-now"),
		chromedp.WaitVisible(`[data-filter="dark"]`),
		chromedp.Sleep(500 * time.Millisecond),
		linger,
		clickCentered(`[data-filter="dark"]`),
		clickCentered(`[data-filter="all"]`),
		clickCentered(`[data-add="guji"]`),
		clickCentered(`[data-add="kiambu"]`),
		clickCentered(`#cart-button`),
		chromedp.Sleep(500 * time.Millisecond),
		clickCentered(`a[href="/account.html"]`),
		chromedp.WaitVisible("#name"),
		linger,
		clickCentered("#name"),
		chromedp.SendKeys("#name", "Grace Hopper"),
		clickCentered("#email"),
		chromedp.SendKeys("#email", "grace@example.com"),
		clickCentered("#password"),
		chromedp.SendKeys("#password", "hunter2 hunter2"),
		clickCentered("#submit"),
		chromedp.WaitVisible("#form-success"),
		clickCentered(`a[href="/app/"]`),
		chromedp.WaitVisible(`a[href="/app/orders"]`),
		chromedp.Sleep(300 * time.Millisecond),
		clickCentered(`a[href="/app/orders"]`),
		chromedp.WaitVisible("#orders-box"),
		linger,
		chromedp.Sleep(time.Second),
		chromedp.Navigate("about:blank"), // pagehide flushes the last segment
	}
	for i, step := range steps {
		if err := chromedp.Run(ctx, step); err != nil {
			t.Fatalf("scripted visit, step %d: %v", i, err)
		}
	}
	st := s.Store(t)
	ctx2 := context.Background()
	var sess *store.Session
	for deadline := time.Now().Add(20 * time.Second); ; {
		page, err := st.ListSessions(ctx2, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Sessions) == 1 {
			if sess, err = st.Session(ctx2, page.Sessions[0].ID); err != nil {
				t.Fatal(err)
			}
			if len(sess.Views) >= 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the visit was not recorded: %+v", page)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // the pagehide segment
	segs, err := st.SegmentList(ctx2, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sess, err = st.Session(ctx2, sess.ID); err != nil {
		t.Fatal(err)
	}
	var out []captured
	for _, sg := range segs {
		rc, err := st.OpenSegment(ctx2, sg.SegmentKey)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		full := 0
		if sg.FullSnapshot {
			full = 1
		}
		q := fmt.Sprintf("v=1&vid=%s&seq=%d&start=%d&end=%d&full=%d&n=%d&raw=%d",
			sg.View, sg.Seq, sg.Start, sg.End, full, sg.Records, sg.RawSize)
		out = append(out, captured{query: q, body: body, key: sg.SegmentKey})
	}
	return out, sess
}

// saveCaptured writes captured segments where BenchmarkIngest reads them
// (REPLAY_INGEST_SEGMENTS), when REPLAY_CAPTURE_DIR asks for it.
func saveCaptured(t *testing.T, segs []captured) {
	dir := os.Getenv("REPLAY_CAPTURE_DIR")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, c := range segs {
		base := filepath.Join(dir, fmt.Sprintf("%03d", i))
		if err := os.WriteFile(base+".query", []byte(c.query+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(base+".body", c.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d recorder segments written to %s", len(segs), dir)
}

// buildCaddy builds ./cmd/caddy (our Caddy) into a temporary directory.
func buildCaddy(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "caddy")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/caddy")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building Caddy: %v\n%s", err, out)
	}
	return bin
}

// ingestCaddyfile is a site that only ingests, without rate limits (the 32
// clients share one address), storing in dir.
func ingestCaddyfile(dir string, port int) string {
	return fmt.Sprintf(`{
	admin off
	replay {
		data_dir %q
	}
}
http://127.0.0.1:%d {
	replay {
		ingest {
			client_rate -1
			session_rate -1
		}
	}
	respond "demo"
}
`, dir, port)
}

// caddyProcess runs our Caddy binary on a Caddyfile.
type caddyProcess struct {
	cmd  *exec.Cmd
	base string
	out  *bytes.Buffer
}

func startCaddy(t *testing.T, bin, caddyfile string, port int) *caddyProcess {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(cfg, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &caddyProcess{out: new(bytes.Buffer), base: "http://127.0.0.1:" + strconv.Itoa(port)}
	p.cmd = exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", caddyrun.Addr(port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("Caddy did not start: %v\n%s", err, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCaddyCrashSafety kills a real Caddy with SIGKILL while 32 clients
// upload real recorder segments. After a restart every acknowledged
// segment is present and readable, the index agrees with the stored
// segments, and a reindex from the segments alone rebuilds the same index.
// The `caddy replay` commands then work on what is left.
func TestCaddyCrashSafety(t *testing.T) {
	// A short visit for the test; a longer one, with the periodic segments
	// of a visitor who lingers, when capturing segments for the benchmark.
	dwell := time.Duration(0)
	if os.Getenv("REPLAY_CAPTURE_DIR") != "" {
		dwell = 20 * time.Second
	}
	segs, demo := recordDemoVisit(t, dwell)
	saveCaptured(t, segs)
	var stored int64
	for _, c := range segs {
		stored += int64(len(c.body))
	}
	if dwell > 0 {
		// Only the lingering visit is a fair basis for a per-minute
		// figure: the short one is almost all page loads.
		minutes := float64(demo.Duration) / 60000
		t.Logf("scripted demo visit: %d segments, %.1f s, %d bytes stored (gzip) = %.1f KB per recorded minute (raw %.1f KB/min)",
			len(segs), float64(demo.Duration)/1000, stored, float64(stored)/1024/minutes, float64(demo.RawBytes)/1024/minutes)
	}

	bin := buildCaddy(t)
	dir := t.TempDir()
	port := caddyrun.FreePort(t)
	caddyfile := ingestCaddyfile(dir, port)
	p := startCaddy(t, bin, caddyfile, port)

	acks := uploadUntilKilled(t, p.base, segs, 32, func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	})

	// Reopen as a restarted Caddy would (with the collector's Summarizer
	// for segments stored but not yet indexed), and check.
	ctx := context.Background()
	st, err := embedded.Open(dir, embedded.Options{Summarizer: collector.Summarize})
	if err != nil {
		t.Fatalf("reopening after the crash: %v", err)
	}
	crashload.CheckAcked(t, st, acks)
	before := snapshot(t, st)
	stats, err := st.Reindex(ctx, collector.Summarize)
	if err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, st)
	if stats.Skipped != 0 || !reflect.DeepEqual(before, after) {
		t.Errorf("the index after the crash and the one rebuilt from the stored segments differ (%d sessions before, %d after, %d skipped)",
			len(before), len(after), stats.Skipped)
	}
	st.Close()
	t.Logf("%d acknowledged segments intact; %d sessions, %d segments agree with a rebuild from the packs", len(acks), len(before), stats.Segments)

	// Caddy restarts on the same store and takes uploads again.
	p = startCaddy(t, bin, caddyfile, port)
	extra := segs[0]
	sid := "restart" + strings.Repeat("x", 15)
	if code := post(t, p.base, sid, extra); code != 200 {
		t.Fatalf("upload after the restart: %d\n%s", code, p.out)
	}
	// While Caddy runs, reindex refuses to start.
	out, err := exec.Command(bin, "replay", "reindex", "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "stop Caddy") {
		t.Errorf("reindex while Caddy runs: %v\n%s", err, out)
	}
	// ...but listing works beside it.
	var page store.SessionPage
	runJSON(t, bin, &page, "replay", "sessions", "--data-dir", dir, "--json", "--limit", "500")
	if page.Total != len(before)+1 {
		t.Errorf("caddy replay sessions beside a running Caddy: %d sessions, want %d", page.Total, len(before)+1)
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()

	testCLI(t, bin, dir, caddyfile, before)
}

// testCLI exercises `caddy replay` on the store left by the crash test.
func testCLI(t *testing.T, bin, dir, caddyfile string, sessions map[string]sessionSnapshot) {
	var ids []string
	for id := range sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	// Found through the Caddyfile's data_dir as well as --data-dir.
	cfg := filepath.Join(t.TempDir(), "Caddyfile")
	os.WriteFile(cfg, []byte(caddyfile), 0o644)
	var page store.SessionPage
	runJSON(t, bin, &page, "replay", "sessions", "--config", cfg, "--adapter", "caddyfile", "--json", "--limit", "3", "--sort", "clicks")
	if page.Total != len(sessions)+1 || len(page.Sessions) != 3 || page.Next == "" {
		t.Errorf("sessions --config: total %d, %d listed, next %q", page.Total, len(page.Sessions), page.Next)
	}
	orders := 0
	for _, s := range sessions {
		for _, u := range s.Session.URLs {
			if strings.Contains(u, "/app/orders") {
				orders++
				break
			}
		}
	}
	// The number of sessions depends on how fast the machine uploaded
	// before the kill; a page of the table holds at most 500.
	out := run(t, bin, "replay", "sessions", "--data-dir", dir, "--url", "/app/orders", "--limit", "500")
	if !strings.Contains(out, fmt.Sprintf("%d of %d sessions", min(orders, 500), orders)) {
		t.Errorf("table of the %d sessions visiting /app/orders:\n%s", orders, out)
	}

	// Export: one JSON array holding every event of the session.
	id := ids[0]
	file := filepath.Join(t.TempDir(), "session.json")
	// Ids may start with '-': "--" ends the flags.
	run(t, bin, "replay", "export", "--data-dir", dir, "--output", file, "--", id)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Type      int   `json:"type"`
		Timestamp int64 `json:"timestamp"`
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		t.Fatalf("export is not a JSON array of events: %v", err)
	}
	want := 0
	for _, sg := range sessions[id].Segments {
		want += sg.Records
	}
	if len(events) != want || events[0].Type != 4 {
		t.Errorf("export has %d events (first type %d), want %d starting with a Meta event", len(events), events[0].Type, want)
	}

	// Delete one session, then one user's sessions (none here: the visit
	// set a user id only through the form, which the demo names).
	run(t, bin, "replay", "delete", "--data-dir", dir, "--", id)
	run(t, bin, "replay", "delete", "--data-dir", dir, "--", id) // idempotent
	if out, err := exec.Command(bin, "replay", "delete", "--data-dir", dir, "--", "neverrecorded0000000").CombinedOutput(); err == nil {
		t.Errorf("deleting an unknown session reported success:\n%s", out)
	}
	listed := run(t, bin, "replay", "sessions", "--data-dir", dir, "--json")
	if err := json.Unmarshal([]byte(listed), &page); err != nil {
		t.Fatalf("caddy replay sessions --json: not JSON: %v", err)
	}
	if page.Total != len(sessions) {
		t.Errorf("after delete: %d sessions, want %d", page.Total, len(sessions))
	}
	// The listing speaks the player API's camelCase, without internals.
	for _, want := range []string{`"sessions":`, `"total":`, `"entryUrl":`, `"rageClicks":`} {
		if !strings.Contains(listed, want) {
			t.Errorf("sessions --json lacks %s:\n%.400s", want, listed)
		}
	}
	if strings.Contains(listed, `"Carry"`) || strings.Contains(listed, `"EntryURL"`) {
		t.Errorf("sessions --json shows Go field names:\n%.400s", listed)
	}
	out = run(t, bin, "replay", "delete", "--user", "nobody", "--data-dir", dir)
	if !strings.Contains(out, "deleted 0 sessions") {
		t.Errorf("delete --user: %s", out)
	}
	// Reindex now that Caddy is stopped: the deletion survives it.
	out = run(t, bin, "replay", "reindex", "--data-dir", dir)
	if !strings.Contains(out, "reindexed "+strconv.Itoa(len(sessions))+" sessions") {
		t.Errorf("reindex: %s", out)
	}
	if _, err := exec.Command(bin, "replay", "export", "--data-dir", dir, "--", id).Output(); err == nil {
		t.Error("a deleted session can still be exported after reindex")
	}
	if out, err := exec.Command(bin, "replay", "sessions", "--data-dir", filepath.Join(dir, "nope")).CombinedOutput(); err == nil || !strings.Contains(string(out), "no recordings") {
		t.Errorf("a wrong data directory: %v %s", err, out)
	}
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("caddy %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

func runJSON(t *testing.T, bin string, v any, args ...string) {
	t.Helper()
	if err := json.Unmarshal([]byte(run(t, bin, args...)), v); err != nil {
		t.Fatalf("caddy %s: not JSON: %v", strings.Join(args, " "), err)
	}
}

// post uploads one captured segment under session sid.
func post(t *testing.T, base, sid string, c captured) int {
	req, _ := http.NewRequest("POST", base+"/__replay/v1/segments?sid="+url.QueryEscape(sid)+"&"+c.query, bytes.NewReader(c.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// uploadUntilKilled has clients replay the captured visit under fresh
// session ids until the server dies; kill is called once enough segments
// are acknowledged.
func uploadUntilKilled(t *testing.T, base string, segs []captured, clients int, kill func()) []crashload.Ack {
	source := func(c int) iter.Seq[crashload.Segment] {
		return func(yield func(crashload.Segment) bool) {
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for {
				sid := randomID(r)
				for _, sg := range segs {
					k := sg.key
					k.Session = sid
					if !yield(crashload.Segment{Query: "sid=" + sid + "&" + sg.query, Body: sg.body, Key: k}) {
						return
					}
				}
			}
		}
	}
	return crashload.UploadUntilKilled(t, base, clients, source, kill)
}

func randomID(r *rand.Rand) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

type sessionSnapshot struct {
	Session  store.Session
	Segments []store.SegmentInfo
}

func snapshot(t *testing.T, st store.Store) map[string]sessionSnapshot {
	ctx := context.Background()
	out := map[string]sessionSnapshot{}
	q := store.Query{Limit: 500}
	for {
		p, err := st.ListSessions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Sessions {
			full, err := st.Session(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			segs, err := st.SegmentList(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			out[s.ID] = sessionSnapshot{*full, segs}
		}
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}
