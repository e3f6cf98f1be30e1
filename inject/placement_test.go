package inject

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// markTag is a short tag that keeps expected outputs readable.
func markTag(tc TagContext) []byte { return []byte("[T]") }

// rewriteAllSplits rewrites input whole, split at every offset, and byte
// by byte, and fails unless every way gives the same output.
func rewriteAllSplits(t *testing.T, input string, opts RewriteOptions) result {
	t.Helper()
	whole := rewrite(t, input, opts)
	for s := 1; s < len(input); s++ {
		if got := rewrite(t, input, opts, s); got.out != whole.out {
			t.Fatalf("split at %d: got %q, whole input gave %q", s, got.out, whole.out)
		}
	}
	var bytewise []int
	for s := 1; s < len(input); s++ {
		bytewise = append(bytewise, s)
	}
	if got := rewrite(t, input, opts, bytewise...); got.out != whole.out {
		t.Fatalf("byte by byte: got %q, whole input gave %q", got.out, whole.out)
	}
	return whole
}

func TestPlacement(t *testing.T) {
	long := strings.Repeat("x", 1100)
	cases := []struct {
		name, in, want string
	}{
		{"after <head>", `<html><head><title>x</title></head><body>hi</body></html>`,
			`<html><head>[T]<title>x</title></head><body>hi</body></html>`},
		{"after <meta charset>", `<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title>`,
			`<!DOCTYPE html><html><head><meta charset="utf-8">[T]<title>x</title>`},
		{"after <meta charset> that follows other metas", `<head><meta name=viewport content="width=device-width"><meta charset=utf-8><title>x</title>`,
			`<head><meta name=viewport content="width=device-width"><meta charset=utf-8>[T]<title>x</title>`},
		{"after <meta charset> that follows a title and links", "<head>\n<title>t</title>\n<link rel=icon href=/i.png>\n<meta charset=utf-8>\n<script></script>",
			"<head>\n<title>t</title>\n<link rel=icon href=/i.png>\n<meta charset=utf-8>[T]\n<script></script>"},
		{"after <meta http-equiv=Content-Type> with a charset", `<head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256"><title>x</title>`,
			`<head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">[T]<title>x</title>`},
		{"<meta http-equiv> without charset is not a charset declaration", `<head><meta http-equiv=refresh content=5><meta charset=utf-8>`,
			`<head><meta http-equiv=refresh content=5><meta charset=utf-8>[T]`},
		{"<meta charset> past 1024 bytes: right after <head>", `<head><title>` + long + `</title><meta charset=utf-8>`,
			`<head>[T]<title>` + long + `</title><meta charset=utf-8>`},
		{"<head> past 1024 bytes: right after it", `<!--` + long + `--><html><head><meta charset=utf-8>`,
			`<!--` + long + `--><html><head>[T]<meta charset=utf-8>`},
		{"a script before <meta charset>: before the script", `<head><script src=a.js></script><meta charset=utf-8>`,
			`<head>[T]<script src=a.js></script><meta charset=utf-8>`},
		{"a style before <meta charset>: before the style", `<head><style>p{}</style><meta charset=utf-8>`,
			`<head>[T]<style>p{}</style><meta charset=utf-8>`},
		{"<base> before <meta charset>: before <base>", `<head><base href="https://cdn.example/"><meta charset=utf-8>`,
			`<head>[T]<base href="https://cdn.example/"><meta charset=utf-8>`},
		{"<base> after <meta charset>: after the meta, still before <base>", `<head><meta charset=utf-8><base href="https://cdn.example/">`,
			`<head><meta charset=utf-8>[T]<base href="https://cdn.example/">`},
		{"</head> ends the search", `<head><title>x</title></head><body><meta charset=utf-8>`,
			`<head>[T]<title>x</title></head><body><meta charset=utf-8>`},
		{"text in <head> ends it", `<head><title>x</title>hello<meta charset=utf-8>`,
			`<head>[T]<title>x</title>hello<meta charset=utf-8>`},
		{"no <head>: before the first head element", `<!doctype html><html><title>x</title><body>`,
			`<!doctype html><html>[T]<title>x</title><body>`},
		{"no <head> nor <html>: after <meta charset>", `<!doctype html><meta charset=utf-8><title>x</title><p>`,
			`<!doctype html><meta charset=utf-8>[T]<title>x</title><p>`},
		{"no <head>: before <body>", `<!doctype html><html><body><p>x`,
			`<!doctype html><html>[T]<body><p>x`},
		{"no <html>, <head> or <body>: before the first element", "\n<!-- c --> \n<p>x",
			"\n<!-- c --> \n[T]<p>x"},
		{"no elements: before the first text", `<!doctype html>hello`,
			`<!doctype html>[T]hello`},
		{"a '<' that starts no tag is text", `<!doctype html>< b`,
			`<!doctype html>[T]< b`},
		{"<head> inside a comment is not <head>", `<!-- <head> --><html><head><meta charset=utf-8>`,
			`<!-- <head> --><html><head><meta charset=utf-8>[T]`},
		{"conditional comments before <html>", `<!--[if IE]><html class=ie><![endif]--><!--[if !IE]><!--><html><!--<![endif]--><head><title>`,
			`<!--[if IE]><html class=ie><![endif]--><!--[if !IE]><!--><html><!--<![endif]--><head>[T]<title>`},
		{"abrupt comments", `<!--><!---><html><head>x`, `<!--><!---><html><head>[T]x`},
		{"comment ending with --!>", `<!-- a --!><head>x`, `<!-- a --!><head>[T]x`},
		{"UTF-8 byte order mark stays first", "\xEF\xBB\xBF<!DOCTYPE html><p>x", "\xEF\xBB\xBF<!DOCTYPE html>[T]<p>x"},
		{"UTF-8 byte order mark before text", "\xEF\xBB\xBFhello", "\xEF\xBB\xBF[T]hello"},
		{"UTF-16 documents are left alone", "\xFF\xFE<\x00h\x00t\x00m\x00l\x00>\x00", "\xFF\xFE<\x00h\x00t\x00m\x00l\x00>\x00"},
		{"upper-case tags", `<HTML><HEAD><META CHARSET="UTF-8"><TITLE>x</TITLE>`,
			`<HTML><HEAD><META CHARSET="UTF-8">[T]<TITLE>x</TITLE>`},
		{"attributes with '>' in quotes", `<html lang="a>b"><head data-x='<head>' class=a>x`,
			`<html lang="a>b"><head data-x='<head>' class=a>[T]x`},
		// A '>' ends a doctype even inside quotes (abrupt-doctype-public-
		// identifier): what follows is text, so body content.
		{"doctype ends at any '>'", `<!DOCTYPE html PUBLIC "a>b"><p>`, `<!DOCTYPE html PUBLIC "a>[T]b"><p>`},
		{"<title> is not searched", `<head><title><meta charset=utf-8></title></head>`,
			`<head>[T]<title><meta charset=utf-8></title></head>`},
		{"<noscript> in head ends the search", `<head><noscript><meta charset=x></noscript>`,
			`<head>[T]<noscript><meta charset=x></noscript>`},
		{"<template> in head: never inside it", `<head><template><meta charset=utf-8></template>`,
			`<head>[T]<template><meta charset=utf-8></template>`},
		{"<template> first: before it", `<template><p>x</template>`, `[T]<template><p>x</template>`},
		{"a <head> in a script in the body is not <head>", `<body><script>"<head>"</script>`,
			`[T]<body><script>"<head>"</script>`},
		{"XML declaration stays first", `<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>`,
			`<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head>[T]<title>x</title>`},
		{"frameset", `<html><frameset>`, `<html>[T]<frameset>`},
		{"svg first", `<svg><title>x</title></svg>`, `[T]<svg><title>x</title></svg>`},
		{"<plaintext>", `<plaintext><head>`, `[T]<plaintext><head>`},
		{"a second <head> is ignored", `<head><head><meta charset=x>`, `<head><head><meta charset=x>[T]`},
		{"end tags before <html> are ignored", `</p><html><head>x`, `</p><html><head>[T]x`},
		{"exactly once", `<head></head><head></head><body><head>`, `<head>[T]</head><head></head><body><head>`},
		{"white space only: at the end", "  \n", "  \n[T]"},
		{"comment only: at the end", "<!-- x -->", "<!-- x -->[T]"},
		{"empty document: nothing", "", ""},
		{"unterminated comment: nothing", "<!-- x", "<!-- x"},
		{"document cut inside a tag: before the tag", `<html><head><meta charset="utf`, `<html><head>[T]<meta charset="utf`},
		{"document cut inside a tag without <head>", `<html><p class="a`, `<html>[T]<p class="a`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := rewriteAllSplits(t, c.in, RewriteOptions{Tag: markTag})
			if res.out != c.want {
				t.Errorf("\n got: %q\nwant: %q", res.out, c.want)
			}
			if want := strings.Count(c.want, "[T]"); res.count("tag") != want || res.rw.Injected() != (want == 1) {
				t.Errorf("injections = %d (Injected %v), want %d", res.count("tag"), res.rw.Injected(), want)
			}
		})
	}
}

