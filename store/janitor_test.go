package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeMaintenance records Expire calls and deletes sessions from a map of
// last-activity times, like a backend would.
type fakeMaintenance struct {
	mu       sync.Mutex
	sessions map[string]time.Time
	calls    []time.Time
	fail     bool
}

func (f *fakeMaintenance) Expire(_ context.Context, before time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, before)
	if f.fail {
		return 0, errors.New("disk on fire")
	}
	n := 0
	for id, end := range f.sessions {
		if end.Before(before) {
			delete(f.sessions, id)
			n++
		}
	}
	return n, nil
}

func (f *fakeMaintenance) DeleteSession(context.Context, string) error     { return nil }
func (f *fakeMaintenance) DeleteUser(context.Context, string) (int, error) { return 0, nil }
func (f *fakeMaintenance) Reindex(context.Context, Summarizer) (ReindexStats, error) {
	return ReindexStats{}, nil
}

// fakeClock hands out tick channels that the test fires by hand.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	ticks chan chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.ticks <- ch
	return ch
}

// advance moves the clock and fires the timer the janitor waits on.
func (c *fakeClock) advance(t *testing.T, d time.Duration) {
	var tick chan time.Time
	select {
	case tick = <-c.ticks:
	case <-time.After(5 * time.Second):
		t.Fatal("the janitor is not waiting for its next tick")
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	tick <- now
}

func TestJanitorExpiresWithRetention(t *testing.T) {
	day := 24 * time.Hour
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: start, ticks: make(chan chan time.Time, 64)}
	m := &fakeMaintenance{sessions: map[string]time.Time{
		"a": start.Add(-40 * day), // expired at once
		"b": start.Add(-9 * day),  // expires after 1 more day
		"c": start,                // expires after 10 days
	}}
	sweeps := make(chan int, 10)
	j := &Janitor{Store: m, Retention: 10 * day, Interval: day, Now: clock.Now, After: clock.After,
		OnSweep: func(n int, err error) { sweeps <- n }}
	j.Start()
	defer j.Stop()

	if n := <-sweeps; n != 1 {
		t.Fatalf("first sweep deleted %d, want 1", n)
	}
	clock.advance(t, day+time.Minute)
	if n := <-sweeps; n != 1 {
		t.Fatalf("after a day, sweep deleted %d, want 1 (b)", n)
	}
	for range 8 {
		clock.advance(t, day)
		if n := <-sweeps; n != 0 {
			t.Fatalf("sweep deleted %d before c expired", n)
		}
	}
	clock.advance(t, day)
	if n := <-sweeps; n != 1 {
		t.Fatalf("after 10 days, sweep deleted %d, want 1 (c)", n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if want := start.Add(-10 * day); !m.calls[0].Equal(want) {
		t.Errorf("first Expire(before=%v), want %v", m.calls[0], want)
	}
}

func TestJanitorSurvivesErrorsAndStops(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0), ticks: make(chan chan time.Time, 64)}
	m := &fakeMaintenance{fail: true}
	errs := make(chan error, 10)
	j := &Janitor{Store: m, Now: clock.Now, After: clock.After, OnSweep: func(n int, err error) { errs <- err }}
	j.Start()
	j.Start() // no second goroutine
	if err := <-errs; err == nil {
		t.Fatal("a failing Expire was reported as success")
	}
	clock.advance(t, time.Hour)
	if err := <-errs; err == nil {
		t.Fatal("the janitor stopped after an error")
	}
	// Stop while the janitor waits for a tick that never comes.
	done := make(chan struct{})
	go func() { j.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
	j.Stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.calls) != 2 {
		t.Errorf("%d sweeps, want 2", len(m.calls))
	}
	if d := time.Unix(1e9, 0).Sub(m.calls[0]); d != DefaultRetention {
		t.Errorf("default retention = %v, want %v", d, DefaultRetention)
	}
}
