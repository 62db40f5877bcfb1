package meter

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the metering service's Prometheus series. Labels are bounded:
// subjects of budgets are the configured keys, consumers and teams; models
// are the configured ones ("other" for the rest).
type metrics struct {
	cost            *prometheus.CounterVec
	denied          *prometheus.CounterVec
	audited         *prometheus.CounterVec
	budgetRemaining *prometheus.GaugeVec
	storeErrors     *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
}

// newMetrics registers the metrics on reg (nil: unregistered).
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_cost_total",
			Help: "Cost of the requests served, in USD, by model, at the configured prices."}, []string{"gen_ai_request_model"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_ratelimit_denied_total",
			Help: "Requests refused by a rate limit or budget, by kind (rate_limit, budget) and subject."}, []string{"kind", "subject"}),
		audited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_ratelimit_audited_total",
			Help: "Requests an audit-mode limit or budget would have refused, let through."}, []string{"kind", "subject"}),
		budgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchyard_budget_remaining",
			Help: "What a budget has left at its last use, in its unit (usd or tokens)."}, []string{"subject", "name", "unit"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_store_errors_total",
			Help: "Failed calls to a metering store, by store (counters, keys, usage)."}, []string{"store"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_client_auth_failures_total",
			Help: "Requests refused by client auth, by reason."}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.cost, m.denied, m.audited, m.budgetRemaining, m.storeErrors, m.authFailures)
	}
	return m
}

// subjectOf returns a counter key's first subject: ("consumer", "alice").
func subjectOf(key string) (kind, name string) {
	_, rest, _ := strings.Cut(key, "|")
	first, _, _ := strings.Cut(rest, "|")
	kind, name, _ = strings.Cut(first, "=")
	return kind, name
}
