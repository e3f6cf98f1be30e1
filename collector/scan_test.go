package collector

import (
	"bytes"
	"reflect"
	"strings"
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

// TestScanWindowIndependent scans every recorded segment of the demo visit
// (testdata/recorder) through windows from one byte, which sends every
// token down the careful paths, to the real 32 KiB, where the fast paths
// (plain strings, integers, keys) take most of them: the facts gathered and
// the bytes consumed must be the same whatever the window.
func TestScanWindowIndependent(t *testing.T) {
	for _, seg := range recordedSegments(t) {
		qf, p, raw := seg.name, seg.p, seg.raw
		var want *segFacts
		for _, window := range []int{1, 7, 64, 32 << 10} {
			var sc scanner
			sc.buf = make([]byte, window)
			sc.reset(bytes.NewReader(raw), nil, int64(len(raw)))
			f := &segFacts{}
			if err := scanBody(&sc, p, f); err != nil {
				t.Fatalf("%s, window %d: %v", qf, window, err)
			}
			if sc.offset() != int64(len(raw)) {
				t.Fatalf("%s, window %d: consumed %d of %d bytes", qf, window, sc.offset(), len(raw))
			}
			if want == nil {
				want = f
			} else if !reflect.DeepEqual(f, want) {
				t.Fatalf("%s: window %d gathered %+v, window 1 %+v", qf, window, f, want)
			}
		}
	}
}

// TestObjectKeys checks the keys object hands its members, plain ones
// (the fast path) and escaped, spaced or long ones (the careful path).
func TestObjectKeys(t *testing.T) {
	long := strings.Repeat("k", 33)
	in := `{"a":1,"b\u0063":2,"d" :3,"` + strings.Repeat("k", 32) + `":4,"` + long + `":5,"":6}`
	want := []string{"a", "bc", "d", strings.Repeat("k", 32), "", ""}
	for _, window := range []int{1, 5, 64} {
		var sc scanner
		sc.buf = make([]byte, window)
		sc.reset(bytes.NewReader([]byte(in)), nil, int64(len(in)))
		var got []string
		err := sc.object(func(key []byte) error {
			got = append(got, string(key))
			return sc.value()
		})
		if err != nil || sc.finish() != nil {
			t.Fatalf("window %d: %v", window, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("window %d: keys %q, want %q", window, got, want)
		}
	}
	for _, bad := range []string{`{"a" 1}`, `{"a":1,}`, `{"a\x":1}`, `{"a`} {
		var sc scanner
		sc.reset(bytes.NewReader([]byte(bad)), nil, int64(len(bad)))
		if err := sc.object(func([]byte) error { return sc.value() }); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
