package inject

import (
	"strings"
)

// This file amends Content-Security-Policy policies so that the recorder can
// run: its script must load (script-src), it must post segments
// (connect-src) and start its worker (worker-src). The rules, each a
// decision documented where it is made:
//
//   - A directive is amended only where the effective directive restricts
//     the request: script elements use script-src-elem → script-src →
//     default-src; workers use worker-src → child-src → script-src →
//     default-src; fetches use connect-src → default-src. A policy with
//     none of them is left alone.
//   - Nothing is added when the effective directive already allows our
//     URLs ('self', '*', a matching scheme or host source).
//   - We add the most precise source: the page's origin qualified with our
//     base path ("https://example.com/__replay/"), which matches nothing of
//     the application.
//   - When the effective directive is a fallback (default-src, child-src),
//     we create the specific directive as a copy of the fallback plus our
//     source, so that no other fetch of the page is widened.
//   - 'none' is replaced by our source ('none' next to a source is invalid).
//   - Nonces: when a script directive carries a nonce, our tag carries the
//     same nonce and the directive is not changed. We never add a nonce or
//     a hash to a directive that had none: that would disable its
//     'unsafe-inline'.
//   - 'strict-dynamic' makes host sources and 'self' ignored for script
//     elements, so the nonce is the only way in; a hash-based
//     'strict-dynamic' directive without nonce gets the recorder's SRI hash
//     (it already lists hashes, so 'unsafe-inline' is already off) and the
//     tag gets the matching integrity attribute. A 'strict-dynamic'
//     directive that has neither a nonce we can reuse nor hashes cannot
//     admit the recorder without weakening it: the page is not injected.
//     Workers started by a script are not "parser-inserted", so
//     'strict-dynamic' admits them: a worker directive that carries it is
//     left alone.
//   - Report-only policies are amended the same way, so that the recorder
//     never shows up in the site's violation reports; they never prevent
//     injection.
//   - Several policies (several header fields, or one field with
//     comma-separated policies) are amended one by one: a request must pass
//     all of them.

// cspNeeds describes what the recorder needs from the page's policies.
type cspNeeds struct {
	scheme    string // page scheme, lower case ("https")
	host      string // page host name, lower case, without port
	port      string // page port, explicit or the scheme's default
	basePath  string // where our files live, e.g. "/__replay/"
	source    string // the source expression we add: origin + basePath
	integrity string // the recorder's SRI value ("sha384-..."), "" if unknown
}

