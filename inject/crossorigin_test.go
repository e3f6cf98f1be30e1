package inject

import (
	"net/http"
	"strings"
	"testing"
)

func TestCrossorigin(t *testing.T) {
	opts := RewriteOptions{
		PageURL:            mustURL(t, "https://example.com/dir/page.html"),
		CrossOriginOrigins: []string{"https://cdn.example.com", "http://localhost:8082"},
	}
	cases := []struct {
		name, link string
		add        bool
	}{
		{"relative stylesheet", `<link rel=stylesheet href=a.css>`, true},
		{"root-relative stylesheet", `<link rel="stylesheet" href="/a.css">`, true},
		{"same origin, absolute", `<link rel=stylesheet href="https://example.com/a.css">`, true},
		{"same origin with the default port and upper case", `<link rel=stylesheet href="HTTPS://EXAMPLE.COM:443/a.css">`, true},
		{"listed origin", `<link rel=stylesheet href="https://cdn.example.com/a.css">`, true},
		{"listed origin with a port", `<link rel=stylesheet href="http://localhost:8082/theme.css">`, true},
		{"listed origin, scheme-relative", `<link rel=stylesheet href="//cdn.example.com/a.css">`, true},
		{"other scheme is another origin", `<link rel=stylesheet href="http://example.com/a.css">`, false},
		{"other port is another origin", `<link rel=stylesheet href="http://localhost:8083/theme.css">`, false},
		{"unlisted origin", `<link rel=stylesheet href="https://fonts.example.net/a.css">`, false},
		{"unlisted, scheme-relative", `<link rel=stylesheet href="//fonts.example.net/a.css">`, false},
		{"user info does not make it ours", `<link rel=stylesheet href="https://example.com@evil.example/a.css">`, false},
		{"backslashes are slashes to browsers", `<link rel=stylesheet href="\\evil.example/a.css">`, false},
		{"slash-backslash is scheme-relative", `<link rel=stylesheet href="/\evil.example/a.css">`, false},
		{"tabs and newlines are ignored in URLs", "<link rel=stylesheet href=\"//evil.exa\tmple/a.css\">", false},
		{"character references are decoded", `<link rel=stylesheet href="&#47;&#47;cdn.example.com/a.css">`, true},
		{"character references to another origin", `<link rel=stylesheet href="&#x2F;&#x2F;evil.example/a.css">`, false},
		{"data: URL", `<link rel=stylesheet href="data:text/css,p{}">`, false},
		{"no href", `<link rel=stylesheet>`, false},
		{"empty href", `<link rel=stylesheet href="  ">`, false},
		{"already crossorigin", `<link rel=stylesheet crossorigin href=/a.css>`, false},
		{"already crossorigin, other case and value", `<link rel=stylesheet href=/a.css CrossOrigin="use-credentials">`, false},
		{"alternate stylesheet", `<link rel="alternate stylesheet" href=/a.css title=b>`, true},
		{"rel in upper case", `<LINK REL=STYLESHEET HREF=/a.css>`, true},
		{"font preload", `<link rel=preload as=font type=font/woff2 href=/f.woff2>`, true},
		{"style preload (keeps the same CORS mode as its stylesheet)", `<link rel=preload href=/a.css as=style>`, true},
		{"script preload", `<link rel=preload as=script href=/a.js>`, false},
		{"modulepreload", `<link rel=modulepreload href=/a.js>`, false},
		{"icon", `<link rel=icon href=/i.png>`, false},
		{"SRI on a listed origin: crossorigin is what makes SRI work", `<link rel=stylesheet href="https://cdn.example.com/a.css" integrity="sha384-x">`, true},
		{"self-closing with an unquoted value ending in '/'", `<link rel=stylesheet href=/a.css/>`, true},
		{"the first rel counts", `<link rel=icon rel=stylesheet href=/a.css>`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := "<body>" + c.link
			res := rewriteAllSplits(t, in, opts)
			want := in
			if c.add {
				want = "<body>" + c.link[:len("<link")] + ` crossorigin="anonymous"` + c.link[len("<link"):]
			}
			if res.out != want {
				t.Errorf("\n got: %q\nwant: %q", res.out, want)
			}
		})
	}
}

