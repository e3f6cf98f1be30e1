package inject

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/net/html"
)

// The rewriter's throughput is measured side by side with two baselines in
// one run, per corpus page and over the whole corpus:
//
//	ours     the Rewriter (injection, crossorigin, meta CSP), a new one per page
//	iocopy   io.CopyBuffer of the same bytes (what a proxy does anyway)
//	xnethtml x/net/html's Tokenizer, tokenizing only (the usual alternative)
//
// Input arrives in 32 KiB writes, like a reverse proxy's copy buffer;
// output goes to io.Discard. Besides wall-time MB/s, each benchmark
// reports cpuMB/s (per second of its thread's CPU time), which stays
// meaningful on a machine shared with other work. Run, and lay the three
// side by side with benchstat:
//
//	go test ./inject -run '^$' -bench 'Rewrite' -count 5 -cpu 1 > rewrite.txt
//	benchstat -col /impl rewrite.txt

const chunk = 32 << 10

func benchOpts() RewriteOptions {
	return RewriteOptions{
		Tag:                testTag,
		PageURL:            &urlExample,
		CrossOriginOrigins: []string{"https://cdn.jsdelivr.net"},
	}
}

func runOurs(page []byte, opts RewriteOptions) {
	rw := NewRewriter(io.Discard, opts)
	for i := 0; i < len(page); i += chunk {
		rw.Write(page[i:min(i+chunk, len(page))])
	}
	rw.Close()
}

func runCopy(page []byte, buf []byte) {
	io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{bytes.NewReader(page)}, buf)
}

func runXNet(page []byte) {
	z := html.NewTokenizer(bytes.NewReader(page))
	for z.Next() != html.ErrorToken {
	}
}

// measure runs f b.N times and reports, besides ns/op and MB/s (wall
// time), cpuMB/s: bytes per second of the benchmark thread's CPU time,
// which the other processes of a busy machine do not distort.
func measure(b *testing.B, bytesPerOp int64, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(bytesPerOp)
	b.ReportAllocs()
	b.ResetTimer()
	start := threadCPU()
	for i := 0; i < b.N; i++ {
		f()
	}
	cpu := threadCPU() - start
	b.StopTimer()
	if cpu > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/cpu.Seconds()/1e6, "cpuMB/s")
	}
}

func BenchmarkRewrite(b *testing.B) {
	pages := corpus(b)
	opts := benchOpts()
	buf := make([]byte, chunk)
	for _, name := range sortedNames(pages) {
		page := pages[name]
		b.Run("impl=ours/page="+name, func(b *testing.B) {
			measure(b, int64(len(page)), func() { runOurs(page, opts) })
		})
		b.Run("impl=iocopy/page="+name, func(b *testing.B) {
			measure(b, int64(len(page)), func() { runCopy(page, buf) })
		})
		b.Run("impl=xnethtml/page="+name, func(b *testing.B) {
			measure(b, int64(len(page)), func() { runXNet(page) })
		})
	}
}

// BenchmarkRewriteCorpus is the whole corpus as one workload (each page a
// response).
func BenchmarkRewriteCorpus(b *testing.B) {
	pages := corpus(b)
	var total int64
	for _, p := range pages {
		total += int64(len(p))
	}
	opts := benchOpts()
	buf := make([]byte, chunk)
	for _, impl := range []string{"ours", "iocopy", "xnethtml"} {
		b.Run("impl="+impl, func(b *testing.B) {
			measure(b, total, func() {
				for _, p := range pages {
					switch impl {
					case "ours":
						runOurs(p, opts)
					case "iocopy":
						runCopy(p, buf)
					case "xnethtml":
						runXNet(p)
					}
				}
			})
		})
	}
}

