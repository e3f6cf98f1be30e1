package inject

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestScriptTag checks the rendered element: escaped, well-formed for an
// HTML parser and for XML, with nonce and integrity only when asked.
func TestScriptTag(t *testing.T) {
	attrs := []Attr{{"data-service", `shop "one" & <two>`}, {"data-env", "prod"}}
	plain := string(ScriptTag("/__replay/r.js?a=1&b=2", attrs, TagContext{}))
	want := `<script async="" src="/__replay/r.js?a=1&amp;b=2" data-service="shop &quot;one&quot; &amp; &lt;two&gt;" data-env="prod"></script>`
	if plain != want {
		t.Errorf("\n got: %s\nwant: %s", plain, want)
	}
	full := string(ScriptTag("/r.js", nil, TagContext{Nonce: `n"1`, Integrity: integ}))
	if full != `<script async="" src="/r.js" nonce="n&quot;1" integrity="`+integ+`"></script>` {
		t.Errorf("%s", full)
	}
	// An HTML parser reads back exactly the values.
	z := html.NewTokenizer(strings.NewReader(plain))
	z.Next()
	tok := z.Token()
	got := map[string]string{}
	for _, a := range tok.Attr {
		got[a.Key] = a.Val
	}
	if got["src"] != "/__replay/r.js?a=1&b=2" || got["data-service"] != attrs[0].Value || got["async"] != "" {
		t.Errorf("parsed back %v", got)
	}

	f := ScriptTagFunc("/r.js", attrs)
	if a, b := f(TagContext{}), f(TagContext{}); !bytes.Equal(a, ScriptTag("/r.js", attrs, TagContext{})) || &a[0] != &b[0] {
		t.Error("ScriptTagFunc must render the plain tag once and share it")
	}
	if !bytes.Equal(f(TagContext{Nonce: "x"}), ScriptTag("/r.js", attrs, TagContext{Nonce: "x"})) {
		t.Error("ScriptTagFunc with a nonce")
	}
}
