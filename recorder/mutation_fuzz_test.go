package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// fuzzOp is one DOM operation of testdata/mutation-fuzz.html: its kind and
// the numbers that pick its nodes among those that exist when it runs.
type fuzzOp [4]any

// fuzzBatch is the operations that run in one task (so they reach the
// recorder as one MutationObserver batch), and whether the recording is
// flushed and compared with its replay afterwards.
type fuzzBatch struct {
	Ops   []fuzzOp `json:"ops"`
	Check bool     `json:"check"`
}

// fuzzKinds are the fixture's operations, weighted: those that move nodes
// about come more often than the others.
var fuzzKinds = []string{
	"append", "append", "insertBefore", "remove", "remove", "move", "move", "move",
	"readd", "readd", "changeDetached", "replaceWith", "innerHTML", "textContent",
	"outerHTML", "setAttribute", "removeAttribute", "toggleClass", "setProperty",
	"textData", "textData", "splitText", "normalize", "addThenRemove", "shadow",
	"template", "select", "inputValue", "insertRule", "svg", "comment",
}

// fuzzPlan draws n batches of 1 to 8 operations from seed; about one
// batch in three is checked, and the last always is.
func fuzzPlan(seed int64, n int) []fuzzBatch {
	r := rand.New(rand.NewSource(seed))
	plan := make([]fuzzBatch, n)
	for i := range plan {
		ops := make([]fuzzOp, 1+r.Intn(8))
		for j := range ops {
			ops[j] = fuzzOp{fuzzKinds[r.Intn(len(fuzzKinds))], r.Intn(1 << 20), r.Intn(1 << 20), r.Intn(1 << 20)}
		}
		plan[i] = fuzzBatch{Ops: ops, Check: r.Intn(3) == 0 || i == n-1}
	}
	return plan
}

