package inference

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the inference-pool metrics. A nil *Metrics records nothing.
type Metrics struct {
	pickerLatency *prometheus.HistogramVec
	failures      *prometheus.CounterVec
	chosenTotal   *prometheus.CounterVec
	immediates    *prometheus.CounterVec
	fallbacks     *prometheus.CounterVec
	// The built-in picker's view of each model server, as last scraped.
	waiting, running, kvUsage *prometheus.GaugeVec
}

// NewMetrics registers the inference-pool metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		pickerLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchyard_inference_picker_duration_seconds",
			Help:    "Time from asking an inference pool's picker to its decision (picker: external or builtin).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"pool", "picker"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_inference_picker_failures_total",
			Help: "Endpoint-picker failures by the pool's failure mode and the reason (connect, stream, timeout, garbage).",
		}, []string{"pool", "mode", "reason"}),
		chosenTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_inference_endpoint_chosen_total",
			Help: "Requests served by each endpoint of an inference pool.",
		}, []string{"pool", "endpoint"}),
		immediates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_inference_picker_immediate_responses_total",
			Help: "Answers an endpoint picker gave instead of an endpoint (429 shed, 503 no endpoint, ...).",
		}, []string{"pool", "status"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_inference_fallbacks_total",
			Help: "Requests an inference pool could not serve that went on to the rule's next backend.",
		}, []string{"pool", "status"}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchyard_inference_endpoint_requests_waiting",
			Help: "Requests queued on a model server, as the built-in picker last scraped them (vllm:num_requests_waiting).",
		}, []string{"pool", "endpoint"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchyard_inference_endpoint_requests_running",
			Help: "Requests running on a model server, as the built-in picker last scraped them (vllm:num_requests_running).",
		}, []string{"pool", "endpoint"}),
		kvUsage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchyard_inference_endpoint_kv_cache_usage_ratio",
			Help: "A model server's KV-cache use (0 to 1), as the built-in picker last scraped it.",
		}, []string{"pool", "endpoint"}),
	}
	reg.MustRegister(m.pickerLatency, m.failures, m.chosenTotal, m.immediates, m.fallbacks, m.waiting, m.running, m.kvUsage)
	return m
}

func (m *Metrics) latency(pool, picker string, d time.Duration) {
	if m != nil {
		m.pickerLatency.WithLabelValues(pool, picker).Observe(d.Seconds())
	}
}

func (m *Metrics) failure(pool, mode, reason string) {
	if m != nil {
		m.failures.WithLabelValues(pool, mode, reason).Inc()
	}
}

func (m *Metrics) chosen(pool, endpoint string) {
	if m != nil {
		m.chosenTotal.WithLabelValues(pool, endpoint).Inc()
	}
}

// scraped records an endpoint's scraped load.
func (m *Metrics) scraped(pool, endpoint string, waiting, running, kv float64) {
	if m != nil {
		m.waiting.WithLabelValues(pool, endpoint).Set(waiting)
		m.running.WithLabelValues(pool, endpoint).Set(running)
		m.kvUsage.WithLabelValues(pool, endpoint).Set(kv)
	}
}

// unscraped drops an endpoint's scraped load (its metrics are unavailable,
// or its pool closed): a stale figure would mislead.
func (m *Metrics) unscraped(pool, endpoint string) {
	if m != nil {
		m.waiting.DeleteLabelValues(pool, endpoint)
		m.running.DeleteLabelValues(pool, endpoint)
		m.kvUsage.DeleteLabelValues(pool, endpoint)
	}
}

func (m *Metrics) immediate(pool string, status int) {
	if m != nil {
		m.immediates.WithLabelValues(pool, strconv.Itoa(status)).Inc()
	}
}

// Fallback counts a request pool could not serve (status) that goes on to
// the next backend of its rule.
func (p *Pool) Fallback(status int) {
	if p.metrics != nil {
		p.metrics.fallbacks.WithLabelValues(p.name, strconv.Itoa(status)).Inc()
	}
}
