// Command proxybench measures what `replay` costs a proxy: requests per
// second and latency of Caddy with `replay` + `reverse_proxy` against the
// same Caddy without `replay`, side by side in one run, on the pages of
// ../shared/corpus/html.
//
// The fair baseline for compressed responses (DESIGN.md, "Testing"): the
// same config without replay, with the upstream asked for identity
// (header_up Accept-Encoding identity) and Caddy's encode compressing for
// the client. Both then pay for one compression per response. (Removing
// the header is not enough: Go's transport, which reverse_proxy uses, then
// asks for gzip itself and decompresses transparently, an extra cost the
// baseline would pay and replay would not.)
//
// Upstreams:
//
//	plain        never compresses
//	gzip         compresses when the request accepts gzip (replay asks
//	             for identity on document requests, like the baseline)
//	gzip-always  compresses whatever the request says (replay must
//	             decode; the baseline's upstream still sends gzip, so its
//	             encode passes it through: the unfair case, shown apart)
//
// Usage: go run ./bench/proxybench -caddy bin/caddy [-c 16] [-d 5s] [-rounds 5]
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	caddyBin := flag.String("caddy", "bin/caddy", "Caddy binary built with our modules (make build)")
	corpus := flag.String("corpus", "../shared/corpus/html", "directory of HTML pages")
	conc := flag.Int("c", 16, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "duration of one measurement")
	rounds := flag.Int("rounds", 5, "alternating rounds per pair (the median is reported)")
	upstreams := flag.String("upstreams", "plain,gzip,gzip-always", "upstream kinds to measure")
	encode := flag.Bool("encode", true, "compress for the client (encode gzip, Accept-Encoding: gzip); false: identity end to end")
	crossorigin := flag.String("crossorigin", "", "if set, replay lists this asset origin (crossorigin <origin>): the rewriter then scans whole documents, not only their heads")
	profDir := flag.String("profile", "", "if set, write a CPU profile of Caddy during each config's first round into this directory")
	flag.Parse()

	clientGzip = *encode
	pages := loadCorpus(*corpus)
	up := startUpstream(pages)
	defer up.Close()

	ports := map[string]int{}
	var cf strings.Builder
	admin := fmt.Sprintf("127.0.0.1:%d", freePort()) // pprof and memstats are served by the admin endpoint
	fmt.Fprintf(&cf, "{\n\tadmin %s\n\tpersist_config off\n\tlog default {\n\t\tlevel ERROR\n\t}\n\treplay {\n\t\tdata_dir %s\n\t}\n}\n", admin, must(os.MkdirTemp("", "proxybench")))
	for _, kind := range strings.Split(*upstreams, ",") {
		for _, withReplay := range []bool{true, false} {
			name := kind + map[bool]string{true: "/replay", false: "/baseline"}[withReplay]
			ports[name] = freePort()
			fmt.Fprintf(&cf, "http://127.0.0.1:%d {\n\tbind 127.0.0.1\n", ports[name])
			if *encode {
				cf.WriteString("\tencode gzip\n")
			}
			if withReplay {
				if *crossorigin != "" {
					fmt.Fprintf(&cf, "\treplay {\n\t\tcrossorigin %s\n\t}\n", *crossorigin)
				} else {
					cf.WriteString("\treplay\n")
				}
				fmt.Fprintf(&cf, "\treverse_proxy %s {\n\t\theader_up X-Kind %s\n\t}\n}\n", up.Addr().String(), kind)
			} else {
				fmt.Fprintf(&cf, "\treverse_proxy %s {\n\t\theader_up X-Kind %s\n\t\theader_up Accept-Encoding identity\n\t}\n}\n", up.Addr().String(), kind)
			}
		}
	}
	cfgPath := filepath.Join(os.TempDir(), "proxybench.Caddyfile")
	must(0, os.WriteFile(cfgPath, []byte(cf.String()), 0o644))
	cmd := exec.Command(*caddyBin, "run", "--config", cfgPath, "--adapter", "caddyfile")
	cmd.Stderr = os.Stderr
	must(0, cmd.Start())
	defer cmd.Process.Kill()
	for _, p := range ports {
		waitPort(p)
	}

	fmt.Printf("corpus: %d pages, %.1f MB; %d connections, %v per run, %d rounds, GOMAXPROCS of Caddy = all cores\n\n",
		len(pages), float64(totalSize(pages))/1e6, *conc, *dur, *rounds)
	fmt.Println("| upstream | config | req/s (median) | p50 | p99 | ratio (req/s) | Caddy CPU per response (median) | ratio (CPU) | Caddy allocations per response | GCs per 1000 responses |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, kind := range strings.Split(*upstreams, ",") {
		var rps, cpu, alloc, gcs [2][]float64
		var p50, p99 [2][]time.Duration
		for r := 0; r < *rounds; r++ {
			// Alternate the order so drift on this shared machine hits both.
			order := []int{0, 1}
			if r%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				name := kind + []string{"/replay", "/baseline"}[i]
				var prof sync.WaitGroup
				if *profDir != "" && r == 0 {
					prof.Add(1)
					go func() {
						defer prof.Done()
						saveProfile(admin, *dur-time.Second, filepath.Join(*profDir, strings.ReplaceAll(name, "/", "-")+".pprof"))
					}()
				}
				c0 := cpuTime(cmd.Process.Pid)
				m0 := memStats(admin)
				res := load(fmt.Sprintf("http://127.0.0.1:%d", ports[name]), pages, *conc, *dur)
				cpu[i] = append(cpu[i], float64((cpuTime(cmd.Process.Pid)-c0).Microseconds())/float64(res.n))
				rps[i] = append(rps[i], res.rps)
				p50[i] = append(p50[i], res.p50)
				p99[i] = append(p99[i], res.p99)
				m1 := memStats(admin)
				alloc[i] = append(alloc[i], float64(m1.TotalAlloc-m0.TotalAlloc)/1024/float64(res.n))
				gcs[i] = append(gcs[i], float64(m1.NumGC-m0.NumGC)*1000/float64(res.n))
				prof.Wait()
			}
		}
		ratio := median(rps[0]) / median(rps[1])
		for i, cfgName := range []string{"replay + reverse_proxy", "reverse_proxy (baseline)"} {
			r, rc := "", ""
			if i == 0 {
				r = fmt.Sprintf("**%.2f**", ratio)
				rc = fmt.Sprintf("%.2f", median(cpu[0])/median(cpu[1]))
			}
			fmt.Printf("| %s | %s | %.0f | %v | %v | %s | %.0f µs | %s | %.1f KB | %.1f |\n", kind, cfgName, median(rps[i]), medianD(p50[i]).Round(10*time.Microsecond), medianD(p99[i]).Round(10*time.Microsecond), r, median(cpu[i]), rc, median(alloc[i]), median(gcs[i]))
		}
	}
}