// fuzzDistilled are cases the fuzzer found, shrunk; each failed before
// its fix (see the commits that added them). They run before the seeds.
var fuzzDistilled = []struct {
	name    string
	privacy string
	plan    string // JSON []fuzzBatch
}{
	// Seed 1: a <slot> moved out of a shadow root into its host's light DOM
	// (the shadow root's observer saw it leave, the document's arrive).
	{"moved out of a shadow root", "allow", `[{"ops":[["move",445241,578220,622408]],"check":true},{"ops":[["shadow",804031,942854,862504]],"check":true},{"ops":[["append",829453,278447,389730]],"check":false},{"ops":[["innerHTML",91810,196194,171127],["move",513802,774714,258318]],"check":true}]`},
	// Seeds 20, 31, 36: a textarea's text (its default value) moved out of it.
	{"text moved out of a textarea", "allow", `[{"ops":[["insertBefore",293703,961628,375188],["append",836766,483376,497012],["move",606081,486113,964796]],"check":true}]`},
	// Seed 31 (a select left with no selection; distilled by hand): an
	// option added, then selectedIndex = -1, in one batch.
	{"options then no selection", "allow", `[{"ops":[["select",0,0,0],["select",0,10,0]],"check":true}]`},
	// Seed 31 again: a select without a selected option, restored from a
	// checkpoint.
	{"no selection in a checkpoint", "allow", `[{"ops":[["select",0,0,0]],"check":true},{"ops":[["select",0,10,0]],"check":true}]`},
	// Found by hand from the previous one: a select without a selected
	// option moved (serialized again by the recorder).
	{"no selection moved", "allow", `[{"ops":[["select",0,0,0],["select",0,10,0]],"check":true},{"ops":[["move",34,8,0]],"check":true}]`},
	// Seed 108: a <style> moved, then insertRule on it, in one batch.
	{"rule inserted into a moved style", "allow", `[{"ops":[["insertRule",0,1,0]],"check":true},{"ops":[["move",1,8,0],["insertRule",1,0,0]],"check":true}]`},
	// Seed 200: a <style>'s text changed, then insertRule on it, in one batch.
	{"rule inserted into a style whose text changed", "allow", `[{"ops":[["insertRule",0,1,0]],"check":true},{"ops":[["textData",1,0,0],["insertRule",1,0,0]],"check":true}]`},
	// Seed 237 (distilled by hand): a <style>'s text split in two, then
	// its first text node removed (the second, recorded as "", was left).
	{"first text of a split style removed", "allow", `[{"ops":[["insertRule",0,1,0]],"check":true},{"ops":[["splitText",1,0,0]],"check":true},{"ops":[["remove",2,0,0]],"check":true}]`},
	// Seed 240 (distilled by hand): a shadow root attached to a recorded
	// host and emptied in the same batch.
	{"shadow root attached empty", "mask-user-input", `[{"ops":[["shadow",0,0,0],["innerHTML",4,6,0]],"check":true}]`},
	// Seed 359: an option's text moved out (its value becomes ""), then
	// selectedIndex = -1 (the select's value is "" too), then an option
	// removed (a select without selection then selects its first).
	{"no selection with an option valued \"\"", "allow", `[{"ops":[["select",928511,144136,519041],["append",679949,613324,12740]],"check":false},{"ops":[["move",6682,99399,928853]],"check":true},{"ops":[["select",4544,785730,186191],["select",852572,940441,238985]],"check":true}]`},
	// Seed 469: the selected option removed (the first is then selected),
	// selectedIndex = -1, an option added (the first is selected again, by
	// the browser), selectedIndex = -1 again.
	{"no selection again after an option added", "allow", `[{"ops":[["select",720850,739337,673786]],"check":true},{"ops":[["select",1015966,469837,400197],["select",1040162,32674,787455]],"check":false},{"ops":[["select",386777,959440,13860]],"check":false},{"ops":[["select",799946,127086,705819]],"check":true}]`},
	// Seed 328: a removed element put into a textarea (replaceWith of the
	// textarea's text), then a node inserted into that element.
	{"node added under a node moved into a textarea", "mask-user-input", `[{"ops":[["replaceWith",59472,189743,114121]],"check":false},{"ops":[["append",71006,1043268,465079],["readd",792529,363031,19744],["shadow",538709,274718,49989]],"check":false},{"ops":[["append",1004172,594079,93655],["replaceWith",439177,88565,1035903]],"check":true},{"ops":[["readd",578811,63740,559876],["remove",239522,596227,217953],["remove",287403,962459,529944]],"check":false},{"ops":[["replaceWith",584984,855271,976410],["insertBefore",1029573,755099,88076]],"check":false},{"ops":[["insertBefore",611904,896516,87893],["append",124025,531126,700898]],"check":true}]`},
	// Seed 381 (distilled by hand): a <style> inside an <option> (in a div
	// that replaced the option's text), then insertRule on it; the
	// option's text, its label and value, includes the style's text.
	{"rule inserted into a style in an option", "allow", `[{"ops":[["replaceWith",38,10,0],["insertRule",14,1,0]],"check":true},{"ops":[["insertRule",1,2,0]],"check":true}]`},
	// Seed 782 (distilled by hand): a recorded text moved into an element
	// deep inside a textarea (a section that replaced its text), then its
	// text changed.
	{"text moved deep into a textarea, then changed", "allow", `[{"ops":[["replaceWith",43,6,0]],"check":true},{"ops":[["move",0,13,0]],"check":true},{"ops":[["textData",22,0,0]],"check":true}]`},
}

// TestMutationFuzz performs random batches of DOM operations in a live
// page (testdata/mutation-fuzz.html: appends, removes, moves into nodes
// added or removed in the same batch, nodes re-added elsewhere,
// replaceWith, innerHTML / textContent / outerHTML, attributes, class and
// style, text edits, splitText and normalize, shadow roots, a template's
// content, select options, input values, inserted <style>s and
// insertRule, SVG, comments) and, after every checked batch, compares the
// live document with the one replaycore rebuilds from what the collector
// received, as the round trip of TestRecorder does. Odd seeds record with
// privacy allow, even ones with the default mask-user-input.
//
// make test runs seeds 1-8 with 30 batches each (about 30 s). For a
// longer soak, MUTATION_FUZZ_SEEDS=200 runs seeds 1-200
// (MUTATION_FUZZ_FIRST=31 starts at seed 31, MUTATION_FUZZ_BATCHES sets
// the batches of each). A failure names its seed and prints the shortest
// list of batches found that still fails (batches, then operations, left
// out in halving runs, for at most 90 s, or MUTATION_FUZZ_SHRINK seconds),
// to add to fuzzDistilled.
func TestMutationFuzz(t *testing.T) {
	seeds, batches := envInt(t, "MUTATION_FUZZ_SEEDS", 8), envInt(t, "MUTATION_FUZZ_BATCHES", 30)
	first := int64(envInt(t, "MUTATION_FUZZ_FIRST", 1))
	h := newHarness(t)
	b := newBrowserFor(t, 10*time.Minute+time.Duration(seeds)*20*time.Second)
	f := &fuzzer{h: h, live: b.tab(t), replay: b.ctx}
	f.console = watch(f.live)
	for _, c := range fuzzDistilled {
		t.Run(c.name, func(t *testing.T) {
			var plan []fuzzBatch
			if err := json.Unmarshal([]byte(c.plan), &plan); err != nil {
				t.Fatal(err)
			}
			if at, diff := f.run(t, plan, c.privacy); at >= 0 {
				t.Errorf("batch %d: %s", at, diff)
			}
		})
	}
	for seed := first; seed < first+int64(seeds); seed++ {
		privacy := "allow"
		if seed%2 == 0 {
			privacy = "mask-user-input"
		}
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			plan := fuzzPlan(seed, batches)
			at, diff := f.run(t, plan, privacy)
			if at < 0 {
				return
			}
			small := f.shrink(t, plan[:at+1], privacy)
			js, _ := json.Marshal(small)
			t.Errorf("seed %d (privacy %s) fails at batch %d: %s\nshrunk to %d operations, which fail too (add to fuzzDistilled):\n%s",
				seed, privacy, at, diff, countOps(small), js)
		})
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func countOps(plan []fuzzBatch) int {
	n := 0
	for _, b := range plan {
		n += len(b.Ops)
	}
	return n
}