// TestCrossoriginContext checks where links are not real links: inside
// raw text, comments, templates and escaped scripts. An origin is listed,
// so that the body is scanned (see TestBodyScannedOnlyForListedOrigins).
func TestCrossoriginContext(t *testing.T) {
	opts := RewriteOptions{PageURL: mustURL(t, "https://example.com/"), CrossOriginOrigins: []string{"https://cdn.example.com"}}
	link := `<link rel=stylesheet href=/a.css>`
	cases := []struct {
		name, in string
		adds     int
	}{
		{"in a script string", `<script>var s = "` + link + `";</script>` + link, 1},
		{"in a script, with a tricky end tag", `<script>"</scripts>` + link + `"</SCRIPT >` + link, 1},
		{"in an escaped script", `<script><!-- document.write("<script>` + link + `</script>"); --></script>` + link, 1},
		{"after '-->' the script is not escaped any more", `<script><!-- x --> "</script>` + link, 1},
		{"in a comment", `<!-- ` + link + ` -->` + link, 1},
		{"in a style", `<style>/* ` + link + ` */</style>` + link, 1},
		{"in a textarea", `<textarea>` + link + `</textarea>` + link, 1},
		{"in a title", `<title>` + link + `</title>` + link, 1},
		{"in noscript (raw text: scripting is on for recorded visitors)", `<noscript>` + link + `</noscript>` + link, 1},
		{"in a template (inert)", `<template>` + link + `<template>` + link + `</template></template>` + link, 1},
		{"in an attribute value", `<div title="` + link + `">` + link, 1},
		{"after plaintext nothing is markup", `<plaintext>` + link, 0},
		{"in a bogus comment", `<!` + link + link, 1}, // "<!<link ...>" ends at the first '>'
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := rewriteAllSplits(t, c.in, opts)
			if res.count("crossorigin") != c.adds {
				t.Errorf("%d crossorigin added, want %d: %q", res.count("crossorigin"), c.adds, res.out)
			}
		})
	}
}

// TestNothingListedChangesNoStylesheet: with no cross-origin origin
// listed, no stylesheet or style preload gets crossorigin, in the head, the
// body or a Link header (a same-origin stylesheet is readable without it,
// and all of them keep one CORS mode), and the body is copied unscanned;
// font preloads on the page's origin still get it (fonts are always
// fetched with CORS). With an origin listed, links to it and to the page's
// origin get it throughout the document.
func TestNothingListedChangesNoStylesheet(t *testing.T) {
	head := `<!doctype html><html><head><meta charset=utf-8><link rel=stylesheet href=/h.css><link rel=preload as=style href=/p.css><link rel=preload as=font href=/h.woff2 type=font/woff2></head>`
	for _, c := range []struct {
		name, body string
		listed     []string
		adds       int
	}{
		{"nothing listed", `<body><link rel=stylesheet href=/b.css><div><link rel=preload as=font href=/f.woff2></div>`, nil, 1},
		{"nothing listed, no <body> tag", `<div><link rel=preload as=font href=/f.woff2></div>`, nil, 1},
		{"nothing listed, a font preload between </head> and <body> is in the head", `<link rel=preload as=font href=/c.woff2><body><link rel=preload as=font href=/b.woff2>`, nil, 2},
		{"listed: the page's origin and the listed one, body included", `<body><link rel=stylesheet href=/b.css><link rel=stylesheet href=https://cdn.example.com/x.css><link rel=stylesheet href=https://other.example/y.css><div><link rel=preload as=font href=/f.woff2></div>`, []string{"https://cdn.example.com"}, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := rewriteAllSplits(t, head+c.body, RewriteOptions{PageURL: mustURL(t, "https://example.com/"), CrossOriginOrigins: c.listed})
			if n := res.count("crossorigin"); n != c.adds {
				t.Errorf("%d crossorigin added, want %d: %q", n, c.adds, res.out)
			}
		})
	}
	// Link headers follow the same rule.
	page := mustURL(t, "https://example.com/")
	h := http.Header{"Link": {`</a.css>; rel=preload; as=style, </f.woff2>; rel=preload; as=font`}}
	amendLinkHeaders(h, page, newOriginSet(page, nil))
	if got, want := h.Get("Link"), `</a.css>; rel=preload; as=style, </f.woff2>; rel=preload; as=font; crossorigin=anonymous`; got != want {
		t.Errorf("Link header with nothing listed:\n got: %s\nwant: %s", got, want)
	}
}

