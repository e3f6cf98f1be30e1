package inject

import (
	"net/http"
	"strings"
	"testing"
)

const (
	src   = "https://example.com/__replay/"
	integ = "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"
)

func TestCSPHeaders(t *testing.T) {
	needs := newCSPNeeds("https", "example.com", "/__replay/", integ)
	cases := []struct {
		name       string
		csp, ro    []string // header values
		wantCSP    []string
		wantRO     []string
		wantNonce  string
		wantInteg  bool
		wantReject bool
	}{
		{name: "no policy: nothing to do"},
		{name: "'self' allows everything we load",
			csp: []string{"default-src 'self'"}, wantCSP: []string{"default-src 'self'"}},
		{name: "directives that do not restrict us are left alone",
			csp: []string{"img-src 'none'; style-src 'self'"}, wantCSP: []string{"img-src 'none'; style-src 'self'"}},
		{name: "default-src 'none': specific directives are created, the fallback is not widened",
			csp:     []string{"default-src 'none'"},
			wantCSP: []string{"default-src 'none'; script-src " + src + "; connect-src " + src}},
		{name: "a trailing ';' stays last",
			csp:     []string{"default-src 'none';"},
			wantCSP: []string{"default-src 'none'; script-src " + src + "; connect-src " + src + ";"}},
		{name: "created directives copy the fallback's sources",
			csp:     []string{"default-src https://cdn.example"},
			wantCSP: []string{"default-src https://cdn.example; script-src https://cdn.example " + src + "; connect-src https://cdn.example " + src}},
		{name: "host-based script-src and connect-src get our source appended; worker-src falls back to the amended script-src",
			csp:     []string{"script-src https://cdn.example; connect-src https://api.example"},
			wantCSP: []string{"script-src https://cdn.example " + src + "; connect-src https://api.example " + src}},
		{name: "'none' is replaced, not kept beside a source",
			csp:     []string{"script-src 'self'; connect-src 'none'"},
			wantCSP: []string{"script-src 'self'; connect-src " + src}},
		{name: "script-src-elem is the directive for script elements",
			csp:     []string{"script-src-elem https://cdn.example; script-src 'self'"},
			wantCSP: []string{"script-src-elem https://cdn.example " + src + "; script-src 'self'"}},
		{name: "worker-src 'none' is replaced",
			csp:     []string{"script-src 'self'; worker-src 'none'"},
			wantCSP: []string{"script-src 'self'; worker-src " + src}},
		{name: "worker-src falls back to child-src",
			csp:     []string{"script-src 'self'; child-src 'none'"},
			wantCSP: []string{"script-src 'self'; child-src 'none'; worker-src " + src}},
		{name: "nonce policy: the nonce is reused, script-src untouched, the worker gets a URL-only worker-src",
			csp:       []string{"script-src 'nonce-r4nd0m' 'unsafe-inline'; object-src 'none'"},
			wantCSP:   []string{"script-src 'nonce-r4nd0m' 'unsafe-inline'; object-src 'none'; worker-src " + src},
			wantNonce: "r4nd0m"},
		{name: "nonce + 'self' (the demo's policy): nothing to add",
			csp:       []string{"default-src 'self'; script-src 'self' 'nonce-abc'; connect-src 'self'; object-src 'none'"},
			wantCSP:   []string{"default-src 'self'; script-src 'self' 'nonce-abc'; connect-src 'self'; object-src 'none'"},
			wantNonce: "abc"},
		{name: "'strict-dynamic' with a nonce: the nonce is the way in; workers started by scripts are allowed",
			csp:       []string{"script-src 'nonce-abc' 'strict-dynamic'; object-src 'none'; base-uri 'none'"},
			wantCSP:   []string{"script-src 'nonce-abc' 'strict-dynamic'; object-src 'none'; base-uri 'none'"},
			wantNonce: "abc"},
		{name: "hash-based 'strict-dynamic': our SRI hash is added and the tag gets integrity",
			csp:       []string{"script-src 'sha256-B2yPHKaXnvFWtRChIbabYmUBFZdVfKKXHbWtWidDVF8=' 'strict-dynamic'"},
			wantCSP:   []string{"script-src 'sha256-B2yPHKaXnvFWtRChIbabYmUBFZdVfKKXHbWtWidDVF8=' 'strict-dynamic' '" + integ + "'"},
			wantInteg: true},
		{name: "'strict-dynamic' with neither nonce nor hash cannot admit us: not injected, untouched",
			csp:     []string{"script-src 'strict-dynamic' https://cdn.example"},
			wantCSP: []string{"script-src 'strict-dynamic' https://cdn.example"}, wantReject: true},
		{name: "report-only policies are amended too",
			ro:     []string{"default-src 'none'; report-uri /csp"},
			wantRO: []string{"default-src 'none'; report-uri /csp; script-src " + src + "; connect-src " + src}},
		{name: "a report-only policy never prevents injection",
			ro: []string{"script-src 'strict-dynamic'"}, wantRO: []string{"script-src 'strict-dynamic'"}},
		{name: "several header fields: each policy amended",
			csp:     []string{"default-src 'self'", "script-src https://cdn.example"},
			wantCSP: []string{"default-src 'self'", "script-src https://cdn.example " + src}},
		{name: "comma-separated policies in one field",
			csp:     []string{"default-src 'self', connect-src 'none'"},
			wantCSP: []string{"default-src 'self', connect-src " + src}},
		{name: "two nonces: the first is reused, the other policy gets our source",
			csp:       []string{"script-src 'nonce-aaa'", "script-src 'nonce-bbb'"},
			wantCSP:   []string{"script-src 'nonce-aaa'; worker-src " + src, "script-src 'nonce-bbb' " + src},
			wantNonce: "aaa"},
		{name: "duplicate directives: the first counts",
			csp: []string{"script-src 'self'; script-src 'none'"}, wantCSP: []string{"script-src 'self'; script-src 'none'"}},
		{name: "names and keywords are case-insensitive",
			csp: []string{"SCRIPT-SRC 'SELF'; Connect-Src 'Self'"}, wantCSP: []string{"SCRIPT-SRC 'SELF'; Connect-Src 'Self'"}},
		{name: "scheme sources: https: and http: (upgraded) allow us",
			csp: []string{"script-src https:; connect-src http:"}, wantCSP: []string{"script-src https:; connect-src http:"}},
		{name: "host sources that cover our path allow us",
			csp:     []string{"script-src example.com; connect-src https://example.com/__replay/; worker-src *"},
			wantCSP: []string{"script-src example.com; connect-src https://example.com/__replay/; worker-src *"}},
		{name: "host sources that do not cover us",
			csp:     []string{"script-src *.example.com; connect-src https://example.com/api/"},
			wantCSP: []string{"script-src *.example.com " + src + "; connect-src https://example.com/api/ " + src}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range c.csp {
				h.Add("Content-Security-Policy", v)
			}
			for _, v := range c.ro {
				h.Add("Content-Security-Policy-Report-Only", v)
			}
			_, tc, ok := amendCSPHeaders(h, needs)
			if ok == c.wantReject {
				t.Fatalf("ok = %v", ok)
			}
			if got := h.Values("Content-Security-Policy"); strings.Join(got, "|") != strings.Join(c.wantCSP, "|") {
				t.Errorf("CSP\n got: %q\nwant: %q", got, c.wantCSP)
			}
			if got := h.Values("Content-Security-Policy-Report-Only"); strings.Join(got, "|") != strings.Join(c.wantRO, "|") {
				t.Errorf("CSP-Report-Only\n got: %q\nwant: %q", got, c.wantRO)
			}
			if tc.Nonce != c.wantNonce || (tc.Integrity == integ) != c.wantInteg {
				t.Errorf("tag context %+v, want nonce %q integrity %v", tc, c.wantNonce, c.wantInteg)
			}
		})
	}
}