// fuzzer runs plans in one live tab, rebuilding them in another.
type fuzzer struct {
	h            *harness
	live, replay context.Context
	console      interface{ Snapshot() ([]string, []string) }
}

// run opens the fixture afresh (a new view) and performs plan; it returns
// the first checked batch whose replay differs from the live document, and
// how, or -1.
func (f *fuzzer) run(t *testing.T, plan []fuzzBatch, privacy string) (int, string) {
	t.Helper()
	path := "/mutation-fuzz.html"
	if privacy == "allow" {
		path += "?privacy=allow"
	}
	f.h.open(t, f.live, path)
	warned, _ := f.console.Snapshot()
	for i, b := range plan {
		ops, _ := json.Marshal(append([]fuzzOp{}, b.Ops...)) // [], not null
		var threw []string
		if err := eval(f.live, "fuzzRun("+string(ops)+")", &threw); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if !b.Check && i < len(plan)-1 {
			continue
		}
		if diff := f.compare(t, privacy); diff != "" {
			return i, diff
		}
		msgs, _ := f.console.Snapshot()
		for _, m := range msgs[len(warned):] {
			if strings.Contains(m, "[replay]") {
				return i, "the recorder failed: " + m
			}
		}
	}
	return -1, ""
}

// compare is the round trip's comparison (harness.roundTrip), returning
// the first difference instead of failing the test, for shrinking.
func (f *fuzzer) compare(t *testing.T, privacy string) string {
	t.Helper()
	var want norm
	if err := eval(f.live, normalizeSrc+fmt.Sprintf(`;new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))).then(() => {
		const want = __normalize(document, {privacy: %q});
		return window.__replayTestHooks.flush().then(() => want);
	})`, privacy), &want); err != nil {
		t.Fatal(err)
	}
	sid, vid := ids(t, f.live)
	var loaded bool
	if err := eval(f.replay, `typeof rebuild === 'function'`, &loaded); err != nil || !loaded {
		if err := chromedp.Run(f.replay, chromedp.Navigate(f.h.url("/replay.html"))); err != nil {
			t.Fatal(err)
		}
	}
	var got struct {
		Replay   norm     `json:"replay"`
		Restored norm     `json:"restored"`
		Warnings []string `json:"warnings"`
	}
	if err := eval(f.replay, fmt.Sprintf("rebuild('/test/events?sid=%s&vid=%s', %q, '/test/session-events?sid=%s')", sid, vid, privacy, sid), &got); err != nil {
		return "rebuild: " + err.Error()
	}
	for _, c := range []struct{ what, want, got string }{
		{"rebuilt DOM", want.Dom, got.Replay.Dom},
		{"rebuilt form values", want.Forms, got.Replay.Forms},
		{"restored DOM", want.Dom, got.Restored.Dom},
		{"restored form values", want.Forms, got.Restored.Forms},
	} {
		if d := firstDiff(c.want, c.got); d != "" {
			return c.what + " " + d
		}
	}
	if len(got.Warnings) > 0 {
		return "replaycore warning: " + got.Warnings[0]
	}
	var problems []string
	f.h.coll.mu.Lock()
	problems = append(problems, f.h.coll.problems...)
	f.h.coll.problems = nil
	f.h.coll.mu.Unlock()
	if len(problems) > 0 {
		return "upload violates docs/FORMAT.md: " + problems[0]
	}
	return ""
}