// TestPlacementXHTML checks that a self-closing <script/> in XHTML is an
// element, not the start of raw text.
func TestPlacementXHTML(t *testing.T) {
	in := `<html><head><script src="a.js"/><link rel="stylesheet" href="/s.css"/></head>`
	cdn := []string{"https://cdn.example.com"} // listed: same-origin links get crossorigin
	xhtml := rewrite(t, in, RewriteOptions{Tag: markTag, XHTML: true, PageURL: mustURL(t, "https://example.com/"), CrossOriginOrigins: cdn})
	if xhtml.count("crossorigin") != 1 {
		t.Errorf("XHTML: the link after <script/> was not seen: %q", xhtml.out)
	}
	html := rewrite(t, in, RewriteOptions{Tag: markTag, PageURL: mustURL(t, "https://example.com/"), CrossOriginOrigins: cdn})
	if html.count("crossorigin") != 0 {
		t.Errorf("HTML: <script/> starts raw text, its content must not be edited: %q", html.out)
	}
}

// TestFlushInjectsEarly checks that a Flush while looking for <meta
// charset> writes the head with our tag at once.
func TestFlushInjectsEarly(t *testing.T) {
	var out bytes.Buffer
	rw := NewRewriter(&out, RewriteOptions{Tag: markTag})
	if _, err := rw.Write([]byte("<!doctype html><html><head>")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "<!doctype html><html><head>" {
		t.Fatalf("before Flush, the rewriter should hold what follows <head>: %q", out.String())
	}
	if err := rw.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "<!doctype html><html><head>[T]" {
		t.Fatalf("after Flush: %q", out.String())
	}
	rw.Write([]byte(`<meta charset="utf-8"><title>x</title>`))
	rw.Close()
	if got := strings.Count(out.String(), "[T]"); got != 1 {
		t.Fatalf("%d injections: %q", got, out.String())
	}
}

// TestHoldIsBounded checks that what is held back while looking for
// <meta charset> never exceeds the charset window, and that a huge tag
// split across writes passes through unedited.
func TestHoldIsBounded(t *testing.T) {
	var out bytes.Buffer
	rw := NewRewriter(&out, RewriteOptions{Tag: markTag, PageURL: mustURL(t, "https://example.com/"), CrossOriginOrigins: []string{"https://cdn.example.com"}})
	rw.Write([]byte("<html><head><title>"))
	for i := 0; i < 100; i++ {
		rw.Write([]byte(strings.Repeat("t", 100)))
		if len(rw.hold) > charsetWindow {
			t.Fatalf("holding %d bytes", len(rw.hold))
		}
	}
	rw.Write([]byte("</title>"))
	big := `<link rel=stylesheet href="/a.css" data-x="` + strings.Repeat("y", 3*maxTagSize) + `">`
	for i := 0; i < len(big); i += 1000 {
		rw.Write([]byte(big[i:min(i+1000, len(big))]))
		if cap(rw.tagBuf) > 2*maxTagSize {
			t.Fatalf("tag buffer grew to %d", cap(rw.tagBuf))
		}
	}
	rw.Write([]byte(`<link rel=stylesheet href="/b.css">`))
	rw.Close()
	got := out.String()
	if !strings.Contains(got, big) {
		t.Error("the huge tag was not passed through unedited")
	}
	if !strings.Contains(got, `<link crossorigin="anonymous" rel=stylesheet href="/b.css">`) {
		t.Error("the link after the huge tag was not edited: the scanner lost track")
	}
}

// TestJSONServedAsHTML checks that a JSON body labelled text/html (PHP's
// default Content-Type, so common in APIs) is left alone: it is not
// markup, and a script tag before it (or a crossorigin attribute inside
// one of its strings) broke every client that parses it, native apps and
// server-to-server calls first, which send no Sec-Fetch-Dest to tell
// them apart from page views.
func TestJSONServedAsHTML(t *testing.T) {
	opts := RewriteOptions{Tag: markTag, PageURL: mustURL(t, "https://example.com/api"), CrossOriginOrigins: []string{"https://cdn.example.com"}}
	for _, in := range []string{
		`{"ok":true}`,
		" \r\n\t[1,2,3]\n",
		"\xEF\xBB\xBF{\"a\":1}",
		`{"html":"<head><link rel=stylesheet href=/a.css></head>"}`,
		`[{"meta":"<meta charset=utf-8>"}]`,
	} {
		res := rewriteAllSplits(t, in, opts)
		if res.out != in || res.rw.Injected() {
			t.Errorf("JSON changed:\n got: %q\nwant: %q", res.out, in)
		}
	}
	// An unrecorded visitor (no tag) gets no crossorigin attribute in it
	// either.
	noTag := opts
	noTag.Tag = nil
	in := ` {"html":"<link rel=stylesheet href=/a.css>"}`
	if res := rewriteAllSplits(t, in, noTag); res.out != in {
		t.Errorf("JSON changed without a tag:\n got: %q\nwant: %q", res.out, in)
	}
	// Through the ResponseWriter, as an API client without Sec-Fetch-*
	// headers asks for it.
	inj := newInjector(t, nil)
	rec := httptest.NewRecorder()
	rw := inj.Wrap(rec, httptest.NewRequest("GET", "/api/orders", nil), true)
	rw.Header().Set("Content-Type", "text/html; charset=UTF-8")
	rw.WriteHeader(http.StatusOK)
	body := `{"orders":[{"id":1,"note":"<link rel=stylesheet href=/x.css>"}]}`
	io.WriteString(rw, body)
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != body || rw.Outcome() != SkipNotHTML {
		t.Errorf("outcome %q, body %q", rw.Outcome(), rec.Body.String())
	}
	// Markup first: a document, whatever text follows.
	for in, want := range map[string]string{
		`<!doctype html>{"a":1}`: `<!doctype html>[T]{"a":1}`,
		`<!-- c -->[1]`:          `<!-- c -->[T][1]`,
		`hello {"a":1}`:          `[T]hello {"a":1}`,
	} {
		if res := rewriteAllSplits(t, in, opts); res.out != want {
			t.Errorf("\n got: %q\nwant: %q", res.out, want)
		}
	}
}
