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

// TestSkipAttrsAgreesWithStates checks the fast path for ordinary tags
// against the resumable attribute states on every string of up to 7
// bytes over the bytes that matter in a tag ('=', both quotes, white
// space, '/', '>' and a name byte): the same end, or no end in both.
func TestSkipAttrsAgreesWithStates(t *testing.T) {
	const alphabet = "a=\"' />"
	buf := []byte("<p")
	var walk func(depth int)
	checked := 0
	walk = func(depth int) {
		// The byte after the name is a delimiter: white space, '/' or '>'.
		if len(buf) > 2 && strings.IndexByte(" />", buf[2]) >= 0 {
			checked++
			want, wantOK := len(buf), false
			r := &Rewriter{kind: tkOther, phase: phDone, tokStart: -1}
			r.p = buf
			if i := r.afterName(buf, 2); r.state == stText {
				want, wantOK = i, true
			} else if i < len(buf) {
				if e := r.scanAttrs(buf, i); r.state == stText {
					want, wantOK = e, true
				}
			}
			got, ok := skipAttrs(buf, 2)
			if ok != wantOK || (ok && got != want) {
				t.Fatalf("%q: skipAttrs = %d, %v; the states end at %d, %v", buf, got, ok, want, wantOK)
			}
		}
		if depth == 7 {
			return
		}
		for k := 0; k < len(alphabet); k++ {
			buf = append(buf, alphabet[k])
			walk(depth + 1)
			buf = buf[:len(buf)-1]
		}
	}
	walk(0)
	if checked < 100000 {
		t.Fatalf("only %d strings checked", checked)
	}
}
