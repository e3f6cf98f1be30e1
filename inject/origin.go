package inject

import (
	"fmt"
	"html"
	"net/url"
	"strings"
)

// DefaultBasePath is where the recorder's files and ingest endpoint live on
// the site when Config.BasePath is empty.
const DefaultBasePath = "/__replay/"

// origin is a normalized "scheme://host[:port]": lower case, default port
// omitted.
type origin struct {
	scheme   string
	hostport string
}

// originSet is the set of origins that answer with CORS headers.
type originSet struct {
	list []origin
}

// newOriginSet returns the page's origin plus the listed ones.
func newOriginSet(page *url.URL, extra []origin) *originSet {
	s := &originSet{list: make([]origin, 0, 1+len(extra))}
	s.list = append(s.list, normOrigin(page.Scheme, page.Host))
	s.list = append(s.list, extra...)
	return s
}

// ownOnly reports whether the set is the page's origin alone (no origin
// listed).
func (s *originSet) ownOnly() bool { return len(s.list) == 1 }

// parseOrigins parses a list of origins, skipping invalid ones (New
// reports them; RewriteOptions users get what is valid).
func parseOrigins(list []string) []origin {
	var out []origin
	for _, e := range list {
		if o, err := parseOrigin(e); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// parseOrigin parses "scheme://host[:port]" (a trailing '/' is tolerated).
func parseOrigin(s string) (origin, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return origin{}, fmt.Errorf("origin %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return origin{}, fmt.Errorf("origin %q: want scheme://host[:port], e.g. https://cdn.example.com", s)
	}
	return normOrigin(u.Scheme, u.Host), nil
}

func normOrigin(scheme, hostport string) origin {
	scheme = strings.ToLower(scheme)
	hostport = strings.ToLower(strings.TrimSuffix(hostport, ":"))
	if p := ":" + defaultPort(scheme); strings.HasSuffix(hostport, p) {
		hostport = strings.TrimSuffix(hostport, p)
	}
	return origin{scheme, hostport}
}

// String returns the serialized origin.
func (o origin) String() string { return o.scheme + "://" + o.hostport }

func (s *originSet) allows(scheme, hostport string) bool {
	return s.allowsBytes([]byte(scheme), []byte(hostport))
}

// allowsBytes is allows without allocating (for the hot path).
func (s *originSet) allowsBytes(scheme, hostport []byte) bool {
	if len(hostport) > 0 && hostport[len(hostport)-1] == ':' {
		hostport = hostport[:len(hostport)-1]
	}
	for _, o := range s.list {
		if !equalFoldASCII(scheme, o.scheme) {
			continue
		}
		hp := hostport
		if p := defaultPort(o.scheme); len(hp) > len(p)+1 && hp[len(hp)-len(p)-1] == ':' && string(hp[len(hp)-len(p):]) == p {
			hp = hp[:len(hp)-len(p)-1]
		}
		if equalFoldASCII(hp, o.hostport) {
			return true
		}
	}
	return false
}

// unescapeAttr decodes character references in an attribute value.
func unescapeAttr(s string) string { return html.UnescapeString(s) }

// escapeAttr escapes an attribute value for quote character q: a double
// or single quote, or 0 for an unquoted value we will put in double quotes.
func escapeAttr(s string, q byte) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&':
			b.WriteString("&amp;")
		case c == '\'' && q == '\'':
			b.WriteString("&#39;")
		case c == '"' && q != '\'':
			b.WriteString("&quot;")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