type memstats struct{ TotalAlloc, NumGC, PauseTotalNs uint64 }

// memStats reads Caddy's runtime memory statistics (expvar) from the admin
// endpoint: allocations and collections per response tell whether the
// garbage a handler makes costs the proxy more collections.
func memStats(admin string) memstats {
	var v struct{ Memstats memstats }
	resp, err := http.Get("http://" + admin + "/debug/vars")
	if err != nil {
		log.Printf("memstats: %v", err)
		return memstats{}
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		log.Printf("memstats: %v", err)
	}
	return v.Memstats
}

// saveProfile fetches a CPU profile of d from Caddy's admin endpoint
// and writes it to path (for `go tool pprof`).
func saveProfile(admin string, d time.Duration, path string) {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, int(d.Seconds())))
	if err != nil {
		log.Printf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		log.Printf("profile: %v", err)
	}
}

// clientGzip is whether the load generator asks for gzip (-encode).
var clientGzip bool

type result struct {
	rps      float64
	p50, p99 time.Duration
	n        int64 // responses
}

// load runs conc clients against base for d, cycling through the corpus
// pages as navigations (so replay injects), and returns the throughput
// and latency percentiles. It stops by itself.
func load(base string, pages []page, conc int, d time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	deadline := time.Now().Add(d)
	var n atomic.Int64
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; time.Now().Before(deadline); i++ {
				p := pages[i%len(pages)]
				req, _ := http.NewRequest("GET", base+"/"+p.name, nil)
				req.Header.Set("Accept", "text/html,application/xhtml+xml")
				if clientGzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				req.Header.Set("Sec-Fetch-Dest", "document")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					log.Fatalf("%s: %v", req.URL, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					log.Fatalf("%s: status %d", req.URL, resp.StatusCode)
				}
				lat[c] = append(lat[c], time.Since(t0))
				n.Add(1)
			}
		}(c)
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return result{
		rps: float64(n.Load()) / d.Seconds(),
		n:   n.Load(),
		p50: all[len(all)/2],
		p99: all[len(all)*99/100],
	}
}

type page struct {
	name       string
	body, gzip []byte
}

func loadCorpus(dir string) []page {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Fatalf("reading the corpus (run from the repository root, with ../shared beside it): %v", err)
	}
	var pages []page
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".html") || strings.HasPrefix(e.Name(), "h5e_") {
			continue // h5e_* are fragments, not documents
		}
		body := must(os.ReadFile(filepath.Join(dir, e.Name())))
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		zw.Write(body)
		zw.Close()
		pages = append(pages, page{name: e.Name(), body: body, gzip: gz.Bytes()})
	}
	return pages
}

func totalSize(pages []page) (n int) {
	for _, p := range pages {
		n += len(p.body)
	}
	return n
}

// startUpstream serves the corpus; X-Kind (set by the proxy) selects how
// it compresses.
func startUpstream(pages []page) net.Listener {
	byName := map[string]page{}
	for _, p := range pages {
		byName[p.name] = p
	}
	l := must(net.Listen("tcp", "127.0.0.1:0"))
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := byName[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		kind := r.Header.Get("X-Kind")
		if kind == "gzip-always" || (kind == "gzip" && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", fmt.Sprint(len(p.gzip)))
			w.Write(p.gzip)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(p.body)))
		w.Write(p.body)
	}))
	return l
}

// cpuTime is the user + system CPU time the process has used so far, from
// /proc (Linux): Caddy's own cost per response, apart from the load
// generator and the upstream, which share the machine's cores with it.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// usedPorts are the ports freePort gave out: one freed a moment ago can
// come back, and two sites on one port make an ambiguous Caddyfile.
var usedPorts = map[int]bool{}

func freePort() int {
	for {
		l := must(net.Listen("tcp", "127.0.0.1:0"))
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !usedPorts[p] {
			usedPorts[p] = true
			return p
		}
	}
}

func waitPort(p int) {
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("Caddy did not listen on %d", p)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func medianD(v []time.Duration) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
