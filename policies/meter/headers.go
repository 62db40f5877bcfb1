package meter

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/store"
)

// headers sets OpenAI's x-ratelimit-* headers from the tightest request
// limit and the tightest token limit of a decision, on allowed and refused
// requests alike.
func (s *Service) headers(x *policies.Exchange, r *reservation, d store.Decision) {
	req, tok := -1, -1
	for i, k := range r.kinds {
		if i >= len(d.States) {
			break
		}
		switch k {
		case chRequests:
			if req < 0 || d.States[i].Remaining < d.States[req].Remaining {
				req = i
			}
		case chTokensTotal, chTokensInput, chTokensOutput:
			if r.charges[i].Counter.Algorithm != store.Bucket {
				continue // token budgets are not rate limits
			}
			if tok < 0 || d.States[i].Remaining < d.States[tok].Remaining {
				tok = i
			}
		}
	}
	if req >= 0 {
		x.SetResponseHeader("x-ratelimit-limit-requests", limitText(r, req))
		x.SetResponseHeader("x-ratelimit-remaining-requests", strconv.FormatInt(d.States[req].Remaining, 10))
		x.SetResponseHeader("x-ratelimit-reset-requests", formatReset(d.States[req].Reset))
	}
	if tok >= 0 {
		x.SetResponseHeader("x-ratelimit-limit-tokens", limitText(r, tok))
		x.SetResponseHeader("x-ratelimit-remaining-tokens", strconv.FormatInt(d.States[tok].Remaining, 10))
		x.SetResponseHeader("x-ratelimit-reset-tokens", formatReset(d.States[tok].Reset))
	}
}

// limitText is charge i's limit as a header value: formatted when the limit
// was compiled.
func limitText(r *reservation, i int) string {
	if i < len(r.limits) && r.limits[i] != "" {
		return r.limits[i]
	}
	return strconv.FormatInt(r.charges[i].Counter.Limit, 10)
}

// formatReset writes a duration as OpenAI does in x-ratelimit-reset-*:
// "1s", "6m0s", "20ms".
func formatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// audited counts the audit-mode limits and budgets a request passed over.
func (s *Service) audited(r *reservation, d store.Decision) {
	for _, i := range d.Audited {
		c := r.charges[i].Counter
		kind := "rate_limit"
		if r.kinds[i] == chMoney || c.Algorithm != store.Bucket {
			kind = "budget"
		}
		s.metrics.audited.WithLabelValues(kind, subjectKind(c.Key)).Inc()
		s.log.Info("audit: request over a limit let through", "limit", r.labels[i], "subject", describeSubject(c.Key))
	}
	for i, k := range r.kinds {
		c := r.charges[i].Counter
		if c.Algorithm == store.Bucket || i >= len(d.States) {
			continue
		}
		v := float64(d.States[i].Remaining)
		if k == chMoney {
			v /= 1e12
		}
		s.remainingGauge(c.Key, k == chMoney).Set(v)
	}
}

// remainingGauge returns switchyard_budget_remaining's series for a counter
// (its key gives the subject labels; money is in USD, else tokens), cached:
// every admission sets its budgets' series, and a cached lookup costs a
// fraction of WithLabelValues. Counters of one subject and unit (a daily
// and a monthly budget, say) share a series, as the labels do; the cache
// keeps an entry per counter key seen, bounded by the configured budgets.
// Whatever resets or deletes the vector's series must clear both caches.
func (s *Service) remainingGauge(key string, money bool) prometheus.Gauge {
	cache, unit := &s.remainingTokens, "tokens"
	if money {
		cache, unit = &s.remainingUSD, "usd"
	}
	if g, ok := cache.Load(key); ok {
		return g.(prometheus.Gauge)
	}
	kind, name := subjectOf(key)
	g, _ := cache.LoadOrStore(key, s.metrics.budgetRemaining.WithLabelValues(kind, name, unit))
	return g.(prometheus.Gauge)
}
