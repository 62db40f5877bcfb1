package policies

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Metrics records OpenTelemetry GenAI-convention metrics for every AI
// exchange: gen_ai_client_token_usage, gen_ai_server_request_duration,
// gen_ai_server_time_to_first_token, and switchyard_ai_requests_total. Labels
// never carry secrets; the only client-chosen value is the model, and its
// values are bounded: a model the configuration names is its own label, the
// first MaxUnlistedModels other names a catch-all backend served (each at most
// MaxModelLabelLen bytes) too, and every other name shares OtherModel.
type Metrics struct {
	tokens   *prometheus.HistogramVec
	duration *prometheus.HistogramVec
	ttft     *prometheus.HistogramVec
	requests *prometheus.CounterVec

	unlisted  sync.Map // model name -> struct{}: the unlisted names admitted as labels
	mu        sync.Mutex
	nUnlisted int

	// The children of the vectors, by label values: WithLabelValues hashes
	// and validates every value on each call (four calls per exchange). The
	// label values are bounded (see modelLabel), so are these maps; nothing
	// deletes a child from the vectors, so a cached child stays current.
	series sync.Map // seriesKey -> *series
	counts sync.Map // countKey -> prometheus.Counter
}

// seriesKey names the GenAI series of one operation, provider and model.
type seriesKey struct {
	op              schema.Operation
	provider, model string
}

// series holds the observers of one seriesKey, each made on its first
// observation (a series exists once observed, as with WithLabelValues).
type series struct {
	key                           seriesKey
	duration, ttft, input, output atomic.Pointer[prometheus.Observer]
}

// Which observer of a series.
const (
	obsDuration = iota
	obsTTFT
	obsInput
	obsOutput
)

// observe records v in observer which of s, making the child once.
func (m *Metrics) observe(s *series, which int, v float64) {
	p := [...]*atomic.Pointer[prometheus.Observer]{&s.duration, &s.ttft, &s.input, &s.output}[which]
	if o := p.Load(); o != nil {
		(*o).Observe(v)
		return
	}
	op, k := OperationName(s.key.op), s.key
	var o prometheus.Observer
	switch which {
	case obsDuration:
		o = m.duration.WithLabelValues(op, k.provider, k.model)
	case obsTTFT:
		o = m.ttft.WithLabelValues(op, k.provider, k.model)
	case obsInput:
		o = m.tokens.WithLabelValues(op, k.provider, k.model, "input")
	default:
		o = m.tokens.WithLabelValues(op, k.provider, k.model, "output")
	}
	p.Store(&o)
	o.Observe(v)
}

// countKey names one switchyard_ai_requests_total counter.
type countKey struct {
	backend, model string
	status         int
}

// Bounds of the model label.
const (
	// MaxUnlistedModels is how many model names the configuration does not
	// list may become labels of one Metrics.
	MaxUnlistedModels = 100
	// MaxModelLabelLen is the longest unlisted model name taken as a label.
	MaxModelLabelLen = 128
	// OtherModel is the label of every other unlisted model name.
	OtherModel = "other"
)

var (
	_ Policy      = (*Metrics)(nil)
	_ Reservation = (*Metrics)(nil)
)

// Bucket boundaries advised by the GenAI semantic conventions.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
)

// NewMetrics registers the metrics with reg (nil: not registered, for tests
// that only call Done).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	genAI := []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"}
	m := &Metrics{
		tokens: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_client_token_usage",
			Help:    "Number of input and output tokens used, by operation, provider and model.",
			Buckets: tokenBuckets,
		}, append(genAI[:3:3], "gen_ai_token_type")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_server_request_duration",
			Help:    "Time from the request's arrival to the end of its response, in seconds.",
			Buckets: durationBuckets,
		}, genAI),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_server_time_to_first_token",
			Help:    "Time from the request's arrival to the first streamed chunk, in seconds.",
			Buckets: ttftBuckets,
		}, genAI),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchyard_ai_requests_total",
			Help: "AI requests by backend, client-facing model and response status.",
		}, []string{"backend", "model", "status"}),
	}
	if reg != nil {
		reg.MustRegister(m.tokens, m.duration, m.ttft, m.requests)
	}
	return m
}

// Collectors returns the metrics, for callers that register them themselves.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.tokens, m.duration, m.ttft, m.requests}
}

// Request implements [Policy.Request]; metrics never deny. The Metrics
// itself is the reservation: it records the exchange when it is settled.
// Exchanges with no operation (static routes) are not AI exchanges and are
// not recorded.
func (m *Metrics) Request(context.Context, *Exchange) (Reservation, error) { return m, nil }

// Settle implements [Reservation.Settle].
func (m *Metrics) Settle(_ context.Context, x *Exchange, u schema.Usage) {
	if x.Operation == 0 {
		return
	}
	model := m.modelLabel(x)
	m.counter(x.Backend, model, x.Status).Inc()
	s := m.seriesOf(x.Operation, x.Provider, model)
	if !x.Start.IsZero() {
		end := x.End
		if end.IsZero() {
			end = time.Now()
		}
		m.observe(s, obsDuration, end.Sub(x.Start).Seconds())
		if x.Stream && !x.FirstByte.IsZero() {
			m.observe(s, obsTTFT, x.FirstByte.Sub(x.Start).Seconds())
		}
	}
	if u.PromptTokens > 0 {
		m.observe(s, obsInput, float64(u.PromptTokens))
	}
	if u.CompletionTokens > 0 {
		m.observe(s, obsOutput, float64(u.CompletionTokens))
	}
}

// seriesOf returns the observers of op, provider and model, made once.
func (m *Metrics) seriesOf(op schema.Operation, provider, model string) *series {
	k := seriesKey{op, provider, model}
	if s, ok := m.series.Load(k); ok {
		return s.(*series)
	}
	k.provider, k.model = strings.Clone(provider), strings.Clone(model) // the key outlives the exchange
	v, _ := m.series.LoadOrStore(k, &series{key: k})
	return v.(*series)
}

// counter returns the requests counter of backend, model and status, made once.
func (m *Metrics) counter(backend, model string, status int) prometheus.Counter {
	k := countKey{backend, model, status}
	if c, ok := m.counts.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := m.requests.WithLabelValues(backend, model, strconv.Itoa(status))
	k.backend, k.model = strings.Clone(backend), strings.Clone(model)
	v, _ := m.counts.LoadOrStore(k, c)
	return v.(prometheus.Counter)
}

// modelLabel bounds the model label's values (see [Metrics]). A name that is
// not valid UTF-8 (which would make the label functions panic) is OtherModel.
func (m *Metrics) modelLabel(x *Exchange) string {
	name := x.Model
	switch {
	case !utf8.ValidString(name):
		return OtherModel
	case x.ModelListed || name == "":
		return name
	case len(name) > MaxModelLabelLen:
		return OtherModel
	}
	if _, ok := m.unlisted.Load(name); ok {
		return name
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.unlisted.Load(name); ok {
		return name
	}
	if m.nUnlisted >= MaxUnlistedModels {
		return OtherModel
	}
	m.nUnlisted++
	m.unlisted.Store(strings.Clone(name), struct{}{})
	return name
}

// OperationName is the GenAI convention's gen_ai.operation.name for op.
func OperationName(op schema.Operation) string {
	switch op {
	case schema.OpChat:
		return "chat"
	case schema.OpCompletion:
		return "text_completion"
	case schema.OpEmbeddings:
		return "embeddings"
	}
	return "unknown"
}