// firstDiff describes the first differing line of two normalizations, or
// returns "".
func firstDiff(want, got string) string {
	if want == got {
		return ""
	}
	wl := strings.Split(want, "\n")
	for i, l := range linePairs(want, got) {
		if l[0] != l[1] {
			lo := max(0, i-3)
			return fmt.Sprintf("differs at line %d:\n live:    %s\n rebuilt: %s\n(context, live:)\n%s", i+1, l[0], l[1], strings.Join(wl[lo:min(len(wl), i+4)], "\n"))
		}
	}
	return "differs"
}

// shrink leaves operations out of a failing plan, keeping each removal
// after which the plan still fails: whole batches first, then operations
// across batches, each in runs of halving length (half of them, then
// quarters, ... then one at a time, as delta debugging does: a long plan
// whose failure needs a few operations loses most of them in a few
// attempts), then the batches left empty. It stops at a deadline (each
// attempt is a page load and a round trip) and returns the smallest
// failing plan it found.
func (f *fuzzer) shrink(t *testing.T, plan []fuzzBatch, privacy string) []fuzzBatch {
	deadline := time.Now().Add(time.Duration(envInt(t, "MUTATION_FUZZ_SHRINK", 90)) * time.Second)
	fails := func(p []fuzzBatch) bool {
		if len(p) == 0 {
			return false
		}
		p[len(p)-1].Check = true
		at, _ := f.run(t, p, privacy)
		return at >= 0
	}
	cur := clonePlan(plan)
	// Batches.
	keep := reduce(len(cur), deadline, func(keep []bool) bool {
		var p []fuzzBatch
		for i, b := range cur {
			if keep[i] {
				p = append(p, b)
			}
		}
		return fails(clonePlan(p))
	})
	var p []fuzzBatch
	for i, b := range cur {
		if keep[i] {
			p = append(p, b)
		}
	}
	cur = clonePlan(p)
	// Operations, wherever they are: [batch, op] pairs.
	var at [][2]int
	for i, b := range cur {
		for j := range b.Ops {
			at = append(at, [2]int{i, j})
		}
	}
	only := func(keep []bool) []fuzzBatch {
		p := clonePlan(cur)
		for i := range p {
			p[i].Ops = []fuzzOp{}
		}
		for k, ij := range at {
			if keep[k] {
				p[ij[0]].Ops = append(p[ij[0]].Ops, cur[ij[0]].Ops[ij[1]])
			}
		}
		return p
	}
	cur = only(reduce(len(at), deadline, func(keep []bool) bool { return fails(only(keep)) }))
	// Batches left empty (they still flushed and compared).
	for i := 0; i < len(cur) && time.Now().Before(deadline); {
		if len(cur[i].Ops) > 0 {
			i++
			continue
		}
		cand := clonePlan(append(clonePlan(cur[:i]), cur[i+1:]...))
		if fails(cand) {
			cur = cand
		} else {
			i++
		}
	}
	for i := range cur {
		cur[i].Check = cur[i].Check || i == len(cur)-1
	}
	return cur
}

// reduce leaves out runs of n items, of length n/2, n/4, ... 1, keeping
// each removal after which fails (given which items are kept) still
// holds, until deadline; it returns which items are kept.
func reduce(n int, deadline time.Time, fails func(keep []bool) bool) []bool {
	keep := make([]bool, n)
	for i := range keep {
		keep[i] = true
	}
	for size := max(1, n/2); ; size /= 2 {
		for lo := 0; lo < n && time.Now().Before(deadline); lo += size {
			cand := append([]bool(nil), keep...)
			changed := false
			for i := lo; i < min(n, lo+size); i++ {
				changed = changed || cand[i]
				cand[i] = false
			}
			if changed && fails(cand) {
				keep = cand
			}
		}
		if size == 1 {
			return keep
		}
	}
}

func clonePlan(p []fuzzBatch) []fuzzBatch {
	out := make([]fuzzBatch, len(p))
	for i, b := range p {
		out[i] = fuzzBatch{Ops: append([]fuzzOp(nil), b.Ops...), Check: b.Check}
	}
	return out
}
