package collector

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Rate is a token bucket: Burst requests at once, refilled at PerSecond.
type Rate struct {
	// PerSecond is the sustained rate. Zero means the default; a negative
	// value disables the limit.
	PerSecond float64 `json:"per_second,omitempty"`
	// Burst is how many requests may arrive at once. Zero means the
	// default (for a custom PerSecond: 4 seconds' worth, at least 1).
	Burst int `json:"burst,omitempty"`
}

func (r Rate) withDefault(d Rate) Rate {
	if r.PerSecond == 0 {
		r.PerSecond = d.PerSecond
		if r.Burst == 0 {
			r.Burst = d.Burst
		}
	}
	if r.Burst <= 0 {
		r.Burst = max(1, int(math.Ceil(4*r.PerSecond)))
	}
	return r
}

// limiter keeps one token bucket per key (a client IP, a session id) in a
// bounded, sharded map. Buckets that are full again carry no information
// and are dropped when a shard grows.
type limiter struct {
	rate   Rate
	seed   maphash.Seed
	shards [64]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBucketsPerShard bounds the memory of a limiter (64 shards × 4096
// buckets) whatever the number of clients.
const maxBucketsPerShard = 4096

func newLimiter(r Rate) *limiter {
	if r.PerSecond < 0 {
		return nil
	}
	l := &limiter{rate: r, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = make(map[string]*bucket)
	}
	return l
}

// allow takes a token for key at now. When there is none it returns false
// and how long until there is one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	return l.allowN(key, now, 1)
}

// allowN takes n tokens for key at now (at most Burst: a cost larger than
// the bucket would never be allowed). When there are not enough it takes
// none and returns false and how long until there are.
func (l *limiter) allowN(key string, now time.Time, n float64) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	n = min(n, float64(l.rate.Burst))
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b := sh.buckets[key]
	if b == nil {
		if len(sh.buckets) >= maxBucketsPerShard {
			sh.sweep(l.rate, now)
		}
		b = &bucket{tokens: float64(l.rate.Burst), last: now}
		sh.buckets[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(l.rate.Burst), b.tokens+el*l.rate.PerSecond)
		b.last = now
	}
	if b.tokens >= n {
		b.tokens -= n
		return true, 0
	}
	wait := time.Duration((n - b.tokens) / l.rate.PerSecond * float64(time.Second))
	return false, wait
}

// sweep drops buckets that have refilled; if that frees nothing (a flood
// of distinct keys), it drops half of them: forgetting a client only
// grants it a fresh burst.
func (sh *limiterShard) sweep(r Rate, now time.Time) {
	full := time.Duration(float64(r.Burst) / r.PerSecond * float64(time.Second))
	for k, b := range sh.buckets {
		if now.Sub(b.last) >= full {
			delete(sh.buckets, k)
		}
	}
	if len(sh.buckets) < maxBucketsPerShard*3/4 {
		return
	}
	n := 0
	for k := range sh.buckets {
		if n%2 == 0 {
			delete(sh.buckets, k)
		}
		n++
	}
}
