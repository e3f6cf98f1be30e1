package collector

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the collector's Prometheus series, in Caddy's registry.
type metrics struct {
	accepted  prometheus.Counter
	duplicate prometheus.Counter
	rejected  *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	// clockCorrected counts accepted segments moved to the server's clock.
	clockCorrected prometheus.Counter

	// The series every accepted upload touches, looked up once rather
	// than by label at each request.
	storedBytes, rawBytes       prometheus.Counter
	acceptedTime, duplicateTime prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "caddy_replay", "collector"
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "segments_accepted_total",
			Help: "Segments stored.",
		}),
		duplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "segments_duplicate_total",
			Help: "Uploads of segments already stored (client retries), answered without a second copy.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "segments_rejected_total",
			Help: "Uploads refused, by reason (the error field of the response).",
		}, []string{"reason"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "segment_bytes_total",
			Help: "Bytes of accepted segments: as stored (gzip) and uncompressed (raw).",
		}, []string{"kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time to answer an upload, by result (accepted, duplicate, rejected).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"result"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "uploads_in_flight",
			Help: "Uploads being decoded and stored right now.",
		}),
		clockCorrected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "segments_clock_corrected_total",
			Help: "Segments stored with their timestamps moved to the server's clock (the visitor's clock was off by more than the allowed skew).",
		}),
	}
	if reg != nil {
		m.accepted = register(reg, m.accepted)
		m.duplicate = register(reg, m.duplicate)
		m.rejected = register(reg, m.rejected)
		m.bytes = register(reg, m.bytes)
		m.latency = register(reg, m.latency)
		m.inFlight = register(reg, m.inFlight)
		m.clockCorrected = register(reg, m.clockCorrected)
	}
	m.storedBytes = m.bytes.WithLabelValues("stored")
	m.rawBytes = m.bytes.WithLabelValues("raw")
	m.acceptedTime = m.latency.WithLabelValues("accepted")
	m.duplicateTime = m.latency.WithLabelValues("duplicate")
	return m
}

// register adds c to reg, or returns the collector already registered
// under the same name: a config reload that shares Caddy's registry keeps
// counting in the same series instead of failing.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing
		}
	}
	return c
}
