package inject

import (
	"bytes"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// corpusOptions are the options the corpus pages are rewritten with: each
// page "served" from its own site, with one listed CDN origin.
func corpusOptions(t testing.TB, name string) RewriteOptions {
	site := map[string]string{
		"caddy_home.html":         "https://caddyserver.com/",
		"minify_amazon.html":      "http://www.amazon.com/",
		"lol_cloudflare.com.html": "https://www.cloudflare.com/",
	}[name]
	if site == "" {
		site = "https://example.com/dir/page.html"
	}
	return RewriteOptions{
		Tag:                testTag,
		PageURL:            mustURL(t, site),
		CrossOriginOrigins: []string{"https://cdn.jsdelivr.net", "http://z-ecx.images-amazon.com"},
	}
}

// randomSplits returns increasing split offsets of random sizes (1 byte to
// 8 KiB) over n bytes.
func randomSplits(rng *rand.Rand, n int) []int {
	var s []int
	for at := 0; ; {
		at += 1 + rng.Intn(8<<10)
		if at >= n {
			return s
		}
		s = append(s, at)
	}
}

// TestCorpus runs every corpus page through the rewriter, whole and in
// random-size writes: exactly one injection, in <head> as a real parser
// sees it, the rest byte for byte, and crossorigin exactly where an
// independent oracle (x/net/html's tokenizer and net/url) says it belongs.
func TestCorpus(t *testing.T) {
	pages := corpus(t)
	rng := rand.New(rand.NewSource(1))
	marked := 0
	defer func() {
		// The oracle must have had something to agree with.
		if marked < 20 {
			t.Errorf("only %d crossorigin attributes over the corpus", marked)
		}
	}()
	for _, name := range sortedNames(pages) {
		t.Run(name, func(t *testing.T) {
			in := string(pages[name])
			opts := corpusOptions(t, name)
			res := rewrite(t, in, opts)
			for i := 0; i < 5; i++ {
				if got := rewrite(t, in, opts, randomSplits(rng, len(in))...); got.out != res.out {
					t.Fatalf("random writes (round %d) gave another output", i)
				}
			}
			if res.count("tag") != 1 || !res.rw.Injected() {
				t.Fatalf("%d injections", res.count("tag"))
			}
			checkTagInHead(t, res.out)
			checkCharsetWindow(t, in, res.out)
			checkCrossorigin(t, in, opts, res)
			marked += res.count("crossorigin")
		})
	}
}

// checkTagInHead parses the output like a browser and checks that our
// script is an element of <head>.
func checkTagInHead(t *testing.T, out string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Script {
			for _, a := range n.Attr {
				if a.Key == "src" && a.Val == testScript {
					found = n
				}
			}
		}
		for c := n.FirstChild; c != nil && found == nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		t.Fatal("a parser does not find our script element")
	}
	if found.Parent == nil || found.Parent.DataAtom != atom.Head {
		t.Errorf("our script is in <%s>, not in <head>", found.Parent.Data)
	}
}