func TestCSPPorts(t *testing.T) {
	needs := newCSPNeeds("http", "localhost:8080", "/__replay/", "")
	if needs.source != "http://localhost:8080/__replay/" {
		t.Fatalf("source %q", needs.source)
	}
	for tok, want := range map[string]bool{
		"http://localhost:8080":  true,
		"localhost:8080":         true,
		"http://localhost:*":     true,
		"http://localhost":       false, // port 80
		"https://localhost:8080": false, // https does not match http
		"http://127.0.0.1:8080":  false,
	} {
		if got := sourceMatches(tok, needs); got != want {
			t.Errorf("%q matches = %v, want %v", tok, got, want)
		}
	}
	n443 := newCSPNeeds("https", "example.com:443", "/r/", "")
	if n443.source != "https://example.com/r/" {
		t.Errorf("default port kept in %q", n443.source)
	}
	if !sourceMatches("http://example.com:80", n443) {
		t.Error("http://host:80 should match https://host (upgrade)")
	}
}

// TestMetaCSP covers policies in <meta http-equiv>.
func TestMetaCSP(t *testing.T) {
	page := mustURL(t, "https://example.com/p")
	// Without <meta charset>, the tag goes right after <head>, before the
	// policies, which then do not apply to it; they are amended anyway
	// for what the recorder does later (connect, workers).
	cases := []struct{ name, in, want string }{
		{"amended in place",
			`<head><meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src 'none'"><title>`,
			`<head>[T]<meta http-equiv="Content-Security-Policy" content="default-src 'self'; connect-src ` + src + `"><title>`},
		{"single-quoted content with character references",
			`<head><meta http-equiv=content-security-policy content='script-src &#39;self&#39; https://cdn; connect-src https://api'><title>`,
			`<head>[T]<meta http-equiv=content-security-policy content='script-src &#39;self&#39; https://cdn; connect-src https://api ` + src + `'><title>`},
		{"unquoted content gets quoted",
			`<head><meta http-equiv=Content-Security-Policy content=connect-src><title>`,
			`<head>[T]<meta http-equiv=Content-Security-Policy content="connect-src ` + src + `"><title>`},
		{"an unrestrictive meta policy is untouched",
			`<head><meta http-equiv="Content-Security-Policy" content="img-src 'self'"><title>`,
			`<head>[T]<meta http-equiv="Content-Security-Policy" content="img-src 'self'"><title>`},
		{"after the injection too (connect-src applies later)",
			`<head><meta charset=utf-8><meta http-equiv="Content-Security-Policy" content="connect-src 'self' https://api">`,
			`<head><meta charset=utf-8>[T]<meta http-equiv="Content-Security-Policy" content="connect-src 'self' https://api">`},
		{"after the injection, a restrictive one",
			`<head><meta charset=utf-8><meta http-equiv="Content-Security-Policy" content="connect-src https://api">`,
			`<head><meta charset=utf-8>[T]<meta http-equiv="Content-Security-Policy" content="connect-src https://api ` + src + `">`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := rewriteAllSplits(t, c.in, RewriteOptions{Tag: markTag, PageURL: page})
			if res.out != c.want {
				t.Errorf("\n got: %q\nwant: %q", res.out, c.want)
			}
		})
	}
}

