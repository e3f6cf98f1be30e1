package store

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultRetention is how long recordings are kept when the operator does
// not say otherwise: 30 days, as in the spec.
const DefaultRetention = 30 * 24 * time.Hour

// DefaultSweepInterval is how often a Janitor sweeps by default.
const DefaultSweepInterval = time.Hour

// Janitor enforces retention: on every tick it deletes the sessions whose
// last activity is older than Retention, through Maintenance.Expire, so it
// works with any backend. The zero value is not usable; set Store.
//
// The replay app runs one Janitor per open store. Tests drive it with a fake
// clock through Now and After.
type Janitor struct {
	// Store is the backend to expire sessions from.
	Store Maintenance
	// Retention is how long a session is kept after its last activity.
	// Zero means DefaultRetention.
	Retention time.Duration
	// Interval is the time between sweeps. Zero means DefaultSweepInterval.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// After returns a channel that fires once after d, like time.After;
	// nil means time.After. A test passes a fake to step time by hand.
	After func(d time.Duration) <-chan time.Time
	// Logger receives one line per sweep that deleted something, and
	// errors. Nil means no logging.
	Logger *zap.Logger
	// OnSweep, when set, is called after every sweep with its result
	// (tests and metrics use it).
	OnSweep func(deleted int, err error)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Sweep runs one retention pass now and returns how many sessions it
// deleted.
func (j *Janitor) Sweep(ctx context.Context) (int, error) {
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	retention := j.Retention
	if retention <= 0 {
		retention = DefaultRetention
	}
	n, err := j.Store.Expire(ctx, now().Add(-retention))
	if j.Logger != nil {
		switch {
		case err != nil:
			j.Logger.Error("retention sweep failed", zap.Error(err), zap.Int("deleted", n))
		case n > 0:
			j.Logger.Info("retention sweep", zap.Int("deleted", n), zap.Duration("retention", retention))
		}
	}
	if j.OnSweep != nil {
		j.OnSweep(n, err)
	}
	return n, err
}

// Start sweeps once immediately and then every Interval, in a goroutine,
// until Stop. Calling Start on a running Janitor does nothing.
func (j *Janitor) Start() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel = cancel
	j.done = make(chan struct{})
	go j.run(ctx, j.done)
}

// Stop ends the sweeping goroutine and waits for a sweep in progress to
// finish. It is safe to call more than once, and without Start.
func (j *Janitor) Stop() {
	j.mu.Lock()
	cancel, done := j.cancel, j.done
	j.cancel, j.done = nil, nil
	j.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (j *Janitor) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	after := time.After
	if j.After != nil {
		after = j.After
	}
	interval := j.Interval
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	for {
		// A failed sweep is logged and retried at the next tick: retention
		// is a background duty and must not take the server down.
		_, _ = j.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-after(interval):
		}
	}
}