var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset`)

// checkCharsetWindow checks that a <meta charset> within the first 1024
// bytes stays there.
func checkCharsetWindow(t *testing.T, in, out string) {
	t.Helper()
	loc := metaCharset.FindStringIndex(in)
	if loc == nil || loc[0] >= charsetWindow {
		return
	}
	end := loc[0] + strings.IndexByte(in[loc[0]:], '>') + 1
	if end > charsetWindow {
		return
	}
	if oloc := metaCharset.FindStringIndex(out); oloc == nil || oloc[0]+(end-loc[0]) > charsetWindow {
		t.Errorf("the <meta charset> at %d was pushed out of the first %d bytes", loc[0], charsetWindow)
	}
}

// checkCrossorigin compares the crossorigin edits with an oracle built on
// x/net/html's tokenizer (which follows the spec's raw-text rules) and
// net/url: every eligible link gets the attribute, nothing else does.
func checkCrossorigin(t *testing.T, in string, opts RewriteOptions, res result) {
	t.Helper()
	edited := map[int64]bool{}
	for _, e := range res.edits {
		if e.kind == "crossorigin" {
			edited[e.inOff-int64(len("<link"))] = true
		}
	}
	allowed := map[string]bool{normOrigin(opts.PageURL.Scheme, opts.PageURL.Host).String(): true}
	for _, o := range opts.CrossOriginOrigins {
		po, _ := parseOrigin(o)
		allowed[po.String()] = true
	}
	base := opts.PageURL
	baseSeen := false
	template := 0
	z := html.NewTokenizer(strings.NewReader(in))
	var off int64
	want := map[int64]bool{}
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := int64(len(z.Raw()))
		tok := z.Token()
		switch {
		case tt == html.StartTagToken && tok.DataAtom == atom.Template:
			template++
		case tt == html.EndTagToken && tok.DataAtom == atom.Template && template > 0:
			template--
		case (tt == html.StartTagToken || tt == html.SelfClosingTagToken) && tok.DataAtom == atom.Base && !baseSeen:
			if href, ok := attr(tok, "href"); ok {
				baseSeen = true
				if u, err := base.Parse(strings.TrimSpace(href)); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
					base = u
				}
			}
		case (tt == html.StartTagToken || tt == html.SelfClosingTagToken) && tok.DataAtom == atom.Link && template == 0:
			if oracleWantsCrossorigin(tok, base, allowed) {
				want[off] = true
			}
		}
		off += raw
	}
	for o := range want {
		if !edited[o] {
			t.Errorf("link at %d should get crossorigin: %.200q", o, in[o:])
		}
	}
	for o := range edited {
		if !want[o] {
			t.Errorf("link at %d got crossorigin but should not: %.200q", o, in[o:])
		}
	}
}

func attr(tok html.Token, name string) (string, bool) {
	for _, a := range tok.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func oracleWantsCrossorigin(tok html.Token, base *url.URL, allowed map[string]bool) bool {
	if _, ok := attr(tok, "crossorigin"); ok {
		return false
	}
	rel, _ := attr(tok, "rel")
	as, _ := attr(tok, "as")
	rels := strings.Fields(strings.ToLower(rel))
	eligible := false
	for _, r := range rels {
		if r == "stylesheet" {
			eligible = true
		}
		if r == "preload" && (strings.EqualFold(strings.TrimSpace(as), "font") || strings.EqualFold(strings.TrimSpace(as), "style")) {
			eligible = true
		}
	}
	href, _ := attr(tok, "href")
	href = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		if r == '\\' {
			return '/'
		}
		return r
	}, strings.TrimSpace(href))
	if !eligible || href == "" {
		return false
	}
	u, err := base.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return allowed[normOrigin(u.Scheme, u.Host).String()]
}

// TestCorpusSpecialPages covers the pages the corpus README singles out.
func TestCorpusSpecialPages(t *testing.T) {
	pages := corpus(t)
	page := func(name string) string { return string(pages[name]) }

	t.Run("nonce reuse (lol_cloudflare.com)", func(t *testing.T) {
		in := page("lol_cloudflare.com.html")
		nonce := regexp.MustCompile(`nonce="([^"]+)"`).FindStringSubmatch(in)[1]
		opts := corpusOptions(t, "lol_cloudflare.com.html")
		opts.CSP = []string{"script-src 'nonce-" + nonce + "' 'strict-dynamic'; object-src 'none'"}
		res := rewrite(t, in, opts)
		if !strings.Contains(res.out, `src="`+testScript+`" nonce="`+nonce+`"`) {
			t.Errorf("the page's nonce %q is not on our tag", nonce)
		}
	})
	t.Run("no <head> (lol_html-parsing-spec)", func(t *testing.T) {
		in := page("lol_html-parsing-spec.html")
		if regexp.MustCompile(`(?i)<head[\s>]`).MatchString(in) {
			t.Fatal("the corpus page changed: it should have no <head>")
		}
		res := rewrite(t, in, corpusOptions(t, "lol_html-parsing-spec.html"))
		if at := tagAt(res.out); at < 0 || at > 200 {
			t.Errorf("tag at %d, want early", at)
		}
		checkTagInHead(t, res.out)
	})
	for _, name := range []string{"lol_ecma402-spec.html", "gumbo_google.html"} {
		t.Run("late </head> ("+name+")", func(t *testing.T) {
			in := page(name)
			if strings.Index(strings.ToLower(in), "</head>") < 60000 {
				t.Fatal("the corpus page changed: </head> should be 60+ KB in")
			}
			var out bytes.Buffer
			rw := NewRewriter(&out, corpusOptions(t, name))
			maxHeld := 0
			for i := 0; i < len(in); i += 4096 {
				rw.Write([]byte(in[i:min(i+4096, len(in))]))
				maxHeld = max(maxHeld, len(rw.hold)+len(rw.tagBuf))
			}
			rw.Close()
			if at := tagAt(out.String()); at < 0 || at > charsetWindow {
				t.Errorf("tag at %d: it must not wait for </head>", at)
			}
			if maxHeld > charsetWindow+maxTagSize {
				t.Errorf("held %d bytes", maxHeld)
			}
		})
	}
	t.Run("no early <meta charset>, <link> in <body> (minify_amazon)", func(t *testing.T) {
		in := page("minify_amazon.html")
		res := rewrite(t, in, corpusOptions(t, "minify_amazon.html"))
		headEnd := strings.Index(res.out, "<head>") + len("<head>")
		if tagAt(res.out) != headEnd {
			t.Errorf("tag at %d, want right after <head> at %d", tagAt(res.out), headEnd)
		}
		body := strings.Index(strings.ToLower(res.out), "<body")
		var inBody bool
		for _, e := range res.edits {
			if e.kind == "crossorigin" && int(e.inOff) > body {
				inBody = true
			}
		}
		if !inBody {
			t.Error("the stylesheet link in <body> did not get crossorigin")
		}
	})
	t.Run("windows-1256 (gumbo_arabic_newspapers)", func(t *testing.T) {
		in := page("gumbo_arabic_newspapers.html")
		res := rewrite(t, in, corpusOptions(t, "gumbo_arabic_newspapers.html"))
		decl := `<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">`
		if !strings.Contains(res.out, decl+string(testTag(TagContext{}))) {
			t.Error("tag not right after the charset declaration")
		}
	})
	t.Run("existing crossorigin kept (caddy_home)", func(t *testing.T) {
		in := page("caddy_home.html")
		res := rewrite(t, in, corpusOptions(t, "caddy_home.html"))
		if strings.Contains(res.out, `crossorigin="anonymous" rel="preconnect" href="https://fonts.gstatic.com" crossorigin`) {
			t.Error("crossorigin added twice")
		}
		if !strings.Contains(res.out, `<link crossorigin="anonymous" rel="stylesheet" href="/resources/css/common.css?v=378d6d0">`) ||
			!strings.Contains(res.out, `<link crossorigin="anonymous" rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@docsearch/css@3">`) {
			t.Error("same-origin or listed stylesheet not marked")
		}
		if strings.Contains(res.out, `crossorigin="anonymous" href="https://fonts.googleapis.com`) {
			t.Error("unlisted origin marked")
		}
	})
	t.Run("font preload and CSP meta added in memory", func(t *testing.T) {
		for _, name := range []string{"minify_blogpost.html", "xnet_go1.html", "gumbo_wikipedia.html"} {
			in := page(name)
			i := strings.Index(in, "<head>") + len("<head>")
			extra := `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src 'none'">` +
				`<link rel="preload" href="/fonts/a.woff2" as="font" type="font/woff2">`
			in = in[:i] + extra + in[i:]
			res := rewrite(t, in, corpusOptions(t, name))
			if !strings.Contains(res.out, `content="default-src 'self'; connect-src https://example.com/__replay/"`) {
				t.Errorf("%s: meta policy not amended", name)
			}
			if !strings.Contains(res.out, `<link crossorigin="anonymous" rel="preload" href="/fonts/a.woff2"`) {
				t.Errorf("%s: font preload not marked", name)
			}
			if res.count("tag") != 1 {
				t.Errorf("%s: %d injections", name, res.count("tag"))
			}
		}
	})
}

// TestCorpusFragments serves the h5e_* fragments as htmx and Turbo
// fragments: they come back untouched.
func TestCorpusFragments(t *testing.T) {
	pages := corpus(t)
	in := newInjector(t, nil)
	for _, name := range sortedNames(pages) {
		if !strings.HasPrefix(name, "h5e_") {
			continue
		}
		for _, hdr := range []string{"HX-Request", "Turbo-Frame", "X-Requested-With"} {
			body := pages[name]
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/fragment", nil)
			r.Header.Set(hdr, "true")
			rw := in.Wrap(rec, r, true)
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
			rw.WriteHeader(http.StatusOK)
			io.Copy(rw, bytes.NewReader(body))
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec.Body.Bytes(), body) || rw.Outcome() != SkipFragment {
				t.Errorf("%s with %s: changed (outcome %s)", name, hdr, rw.Outcome())
			}
		}
	}
}
