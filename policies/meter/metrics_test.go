package meter

import (
	"context"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestBudgetRemainingGauge: admission sets switchyard_budget_remaining for a
// subject's token and money budgets, each in its unit, from the cached
// series, on every request.
func TestBudgetRemainingGauge(t *testing.T) {
	const carolKey = "sk-test-carol-0123456789"
	f := newFixtureWith(t, `
listeners: [{name: http, port: 8080}]
routes:
  - name: llm
    policies: {clientAuth: {apiKeys: {}}}
    rules: [{backendRefs: [{name: sim}]}]
backends: [{name: sim, ai: {provider: sim}}]
access:
  prices:
    gpt-4o-mini: {input: 0.15, output: 0.60}
  consumers:
    - name: carol
      keys: [{id: carol, value: `+carolKey+`}]
      budgets: [{tokens: 5000, period: day}, {usd: 1, period: day}]
`, func(o *Options) { o.Registry = prometheus.NewRegistry() })
	gauge := func(unit string) float64 {
		var m dto.Metric
		if err := f.svc.metrics.budgetRemaining.WithLabelValues("consumer", "carol", unit).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}
	carol := map[string]string{"x-api-key": carolKey}
	// 100 prompt and 100 output tokens reserved: 200 tokens, $0.000075.
	for i, want := range []struct{ tokens, usd float64 }{{4800, 0.999925}, {4600, 0.99985}} {
		x, rs, d := f.exchange(t, carol, "gpt-4o-mini", 100, 100)
		if d != nil {
			t.Fatalf("request %d: %v", i, d)
		}
		if got := gauge("tokens"); got != want.tokens {
			t.Errorf("request %d: tokens remaining %v, want %v", i, got, want.tokens)
		}
		if got := gauge("usd"); math.Abs(got-want.usd) > 1e-9 {
			t.Errorf("request %d: usd remaining %v, want %v", i, got, want.usd)
		}
		rs.Settle(context.Background(), x, schema.Usage{PromptTokens: 100, CompletionTokens: 100})
	}
}