// synthPage returns an HTML document of about n bytes: a real head, then
// repeated body content with links, scripts and comments.
func synthPage(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>t</title><link rel="stylesheet" href="/s.css"></head><body>`)
	unit := `<div class="c"><p>Lorem ipsum <a href="/x?a=1&amp;b=2">dolor</a> sit amet.</p><!-- c --><script>var a = "<link rel=stylesheet href=/no.css>";</script><link rel="stylesheet" href="/p.css"></div>` + "\n"
	for b.Len() < n-len("</body></html>") {
		b.WriteString(unit)
	}
	b.WriteString("</body></html>")
	return b.Bytes()
}

// BenchmarkMemoryPerResponse shows bytes allocated per response (B/op)
// for a 1 KB, a 1 MB and a 64 MB page: they do not grow with the page.
// The 64 MB page is streamed (one 32 KiB piece written 2048 times), never
// held in memory.
func BenchmarkMemoryPerResponse(b *testing.B) {
	opts := benchOpts()
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"1MB", 1 << 20}, {"64MB", 64 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				streamPage(opts, size.n)
			}
		})
	}
}

// The streamed page: a real head, then one 32 KiB piece of body written
// again and again (built once, so that B/op counts only the rewriter).
var (
	streamHead = synthPage(1 << 10)
	streamBody = bytes.Repeat([]byte(`<p>Lorem <a href="/x">ipsum</a> <link rel=stylesheet href="/y.css"><!-- c --></p>`+"\n"), chunk/80)
)

// streamPage writes an n-byte page through a new rewriter, piece by
// piece.
func streamPage(opts RewriteOptions, n int) {
	head, body := streamHead, streamBody
	rw := NewRewriter(io.Discard, opts)
	rw.Write(head[:len(head)-len("</body></html>")])
	for written := len(head); written < n; written += len(body) {
		rw.Write(body)
	}
	rw.Write([]byte("</body></html>"))
	rw.Close()
}

// TestMemoryPerResponseIsBounded asserts what the benchmark shows: the
// bytes allocated to rewrite one response do not depend on its size.
func TestMemoryPerResponseIsBounded(t *testing.T) {
	opts := benchOpts()
	// TotalAlloc counts the whole process (other tests' goroutines may
	// still be winding down): take the least of a few samples.
	perResponse := func(n, runs int) uint64 {
		best := uint64(1 << 62)
		for sample := 0; sample < 3; sample++ {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := 0; i < runs; i++ {
				streamPage(opts, n)
			}
			runtime.ReadMemStats(&after)
			best = min(best, (after.TotalAlloc-before.TotalAlloc)/uint64(runs))
		}
		return best
	}
	streamPage(opts, 1<<10) // warm up
	small := perResponse(1<<10, 20)
	large := perResponse(1<<20, 3)
	huge := perResponse(64<<20, 1)
	t.Logf("bytes allocated per response: 1 KB page %d, 1 MB page %d, 64 MB page %d", small, large, huge)
	if large > small+1<<10 || huge > small+1<<10 {
		t.Errorf("allocation grows with page size: 1 KB %d B, 1 MB %d B, 64 MB %d B", small, large, huge)
	}
}

// BenchmarkResponseWriter measures the whole wrapper on one corpus page:
// identity and gzip upstreams, against the same copy without injection
// (for gzip: decompressing only, what any rewrite of a compressed body must
// at least do).
func BenchmarkResponseWriter(b *testing.B) {
	page := corpus(b)["gumbo_wikipedia.html"]
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page)
	zw.Close()
	in := newInjector(b, nil)
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	serveOnce := func(body []byte, enc string, inject bool) {
		w := &discardWriter{h: http.Header{}}
		rw := in.Wrap(w, req, inject)
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		if enc != "" {
			rw.Header().Set("Content-Encoding", enc)
		}
		rw.WriteHeader(200)
		for i := 0; i < len(body); i += chunk {
			rw.Write(body[i:min(i+chunk, len(body))])
		}
		rw.Close()
	}
	b.Run("identity/injected", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			serveOnce(page, "", true)
		}
	})
	b.Run("identity/passthrough", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		buf := make([]byte, chunk)
		for i := 0; i < b.N; i++ {
			runCopy(page, buf)
		}
	})
	b.Run("gzip/injected", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			serveOnce(gz.Bytes(), "gzip", true)
		}
	})
	b.Run("gzip/decode-only", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		buf := make([]byte, chunk)
		for i := 0; i < b.N; i++ {
			zr, _ := gzip.NewReader(bytes.NewReader(gz.Bytes()))
			io.CopyBuffer(onlyWriter{io.Discard}, onlyReader{zr}, buf)
		}
	})
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkBodyScan compares, in one process, the rewriter over the
// corpus with bodyScan (the default) and without it (the general scanner
// states for every tag), alternating runs so that both see the same
// machine. It reports each one's CPU time per corpus pass and speedup =
// without / with, over the runs of the benchmark.
func BenchmarkBodyScan(b *testing.B) {
	pages := corpus(b)
	names := sortedNames(pages)
	opts := benchOpts()
	pass := func(off bool) time.Duration {
		start := threadCPU()
		for _, name := range names {
			page := pages[name]
			rw := NewRewriter(io.Discard, opts)
			rw.noBodyScan = off
			for i := 0; i < len(page); i += chunk {
				rw.Write(page[i:min(i+chunk, len(page))])
			}
			rw.Close()
		}
		return threadCPU() - start
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var with, without []time.Duration
	for i := 0; i < b.N; i++ {
		without = append(without, pass(true))
		with = append(with, pass(false))
	}
	med := func(d []time.Duration) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	b.ReportMetric(float64(med(with).Microseconds()), "µs-with")
	b.ReportMetric(float64(med(without).Microseconds()), "µs-without")
	b.ReportMetric(float64(med(without))/float64(med(with)), "speedup")
}
