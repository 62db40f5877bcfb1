package meter

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/tokens"
	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/memory"
)

// benchConfig is the metering of `make bench`'s metering scenarios: one
// consumer with a token rate limit and a money budget that never refuse.
const benchConfig = `
listeners: [{name: http, port: 8080}]
routes:
  - name: llm
    policies:
      clientAuth: {apiKeys: {}}
    rules: [{backendRefs: [{name: sim}]}]
backends: [{name: sim, ai: {provider: sim}}]
access:
  prices:
    gpt-4o-mini: {input: 0.15, output: 0.60}
  consumers:
    - name: loadtest
      keys: [{id: loadtest, value: sk-loadtest-metered-0001}]
      limits: [{tokens: 1000000000000, per: minute}]
      budgets: [{usd: 1000000, period: day}]
`

// nopRecorder takes usage records and drops them.
type nopRecorder struct{ n int }

func (r *nopRecorder) Record(store.Record) { r.n++ }

// BenchmarkMeterChain runs one request through the metering chain as the
// router does: client auth (a configured key), admission (a token rate limit
// and a money budget reserved in one Counters.Reserve on memory counters),
// then the settlement of the admission and of the usage recorder (one usage
// record to a no-op Recorder). "estimate" reserves a quarter of the body's
// bytes as prompt tokens; "tokenizer" counts the prompt as the gateway does
// (tiktoken, with its count cache) on the load generator's SDK request.
func BenchmarkMeterChain(b *testing.B) {
	body := []byte(`{"messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"Explain in one sentence what an AI gateway does."}],` +
		`"model":"gpt-4o-mini","max_tokens":128,"stream":false}`)
	req := &schema.ChatRequest{Model: "gpt-4o-mini", Messages: []schema.Message{
		{Role: "system", Content: schema.TextContent("You are a helpful assistant.")},
		{Role: "user", Content: schema.TextContent("Explain in one sentence what an AI gateway does.")},
	}}
	decoded := func() (*schema.ChatRequest, error) { return req, nil }
	tk := tokens.New()
	for _, bc := range []struct {
		name  string
		count func(x *policies.Exchange) int
	}{
		{"estimate", nil},
		{"tokenizer", func(x *policies.Exchange) int {
			r, err := x.Decoded()
			if err != nil {
				return 0
			}
			return tk.CountChat(r)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			snap, err := config.LoadBytes("bench.yaml", []byte(benchConfig), func(string) (string, bool) { return "", false })
			if err != nil {
				b.Fatal(err)
			}
			ctrs, err := memory.NewCounters(memory.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer ctrs.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := &nopRecorder{}
			svc, err := New(ctx, Options{Counters: ctrs, Usage: rec, CountPrompt: bc.count})
			if err != nil {
				b.Fatal(err)
			}
			comp, err := svc.Compile(snap)
			if err != nil {
				b.Fatal(err)
			}
			ps, err := comp.Policies("default/llm", *snap.Config.Routes[0].Policies)
			if err != nil {
				b.Fatal(err)
			}
			chain := policies.NewChain(append(ps, svc.Policy())...)
			hdr := func(n string) string {
				if n == "Authorization" {
					return "Bearer sk-loadtest-metered-0001"
				}
				return ""
			}
			u := schema.Usage{PromptTokens: 19, CompletionTokens: 10, TotalTokens: 29}
			x := &policies.Exchange{}
			rs := &policies.Reservations{}
			b.ReportAllocs()
			for b.Loop() {
				*x = policies.Exchange{RequestID: "req-0123456789", RouteKey: "default.llm.0.0", Header: hdr, Body: body,
					Decoded: decoded, Model: "gpt-4o-mini", UpstreamModel: "gpt-4o-mini", ModelListed: true,
					Operation: schema.OpChat, MaxTokens: 128, Start: time.Now(), Status: 200,
					Backend: "default/sim", Provider: "openai", ResponseHeaders: x.ResponseHeaders[:0]}
				rs.Reset()
				if err := chain.Observe(ctx, x, rs); err != nil {
					b.Fatal(err)
				}
				if err := chain.Authenticate(ctx, x, rs); err != nil {
					b.Fatal(err)
				}
				if err := chain.Admit(ctx, x, rs); err != nil {
					b.Fatal(err)
				}
				rs.Settle(ctx, x, u)
			}
			if rec.n < b.N {
				b.Fatalf("%d usage records for %d requests", rec.n, b.N)
			}
		})
	}
}
