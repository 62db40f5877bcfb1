package meter

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/store"
)

// Recorder takes usage records without blocking (store.Recorder).
type Recorder interface {
	Record(r store.Record)
}

// usagePolicy writes one usage record per AI exchange, however it ends,
// and counts its cost. It is an observer: it sees denials too.
type usagePolicy struct{ svc *Service }

var _ policies.Policy = usagePolicy{}

// Request implements [policies.Policy]; the reservation carries no state of
// its own (Settle reads the exchange), so it allocates nothing.
func (p usagePolicy) Request(context.Context, *policies.Exchange) (policies.Reservation, error) {
	return p, nil
}

// Settle implements [policies.Reservation].
func (p usagePolicy) Settle(_ context.Context, x *policies.Exchange, u schema.Usage) {
	if x.Operation == 0 {
		return // not an AI request
	}
	s := p.svc
	dir := s.dir.Load()
	got := usageOf(u)
	rec := store.Record{
		RequestID: x.RequestID, Time: x.Start, Route: x.RouteKey, Backend: x.Backend, Provider: x.Provider, Model: x.Model,
		InputTokens: got.input, OutputTokens: got.output, CachedTokens: got.cached, ReasoningTokens: got.reasoning,
		Status: x.Status, Latency: s.at(x.End).Sub(x.Start), Estimated: u.Estimated,
	}
	if pr := x.Principal; pr != nil {
		rec.KeyID, rec.Consumer, rec.Team = pr.KeyID, pr.Consumer, pr.Team
	}
	if !x.FirstByte.IsZero() {
		rec.TTFT = x.FirstByte.Sub(x.Start)
	}
	if dir != nil {
		var priced bool
		rec.CostPico, priced = dir.cost(x.Model, x.UpstreamModel, got)
		if priced && rec.CostPico > 0 {
			model := "other"
			if x.ModelListed {
				model = x.Model
			}
			s.costCounter(model).Add(float64(rec.CostPico) / 1e12)
		}
	}
	if s.usage != nil {
		s.usage.Record(rec)
	}
}

// costCounter returns switchyard_cost_total's series for model, cached: the
// labels are the listed models and "other", so the cache stays small, and a
// lookup costs a tenth of WithLabelValues.
func (s *Service) costCounter(model string) prometheus.Counter {
	if c, ok := s.costByModel.Load(model); ok {
		return c.(prometheus.Counter)
	}
	c, _ := s.costByModel.LoadOrStore(model, s.metrics.cost.WithLabelValues(model))
	return c.(prometheus.Counter)
}