// TestCrossoriginBase checks that link URLs resolve against <base href>,
// and only for links after it.
func TestCrossoriginBase(t *testing.T) {
	opts := RewriteOptions{PageURL: mustURL(t, "https://example.com/"), CrossOriginOrigins: []string{"https://cdn.example.com"}}
	in := `<link rel=stylesheet href=a.css><base href="https://other.example/x/"><link rel=stylesheet href=b.css><link rel=stylesheet href="https://example.com/c.css">`
	res := rewriteAllSplits(t, in, opts)
	want := `<link crossorigin="anonymous" rel=stylesheet href=a.css><base href="https://other.example/x/"><link rel=stylesheet href=b.css><link crossorigin="anonymous" rel=stylesheet href="https://example.com/c.css">`
	if res.out != want {
		t.Errorf("\n got: %q\nwant: %q", res.out, want)
	}
	in = `<base href="//cdn.example.com/"><base href="https://other.example/"><link rel=stylesheet href=b.css>`
	if res := rewriteAllSplits(t, in, opts); res.count("crossorigin") != 1 {
		t.Errorf("the first <base href> counts, and it is a listed origin: %q", res.out)
	}
	in = `<base target=_blank><base href="https://other.example/"><link rel=stylesheet href=b.css>`
	if res := rewriteAllSplits(t, in, opts); res.count("crossorigin") != 0 {
		t.Errorf("the first <base> with an href counts: %q", res.out)
	}
	// A <base> in a <template> is inert: it is not in the document, so it
	// neither sets the base URL nor keeps a later <base> from setting it.
	// Taking it for the document's marked b.css, which the browser loads
	// from other.example: a CORS request that origin does not answer, and
	// the page lost its stylesheet.
	in = `<template><base href="/"></template><base href="https://other.example/"><link rel=stylesheet href=b.css>`
	if res := rewriteAllSplits(t, in, opts); res.count("crossorigin") != 0 {
		t.Errorf("a <base> in a <template> took for the document's: %q", res.out)
	}
	in = `<template><base href="https://other.example/"></template><link rel=stylesheet href=a.css>`
	if res := rewriteAllSplits(t, in, opts); res.count("crossorigin") != 1 {
		t.Errorf("a <base> in a <template> changed the base URL: %q", res.out)
	}
}

// TestCrossoriginWithInjection checks both edits in one document, with a
// nonce from the headers.
func TestCrossoriginWithInjection(t *testing.T) {
	in := `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/s.css"></head><body></body></html>`
	res := rewriteAllSplits(t, in, RewriteOptions{Tag: testTag, PageURL: mustURL(t, "https://example.com/"), CSP: []string{"script-src 'nonce-n1'"}, CrossOriginOrigins: []string{"https://cdn.example.com"}})
	want := `<!doctype html><html><head><meta charset="utf-8"><script async="" src="` + testScript + `" nonce="n1" data-service="shop"></script><link crossorigin="anonymous" rel="stylesheet" href="/s.css"></head><body></body></html>`
	if res.out != want {
		t.Errorf("\n got: %q\nwant: %q", res.out, want)
	}
	if !strings.Contains(res.out, "</script><link") {
		t.Error("tag misplaced")
	}
}