// TestMetaCSPNonce checks that a nonce in a <meta> policy before the
// injection point is reused on the tag, and that a hash-based
// strict-dynamic meta policy gets the hash and the tag integrity.
func TestMetaCSPNonce(t *testing.T) {
	page := mustURL(t, "https://example.com/p")
	in := `<head><meta http-equiv="Content-Security-Policy" content="script-src 'nonce-m3ta' 'strict-dynamic'"><meta charset="utf-8"><script nonce="m3ta"></script>`
	res := rewriteAllSplits(t, in, RewriteOptions{Tag: testTag, PageURL: page, ScriptIntegrity: integ})
	if !strings.Contains(res.out, `<meta charset="utf-8"><script async="" src="`+testScript+`" nonce="m3ta" data-service="shop"></script>`) {
		t.Errorf("nonce not reused: %q", res.out)
	}
	if res.count("csp") != 0 {
		t.Errorf("a nonce policy that admits the tag must not be edited: %q", res.out)
	}

	in = `<head><meta http-equiv="Content-Security-Policy" content="script-src 'sha256-abc=' 'strict-dynamic'"><meta charset="utf-8">`
	res = rewriteAllSplits(t, in, RewriteOptions{Tag: testTag, PageURL: page, ScriptIntegrity: integ})
	if !strings.Contains(res.out, `integrity="`+integ+`"`) || !strings.Contains(res.out, `'strict-dynamic' '`+integ+`'"`) {
		t.Errorf("hash-based strict-dynamic: %q", res.out)
	}

	in = `<head><meta http-equiv="Content-Security-Policy" content="script-src 'strict-dynamic'"><meta charset="utf-8">`
	res = rewriteAllSplits(t, in, RewriteOptions{Tag: testTag, PageURL: page, ScriptIntegrity: integ})
	if res.rw.Injected() || !res.rw.Blocked() || res.out != in {
		t.Errorf("a strict-dynamic meta policy without nonce or hash must prevent injection: %q", res.out)
	}

	// A policy after our tag does not apply to it: no nonce needed.
	in = `<head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="script-src 'nonce-late'">`
	res = rewriteAllSplits(t, in, RewriteOptions{Tag: testTag, PageURL: page})
	if strings.Contains(res.out, `nonce="late"`) || !res.rw.Injected() {
		t.Errorf("late meta policy: %q", res.out)
	}
}

// TestHeaderNonceReachesTag checks that the nonce decided from the
// response headers is on the tag.
func TestHeaderNonceReachesTag(t *testing.T) {
	res := rewrite(t, `<html><head><meta charset=utf-8>`, RewriteOptions{
		Tag: testTag, PageURL: mustURL(t, "https://example.com/"),
		CSP: []string{"script-src 'nonce-h3ader'"},
	})
	if !strings.Contains(res.out, `nonce="h3ader"`) {
		t.Errorf("%q", res.out)
	}
}
