package inject

import (
	"net/http"
	"strings"
)

// corsPolicy adds Access-Control-Allow-Origin to stylesheet, font and
// image responses so that the configured origins (the player's, the
// application's other sites) can read them: the recorder reads cssRules of
// stylesheets marked crossorigin, and the player loads fonts and images
// from another origin.
//
// Preflight requests are not handled: stylesheets, fonts and images are
// fetched with GET and no custom headers, which are "simple" CORS requests
// that browsers send without a preflight.
type corsPolicy struct {
	any     bool // "*" was listed
	origins []origin
}

func newCORSPolicy(list []string) (*corsPolicy, error) {
	if len(list) == 0 {
		return nil, nil
	}
	c := &corsPolicy{}
	for _, s := range list {
		if strings.TrimSpace(s) == "*" {
			c.any = true
			continue
		}
		o, err := parseOrigin(s)
		if err != nil {
			return nil, err
		}
		c.origins = append(c.origins, o)
	}
	return c, nil
}

// apply edits the headers of an asset response. An Access-Control-Allow-
// Origin already set by the upstream is left alone: it knows better.
func (c *corsPolicy) apply(r *http.Request, h http.Header) {
	if c == nil || h.Get("Access-Control-Allow-Origin") != "" {
		return
	}
	if c.any {
		// "*" is only valid without credentials: never with an upstream
		// that allows them (and then we cannot know the right origin).
		if !strings.EqualFold(strings.TrimSpace(h.Get("Access-Control-Allow-Credentials")), "true") {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		return
	}
	// The answer now depends on the Origin header, whether or not this
	// request's origin is listed: caches must keep them apart.
	addVary(h, "Origin")
	reqOrigin := r.Header.Get("Origin")
	if reqOrigin == "" || reqOrigin == "null" {
		return
	}
	o, err := parseOrigin(reqOrigin)
	if err != nil {
		return
	}
	for _, allowed := range c.origins {
		if o == allowed {
			h.Set("Access-Control-Allow-Origin", reqOrigin)
			return
		}
	}
}

// addVary adds a field name to Vary unless it is there (or Vary is "*").
func addVary(h http.Header, name string) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}
