package mcproute

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the MCP calls by backend, target, tool and result.
type metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_mcp_calls_total",
			Help: "Calls routed to MCP targets (tools/call, prompts/get, resources/read), by backend, target, tool and result (ok, error).",
		}, []string{"backend", "target", "tool", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchyard_mcp_call_duration_seconds",
			Help:    "Time to a target's answer (a relayed stream: to its headers), by backend and target.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"backend", "target"}),
	}
	if reg != nil {
		reg.MustRegister(m.calls, m.duration)
	}
	return m
}

// observe implements mcp.CallObserver.
func (m *metrics) observe(backend, target, tool, result string, d time.Duration) {
	m.calls.WithLabelValues(backend, target, tool, result).Inc()
	m.duration.WithLabelValues(backend, target).Observe(d.Seconds())
}

func itoa(n int) string { return strconv.Itoa(n) }
