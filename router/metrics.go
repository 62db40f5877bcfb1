package router

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
)

// metrics are the data plane's own Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec
	duration prometheus.Histogram
	reloads  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	routes   *prometheus.GaugeVec
	// byRoute caches each route key's counters by status class, so that the hot
	// path does a lock-free map load instead of a label hash per request.
	byRoute sync.Map // string -> *[6]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_requests_total",
			Help: "Requests served, by route key and status class (2xx, 4xx, ...).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchyard_request_duration_seconds",
			Help:    "Time from request arrival to the handler's return (streams: to the start of the body).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_config_reloads_total",
			Help: "Configuration loads, by result (ok, error). A failed reload keeps the running snapshot.",
		}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_requests_rejected_total",
			Help: "Requests rejected before routing (malformed, too large, timed out), by status.",
		}, []string{"code"}),
		routes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchyard_routes",
			Help: "Routes in the running snapshot, by state (active, disabled).",
		}, []string{"state"}),
	}
	reg.MustRegister(m.requests, m.duration, m.reloads, m.rejected, m.routes)
	return m
}

var codeClass = [...]string{"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (m *metrics) observe(rec *accessRecord, d time.Duration) {
	c := rec.status / 100
	if c < 1 || c > 5 {
		c = 5
	}
	r := rec.route
	if r == "" {
		r = "none"
	}
	v, ok := m.byRoute.Load(r)
	if !ok {
		var cs [6]prometheus.Counter
		for i := 1; i < len(cs); i++ {
			cs[i] = m.requests.WithLabelValues(r, codeClass[i])
		}
		v, _ = m.byRoute.LoadOrStore(r, &cs)
	}
	v.(*[6]prometheus.Counter)[c].Inc()
	m.duration.Observe(d.Seconds())
}

func (m *metrics) configInfo(snap *config.Snapshot) {
	active, disabled := 0, 0
	for _, r := range snap.Routes {
		if r.Disabled {
			disabled++
		} else {
			active++
		}
	}
	m.routes.WithLabelValues("active").Set(float64(active))
	m.routes.WithLabelValues("disabled").Set(float64(disabled))
}

// ReloadFailed counts a reload that failed before reaching Apply (a file that did not load).
func (g *Gateway) ReloadFailed() { g.metrics.reloads.WithLabelValues("error").Inc() }
