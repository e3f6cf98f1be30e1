package caddymodule

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// handlerMetrics are the replay handler's series in Caddy's metrics
// registry (served by Caddy's `metrics` handler or admin endpoint).
type handlerMetrics struct {
	// responses counts HTML-rewriting decisions by outcome: "injected",
	// or the reason the response was left alone ("not_html", "fragment",
	// "unsampled", "encoding", ...).
	responses *prometheus.CounterVec
}

func newHandlerMetrics(reg prometheus.Registerer) (*handlerMetrics, error) {
	m := &handlerMetrics{
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "replay",
			Name:      "responses_total",
			Help:      "Responses that passed the replay handler, by injection outcome.",
		}, []string{"outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	// Several replay handlers (one per site) share a configuration's
	// registry: the first registers, the others reuse its series.
	if err := reg.Register(m.responses); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		m.responses = are.ExistingCollector.(*prometheus.CounterVec)
	}
	return m, nil
}
