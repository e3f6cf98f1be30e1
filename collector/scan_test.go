package collector

import (
	"bytes"
	"testing"
)

func TestStringCapture(t *testing.T) {
	cases := map[string]string{
		`"plain"`:                           "plain",
		`"a\u00e9\ud83d\ude00"`:             "aé😀",
		`"\ud800x\udc00"`:                   "\uFFFDx\uFFFD",
		`"\ud800\ud800\udc00"`:              "\uFFFD\U00010000",
		`"\ud800\n"`:                        "\uFFFD\n",
		`"q\"b\\s\/\b\f\r\t"`:               "q\"b\\s/\b\f\r\t",
		`"` + string(make([]byte, 0)) + `"`: "",
	}
	for in, want := range cases {
		for _, window := range []int{1, 3, 64} {
			var sc scanner
			sc.buf = make([]byte, window)
			sc.reset(bytes.NewReader([]byte(in)), nil, int64(len(in)))
			var got []byte
			sc.ws() // str starts at a peeked quote
			if err := sc.str(&got, 100); err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			if string(got) != want {
				t.Errorf("window %d: %s captured %q, want %q", window, in, got, want)
			}
		}
	}
	// Captures stop at the cap but the string is still validated whole.
	var sc scanner
	in := `"abcdefghij\u0041"`
	sc.reset(bytes.NewReader([]byte(in)), nil, int64(len(in)))
	var got []byte
	sc.ws()
	if err := sc.str(&got, 4); err != nil || string(got) != "abcd" || sc.offset() != int64(len(in)) {
		t.Errorf("capped capture: %q, %v, at %d", got, err, sc.offset())
	}
}

func TestNumbers(t *testing.T) {
	cases := map[string]float64{"0": 0, "-0": 0, "1780000000000": 1780000000000, "12.5": 12.5, "-3e2": -300, "1E-2": 0.01,
		"123456789012345678": 123456789012345678}
	for in, want := range cases {
		var sc scanner
		sc.reset(bytes.NewReader([]byte(in)), nil, int64(len(in)))
		v, _, err := sc.number(true)
		if err != nil || v != want {
			t.Errorf("%s: %v, %v; want %v", in, v, err, want)
		}
	}
	for _, in := range []string{"-", "01", "1.", "1e", "1e+", ".5", "1" + string(bytes.Repeat([]byte("0"), 400))} {
		var sc scanner
		sc.reset(bytes.NewReader([]byte(in)), nil, int64(len(in)))
		if _, _, err := sc.number(true); err == nil {
			if sc.finish() == nil && in != "01" {
				t.Errorf("%s accepted as a number", in)
			}
		}
	}
}
