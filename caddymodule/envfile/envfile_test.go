package envfile

import (
	"strings"
	"testing"
)

// FuzzParse: any input parses or fails cleanly, and what parses
// has keys without spaces or "=".
func FuzzParse(f *testing.F) {
	for _, s := range []string{"A=1\n", "export B='x y'\n# c\n", "C=\"multi\nline\"\n", "D=v # comment\n", "=x\n", "E= x\n", "F=\"unterminated\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vars, err := Parse(strings.NewReader(s), "fuzz.env")
		if err != nil {
			return
		}
		for _, kv := range vars {
			if kv[0] == "" || strings.ContainsAny(kv[0], " =") {
				t.Errorf("key %q from %q", kv[0], s)
			}
		}
	})
}

func TestParse(t *testing.T) {
	in := "# comment\n\nA=1\nexport B='two words'\nC=\"line one\nline \\\"two\\\"\"\nD=value # trailing comment\nE=\nF=a=b\n"
	got, err := Parse(strings.NewReader(in), "t.env")
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"A", "1"}, {"B", "two words"}, {"C", "line one\nline \"two\""}, {"D", "value"}, {"E", ""}, {"F", "a=b"}}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pair %d: %q, want %q", i, got[i], want[i])
		}
	}
	for src, line := range map[string]string{"A=1\nno pair\n": "t.env:2", "=x\n": "t.env:1", "A= x\n": "t.env:1", "A=1\nB=\"open\n\n": "t.env:2", "MY KEY=1\n": "t.env:1"} {
		if _, err := Parse(strings.NewReader(src), "t.env"); err == nil || !strings.Contains(err.Error(), line) {
			t.Errorf("%q: %v, want an error at %s", src, err, line)
		}
	}
}