// newCSPNeeds derives the needs from the page's scheme and host (host may
// carry a port) and our base path.
func newCSPNeeds(scheme, hostport, basePath, integrity string) *cspNeeds {
	scheme = strings.ToLower(scheme)
	host, port := splitHostPort(strings.ToLower(hostport))
	if port == "" {
		port = defaultPort(scheme)
	}
	origin := scheme + "://" + host
	if port != defaultPort(scheme) {
		origin += ":" + port
	}
	if i := strings.IndexByte(integrity, ' '); i >= 0 {
		integrity = integrity[:i] // several SRI values: the first is ours
	}
	return &cspNeeds{
		scheme: scheme, host: host, port: port, basePath: basePath,
		source: origin + basePath, integrity: integrity,
	}
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// splitHostPort splits "host:port" and "[v6]:port"; the port is "" when
// absent.
func splitHostPort(hp string) (host, port string) {
	if strings.HasPrefix(hp, "[") {
		if i := strings.IndexByte(hp, ']'); i >= 0 {
			host, rest := hp[:i+1], hp[i+1:]
			if strings.HasPrefix(rest, ":") {
				return host, rest[1:]
			}
			return host, ""
		}
		return hp, ""
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 && strings.IndexByte(hp[:i], ':') < 0 {
		return hp[:i], hp[i+1:]
	}
	return hp, ""
}

// cspPolicy is one serialized policy, kept as its original directives so
// that an amended policy differs from the original only by what we add.
type cspPolicy struct {
	dirs       []*cspDirective
	reportOnly bool
	changed    bool
}

// cspDirective is one directive: its original text and what we add.
type cspDirective struct {
	raw     string   // original text (without ';'), "" for a created one
	name    string   // lower-case name
	tokens  []string // source expressions, as written
	dropped []string // tokens we removed ('none')
	added   []string // tokens we append
	created bool
}

// parseCSPList parses a header value that may hold several policies
// separated by commas.
func parseCSPList(value string, reportOnly bool) []*cspPolicy {
	var out []*cspPolicy
	for _, s := range strings.Split(value, ",") {
		p := parseCSP(s)
		p.reportOnly = reportOnly
		out = append(out, p)
	}
	return out
}

// parseCSP parses one serialized policy (CSP3 §2.2.1).
func parseCSP(s string) *cspPolicy {
	p := &cspPolicy{}
	for _, raw := range strings.Split(s, ";") {
		f := strings.FieldsFunc(raw, isASCIISpace)
		d := &cspDirective{raw: raw}
		if len(f) > 0 {
			d.name = strings.ToLower(f[0])
			d.tokens = f[1:]
		}
		p.dirs = append(p.dirs, d)
	}
	return p
}

func isASCIISpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r'
}

// String serializes the policy: untouched directives keep their exact
// text; amended ones get our tokens appended.
func (p *cspPolicy) String() string {
	var b strings.Builder
	for i, d := range p.dirs {
		if i > 0 {
			b.WriteByte(';')
		}
		switch {
		case d.created:
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(d.name)
			for _, t := range d.tokens {
				b.WriteByte(' ')
				b.WriteString(t)
			}
		case len(d.dropped) > 0:
			// Rewrite the directive from its tokens, keeping its leading
			// white space.
			b.WriteString(d.raw[:len(d.raw)-len(strings.TrimLeftFunc(d.raw, isASCIISpace))])
			b.WriteString(strings.Fields(d.raw)[0])
			for _, t := range d.tokens {
				b.WriteByte(' ')
				b.WriteString(t)
			}
			trail := d.raw[len(strings.TrimRightFunc(d.raw, isASCIISpace)):]
			b.WriteString(trail)
		case len(d.added) > 0:
			body := strings.TrimRightFunc(d.raw, isASCIISpace)
			b.WriteString(body)
			for _, t := range d.added {
				b.WriteByte(' ')
				b.WriteString(t)
			}
			b.WriteString(d.raw[len(body):])
		default:
			b.WriteString(d.raw)
		}
	}
	return b.String()
}

// directive returns the first directive with that name: duplicates are
// ignored by browsers.
func (p *cspPolicy) directive(name string) *cspDirective {
	for _, d := range p.dirs {
		if d.name == name {
			return d
		}
	}
	return nil
}

// effective returns the first directive present in a fallback chain.
func (p *cspPolicy) effective(chain ...string) *cspDirective {
	for _, n := range chain {
		if d := p.directive(n); d != nil {
			return d
		}
	}
	return nil
}

var (
	scriptChain  = []string{"script-src-elem", "script-src", "default-src"}
	workerChain  = []string{"worker-src", "child-src", "script-src", "default-src"}
	connectChain = []string{"connect-src", "default-src"}
)

func (d *cspDirective) has(keyword string) bool {
	for _, t := range d.tokens {
		if strings.EqualFold(t, keyword) {
			return true
		}
	}
	return false
}

// nonce returns the first nonce-source's value, or "".
func (d *cspDirective) nonce() string {
	for _, t := range d.tokens {
		if len(t) > len("'nonce-'") && hasPrefixFold(t, "'nonce-") && t[len(t)-1] == '\'' {
			return t[len("'nonce-") : len(t)-1]
		}
	}
	return ""
}

func (d *cspDirective) hasNonce(n string) bool {
	for _, t := range d.tokens {
		if len(t) == len("'nonce-'")+len(n) && hasPrefixFold(t, "'nonce-") && t[len("'nonce-"):len(t)-1] == n {
			return true
		}
	}
	return false
}

func (d *cspDirective) hasHash() bool {
	for _, t := range d.tokens {
		if hasPrefixFold(t, "'sha256-") || hasPrefixFold(t, "'sha384-") || hasPrefixFold(t, "'sha512-") {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// allows reports whether the directive already admits every URL under our
// base path.
func (d *cspDirective) allows(n *cspNeeds) bool {
	for _, t := range d.tokens {
		if sourceMatches(t, n) {
			return true
		}
	}
	return false
}

// sourceMatches implements enough of CSP3 §6.7.2.6–§6.7.2.12 to decide
// whether one source expression matches all of our URLs.
func sourceMatches(t string, n *cspNeeds) bool {
	lt := strings.ToLower(t)
	switch {
	case lt == "'self'", lt == "*":
		return true
	case strings.HasPrefix(lt, "'"):
		return false // keywords, nonces and hashes match no URL by themselves
	}
	// scheme-source: "https:".
	if strings.HasSuffix(lt, ":") && !strings.Contains(lt, "/") {
		return schemeMatches(lt[:len(lt)-1], n.scheme)
	}
	// host-source: [scheme "://"] host [":" port] [path].
	rest := lt
	if i := strings.Index(rest, "://"); i >= 0 {
		if !schemeMatches(rest[:i], n.scheme) {
			return false
		}
		rest = rest[i+3:]
	} else if n.scheme != "http" && n.scheme != "https" {
		return false
	}
	hostport, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, path = rest[:i], rest[i:]
	}
	host, port := splitHostPort(hostport)
	switch {
	case host == "*":
	case strings.HasPrefix(host, "*."):
		if !strings.HasSuffix(n.host, host[1:]) {
			return false
		}
	case host != n.host:
		return false
	}
	switch {
	case port == "*":
	case port == "":
		if n.port != "80" && n.port != "443" {
			// Without a port the source means the scheme's default port;
			// an upgrade from 80 to 443 is allowed.
			return false
		}
	case port == n.port, port == "80" && n.port == "443":
	default:
		return false
	}
	if path == "" || path == "/" {
		return true
	}
	// A path ending in '/' matches every path below it; any other path is
	// an exact match, which cannot cover all of our URLs.
	return strings.HasSuffix(path, "/") && strings.HasPrefix(n.basePath, path)
}

// schemeMatches implements the upgrade rule: "http" matches https too.
func schemeMatches(src, scheme string) bool {
	return src == scheme || (src == "http" && scheme == "https") || (src == "ws" && scheme == "wss")
}

// decideTag chooses the nonce and integrity our tag carries under the given
// policies, and reports whether every enforced policy can admit it.
func decideTag(policies []*cspPolicy, n *cspNeeds, start TagContext) (TagContext, bool) {
	tc := start
	if tc.Nonce == "" {
		for pass := 0; pass < 2 && tc.Nonce == ""; pass++ {
			for _, p := range policies {
				if p.reportOnly != (pass == 1) {
					continue
				}
				if d := p.effective(scriptChain...); d != nil {
					if v := d.nonce(); v != "" {
						tc.Nonce = v
						break
					}
				}
			}
		}
	}
	if tc.Integrity == "" && n.integrity != "" {
		for _, p := range policies {
			d := p.effective(scriptChain...)
			if d != nil && d.has("'strict-dynamic'") && !(tc.Nonce != "" && d.hasNonce(tc.Nonce)) && d.hasHash() {
				tc.Integrity = n.integrity
				break
			}
		}
	}
	ok := true
	for _, p := range policies {
		if !p.reportOnly && !scriptAdmissible(p, n, tc) {
			ok = false
		}
	}
	return tc, ok
}

// scriptAdmissible reports whether the policy admits our tag once amended.
func scriptAdmissible(p *cspPolicy, n *cspNeeds, tc TagContext) bool {
	d := p.effective(scriptChain...)
	if d == nil || (tc.Nonce != "" && d.hasNonce(tc.Nonce)) {
		return true
	}
	if d.has("'strict-dynamic'") {
		return tc.Integrity != "" && d.hasHash()
	}
	return true
}

// amend adds what the recorder needs to the policy, given the tag's nonce
// and integrity.
func (p *cspPolicy) amend(n *cspNeeds, tc TagContext) {
	// Scripts.
	if d := p.effective(scriptChain...); d != nil && !(tc.Nonce != "" && d.hasNonce(tc.Nonce)) {
		if d.has("'strict-dynamic'") {
			if tc.Integrity != "" && d.hasHash() {
				h := "'" + tc.Integrity + "'"
				if !d.has(h) {
					p.add(d, h)
				}
			}
		} else if !d.allows(n) {
			p.addOrCreate(d, "script-src", n.source, false)
		}
	}
	// Workers.
	if d := p.effective(workerChain...); d != nil && !d.has("'strict-dynamic'") && !p.allowsIncludingAdded(d, n) {
		p.addOrCreate(d, "worker-src", n.source, true)
	}
	// Fetches to the ingest endpoint.
	if d := p.effective(connectChain...); d != nil && !d.allows(n) {
		p.addOrCreate(d, "connect-src", n.source, true)
	}
}

// allowsIncludingAdded is allows, counting the sources we already added
// (worker-src falls back to the script-src we may have just amended).
func (p *cspPolicy) allowsIncludingAdded(d *cspDirective, n *cspNeeds) bool {
	if d.allows(n) {
		return true
	}
	for _, t := range d.added {
		if sourceMatches(t, n) {
			return true
		}
	}
	return false
}

// add appends a token to an existing directive ('none' is dropped: it is
// only valid alone).
func (p *cspPolicy) add(d *cspDirective, tok string) {
	p.changed = true
	if d.has("'none'") {
		var keep []string
		for _, t := range d.tokens {
			if strings.EqualFold(t, "'none'") {
				d.dropped = append(d.dropped, t)
			} else {
				keep = append(keep, t)
			}
		}
		d.tokens = append(keep, d.added...)
		d.tokens = append(d.tokens, tok)
		d.added = nil
		return
	}
	if len(d.dropped) > 0 {
		d.tokens = append(d.tokens, tok)
		return
	}
	d.added = append(d.added, tok)
}

// addOrCreate adds the source to d when d is the specific directive name;
// when d is a fallback, it creates the specific directive as a copy of the
// fallback plus the source. Only URL-matching sources are copied: nonces,
// hashes and script keywords mean nothing for fetches and workers (a
// worker has no nonce attribute), and copying them would look like adding
// them.
func (p *cspPolicy) addOrCreate(d *cspDirective, name, src string, urlOnly bool) {
	if d.name == name || (name == "script-src" && d.name == "script-src-elem") {
		p.add(d, src)
		return
	}
	nd := &cspDirective{name: name, created: true}
	for _, t := range append(append([]string(nil), d.tokens...), d.added...) {
		lt := strings.ToLower(t)
		if lt == "'none'" {
			continue
		}
		if urlOnly && strings.HasPrefix(lt, "'") && lt != "'self'" {
			continue
		}
		nd.tokens = append(nd.tokens, t)
	}
	nd.tokens = append(nd.tokens, src)
	// A trailing empty directive (policy ending in ';') stays last.
	if last := p.dirs[len(p.dirs)-1]; len(p.dirs) > 1 && last.name == "" && !last.created {
		p.dirs = append(p.dirs[:len(p.dirs)-1], nd, last)
	} else {
		p.dirs = append(p.dirs, nd)
	}
	p.changed = true
}
