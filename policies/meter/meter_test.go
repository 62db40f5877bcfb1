package meter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/memory"
)

const (
	aliceKey = "sk-test-alice-0123456789"
	bobKey   = "sk-test-bob-0123456789ab"
	oldKey   = "sk-test-expired-0123456"
)

// fixture is a Service over memory counters with a settable clock.
type fixture struct {
	svc  *Service
	comp policies.Compiled
	now  time.Time
}

func newFixture(t *testing.T, yaml string) *fixture {
	t.Helper()
	return newFixtureWith(t, yaml, nil)
}

// newFixtureWith is newFixture with options changed by more (nil: none).
func newFixtureWith(t *testing.T, yaml string, more func(o *Options)) *fixture {
	t.Helper()
	snap, err := config.LoadBytes("test.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctrs, err := memory.NewCounters(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ctrs.Close() })
	f := &fixture{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := Options{Counters: ctrs, Now: func() time.Time { return f.now },
		CountPrompt: func(x *policies.Exchange) int { return x.PromptTokens }}
	if more != nil {
		more(&o)
	}
	f.svc, err = New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if f.comp, err = f.svc.Compile(snap); err != nil {
		t.Fatal(err)
	}
	return f
}

const base = `
listeners: [{name: http, port: 8080}]
routes:
  - name: llm
    policies:
      clientAuth: {apiKeys: {}}
      rateLimits: [{requests: 3, per: minute, by: [consumer, model]}]
    rules: [{backendRefs: [{name: sim}]}]
backends: [{name: sim, ai: {provider: sim}}]
access:
  prices:
    gpt-4o-mini: {input: 0.15, output: 0.60}
  consumers:
    - name: alice
      team: research
      keys: [{id: alice, value: ` + aliceKey + `, models: [gpt-4o-mini]}]
      limits: [{tokens: 1000, per: minute}]
    - name: bob
      keys:
        - {id: bob, value: ` + bobKey + `}
        - {id: old, value: ` + oldKey + `, expiresAt: 2026-01-01T00:00:00Z}
      budgets: [{usd: 0.001, period: day, timeZone: Europe/Paris}]
`

// exchange runs one request through the rule's chain as the router does:
// auth, then admission; it returns the denial (nil: admitted) and the reservations.
func (f *fixture) exchange(t *testing.T, hdr map[string]string, model string, prompt, maxTokens int) (*policies.Exchange, *policies.Reservations, *policies.Denial) {
	t.Helper()
	ps, err := f.comp.Policies("default/llm", f.svc.dir.Load().route(t))
	if err != nil {
		t.Fatal(err)
	}
	chain := policies.NewChain(ps...)
	x := &policies.Exchange{RequestID: "r", RouteKey: "default.llm.0.0", Header: func(n string) string { return hdr[n] },
		Model: model, ModelListed: true, Operation: schema.OpChat, PromptTokens: prompt, MaxTokens: maxTokens, Start: f.now}
	rs := &policies.Reservations{}
	ctx := context.Background()
	for _, step := range []func(context.Context, *policies.Exchange, *policies.Reservations) error{chain.Authenticate, chain.Admit} {
		if err := step(ctx, x, rs); err != nil {
			var d *policies.Denial
			if !errors.As(err, &d) {
				t.Fatalf("not a denial: %v", err)
			}
			return x, rs, d
		}
	}
	return x, rs, nil
}

// route returns the route's policies of the base configuration.
func (d *directory) route(t *testing.T) config.Policies {
	t.Helper()
	return config.Policies{ClientAuth: &config.ClientAuth{APIKeys: &config.APIKeyAuth{}},
		RateLimits: []config.Limit{{Requests: 3, Per: "minute", By: []string{"consumer", "model"}, TokenType: "total", OnExceeded: "Block"}}}
}

func TestClientAuth(t *testing.T) {
	f := newFixture(t, base)
	tests := []struct {
		name     string
		hdr      map[string]string
		status   int
		consumer string
		msg      string
	}{
		{"bearer key", map[string]string{"Authorization": "Bearer " + aliceKey}, 0, "alice", ""},
		{"x-api-key", map[string]string{"x-api-key": bobKey}, 0, "bob", ""},
		{"lower-case scheme", map[string]string{"Authorization": "bearer " + bobKey}, 0, "bob", ""},
		{"missing", nil, 401, "", "Missing credentials"},
		{"unknown key", map[string]string{"Authorization": "Bearer sk-test-forged-000000000"}, 401, "", "Incorrect API key"},
		{"expired", map[string]string{"Authorization": "Bearer " + oldKey}, 401, "", "expired"},
		{"malformed header", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, 401, "", "must be `Bearer <key>`"},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, 401, "", "must be `Bearer <key>`"},
		{"jwt on a key-only route", map[string]string{"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, 401, "", "Incorrect API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, rs, d := f.exchange(t, tc.hdr, "gpt-4o-mini", 10, 10)
			defer rs.Settle(context.Background(), x, schema.Usage{})
			if tc.status == 0 {
				if d != nil {
					t.Fatalf("denied: %v", d)
				}
				if x.Principal == nil || x.Principal.Consumer != tc.consumer || !x.Credential {
					t.Fatalf("principal = %+v, credential %v", x.Principal, x.Credential)
				}
				return
			}
			if d == nil || d.Status != tc.status || !contains(d.Message, tc.msg) {
				t.Fatalf("denial = %+v, want %d with %q", d, tc.status, tc.msg)
			}
			if contains(d.Message, "sk-test") {
				t.Fatalf("the message quotes the key: %q", d.Message)
			}
		})
	}
}

func TestAllowedModels(t *testing.T) {
	f := newFixture(t, base)
	_, _, d := f.exchange(t, map[string]string{"Authorization": "Bearer " + aliceKey}, "gpt-4o", 10, 10)
	if d == nil || d.Status != 403 || d.Code != "model_not_allowed" {
		t.Fatalf("denial = %+v, want 403 model_not_allowed", d)
	}
}

func TestTokenLimit(t *testing.T) {
	f := newFixture(t, base)
	alice := map[string]string{"Authorization": "Bearer " + aliceKey}
	// 600 reserved (100 prompt + 500 max), 150 used: 850 left.
	x, rs, d := f.exchange(t, alice, "gpt-4o-mini", 100, 500)
	if d != nil {
		t.Fatalf("first request denied: %v", d)
	}
	if got := header(x, "x-ratelimit-remaining-tokens"); got != "400" {
		t.Fatalf("remaining tokens after reserve = %q, want 400", got)
	}
	if got := header(x, "x-ratelimit-limit-tokens"); got != "1000" {
		t.Fatalf("limit tokens = %q", got)
	}
	rs.Settle(context.Background(), x, schema.Usage{PromptTokens: 100, CompletionTokens: 50})
	// 900 asked with 850 left: refused, with a Retry-After and the headers.
	x, _, d = f.exchange(t, alice, "gpt-4o-mini", 400, 500)
	if d == nil || d.Status != 429 || d.Code != "rate_limit_exceeded" || d.RetryAfter < 1 {
		t.Fatalf("denial = %+v, want 429 with Retry-After", d)
	}
	if got := header(x, "x-ratelimit-remaining-tokens"); got != "850" {
		t.Fatalf("remaining tokens on refusal = %q, want 850", got)
	}
	if !contains(d.Message, "consumer alice") || !contains(d.Message, "tokens per minute") {
		t.Fatalf("message = %q", d.Message)
	}
	// A minute later the bucket is full again.
	f.now = f.now.Add(time.Minute)
	if _, rs, d = f.exchange(t, alice, "gpt-4o-mini", 400, 500); d != nil {
		t.Fatalf("after refill: %v", d)
	}
	rs.Settle(context.Background(), x, schema.Usage{PromptTokens: 400, CompletionTokens: 500})
}

func TestRouteRequestLimitByConsumer(t *testing.T) {
	f := newFixture(t, base)
	bob := map[string]string{"x-api-key": bobKey}
	for i := range 3 {
		x, rs, d := f.exchange(t, bob, "gpt-4o-mini", 0, 1)
		if d != nil {
			t.Fatalf("request %d denied: %v", i+1, d)
		}
		if got, want := header(x, "x-ratelimit-remaining-requests"), []string{"2", "1", "0"}[i]; got != want {
			t.Fatalf("request %d: remaining requests %q, want %q", i+1, got, want)
		}
		rs.Settle(context.Background(), x, schema.Usage{})
	}
	if _, _, d := f.exchange(t, bob, "gpt-4o-mini", 0, 1); d == nil || d.Status != 429 {
		t.Fatalf("fourth request: %+v, want 429", d)
	}
	// alice has her own counter.
	if _, rs, d := f.exchange(t, map[string]string{"Authorization": "Bearer " + aliceKey}, "gpt-4o-mini", 1, 1); d != nil {
		t.Fatalf("alice denied by bob's counter: %v", d)
	} else {
		rs.Settle(context.Background(), nil, schema.Usage{})
	}
}

func TestMoneyBudget(t *testing.T) {
	f := newFixture(t, base)
	bob := map[string]string{"x-api-key": bobKey}
	// $0.001 a day; each request costs 1000 in * 0.15 + 1000 out * 0.60 per M = $0.00075.
	x, rs, d := f.exchange(t, bob, "gpt-4o-mini", 1000, 1000)
	if d != nil {
		t.Fatalf("first: %v", d)
	}
	rs.Settle(context.Background(), x, schema.Usage{PromptTokens: 1000, CompletionTokens: 1000})
	f.now = f.now.Add(2 * time.Minute) // past the route's request limit window
	if _, _, d = f.exchange(t, bob, "gpt-4o-mini", 1000, 1000); d == nil || d.Code != "budget_exceeded" {
		t.Fatalf("second: %+v, want budget_exceeded", d)
	}
	// A smaller request still fits ($0.00025 left; 100+100 tokens cost $0.000075).
	x, rs, d = f.exchange(t, bob, "gpt-4o-mini", 100, 100)
	if d != nil {
		t.Fatalf("small request: %v", d)
	}
	rs.Settle(context.Background(), x, schema.Usage{PromptTokens: 100, CompletionTokens: 100})
	// Midnight in Paris (23:00 UTC) starts a new day.
	f.now = time.Date(2026, 12, 7, 23, 0, 1, 0, time.UTC)
	if _, rs, d = f.exchange(t, bob, "gpt-4o-mini", 1000, 1000); d != nil {
		t.Fatalf("next day in Paris: %v", d)
	} else {
		rs.Settle(context.Background(), nil, schema.Usage{})
	}
}

func TestCost(t *testing.T) {
	d := &directory{prices: map[string]config.Price{
		"gpt-4o-mini": {Input: 0.15, Output: 0.60, CachedInput: 0.075},
		"o3":          {Input: 2, Output: 8, Reasoning: 8},
	}}
	tests := []struct {
		model, upstream string
		u               usage
		want            int64
		priced          bool
	}{
		{"gpt-4o-mini", "", usage{input: 1_000_000}, 150_000_000_000, true},
		{"gpt-4o-mini", "", usage{input: 1000, cached: 400, output: 10}, 600*150_000 + 400*75_000 + 10*600_000, true},
		{"mini", "gpt-4o-mini-2024-07-18", usage{output: 1}, 600_000, true},
		{"o3", "", usage{output: 10, reasoning: 4}, 10 * 8_000_000, true},
		{"unknown", "", usage{input: 10}, 0, false},
	}
	for _, tc := range tests {
		got, ok := d.cost(tc.model, tc.upstream, tc.u)
		if got != tc.want || ok != tc.priced {
			t.Errorf("cost(%s, %+v) = %d, %v; want %d, %v", tc.model, tc.u, got, ok, tc.want, tc.priced)
		}
	}
}

func header(x *policies.Exchange, name string) string {
	for _, h := range x.ResponseHeaders {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && indexOf(s, sub) >= 0
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

var _ store.Counters = (*memory.Counters)(nil)

// TestOpaqueRequests: a request an inference pool is sent as it is (no model,
// no usage read) is refused for a key limited to some models and where a
// token limit or budget applies, and passes where only request limits do.
func TestOpaqueRequests(t *testing.T) {
	f := newFixture(t, base)
	for _, tc := range []struct {
		name, key, code string
	}{
		{"model allowlist", aliceKey, "model_not_allowed"},
		{"money budget", bobKey, "not_metered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, rs, d := f.opaque(t, map[string]string{"x-api-key": tc.key})
			if d == nil || d.Status != 403 || d.Code != tc.code {
				t.Fatalf("denial %+v, want 403 %s", d, tc.code)
			}
			rs.Settle(context.Background(), x, schema.Usage{})
		})
	}
	// Only the route's request limit applies to a key without limits of its own.
	g := newFixture(t, `
listeners: [{name: http, port: 8080}]
routes:
  - name: llm
    policies:
      clientAuth: {apiKeys: {}}
      rateLimits: [{requests: 3, per: minute, by: [consumer]}]
    rules: [{backendRefs: [{name: sim}]}]
backends: [{name: sim, ai: {provider: sim}}]
access:
  consumers:
    - name: carol
      keys: [{id: carol, value: sk-test-carol-0123456789}]
`)
	hdr := map[string]string{"x-api-key": "sk-test-carol-0123456789"}
	for i := range 4 {
		x, rs, d := g.opaque(t, hdr)
		if i < 3 && d != nil {
			t.Fatalf("request %d: %+v", i, d)
		}
		if i == 3 && (d == nil || d.Status != 429) {
			t.Fatalf("request %d: %+v, want 429", i, d)
		}
		rs.Settle(context.Background(), x, schema.Usage{})
	}
}

// opaque runs an opaque request (no operation, no model) through the chain.
func (f *fixture) opaque(t *testing.T, hdr map[string]string) (*policies.Exchange, *policies.Reservations, *policies.Denial) {
	t.Helper()
	ps, err := f.comp.Policies("default/llm", f.svc.dir.Load().route(t))
	if err != nil {
		t.Fatal(err)
	}
	chain := policies.NewChain(ps...)
	x := &policies.Exchange{RequestID: "r", RouteKey: "default.llm.0.0", Header: func(n string) string { return hdr[n] },
		Opaque: true, Body: []byte("{}"), Start: f.now}
	rs := &policies.Reservations{}
	for _, step := range []func(context.Context, *policies.Exchange, *policies.Reservations) error{chain.Authenticate, chain.Admit} {
		if err := step(context.Background(), x, rs); err != nil {
			var d *policies.Denial
			if !errors.As(err, &d) {
				t.Fatalf("not a denial: %v", err)
			}
			return x, rs, d
		}
	}
	return x, rs, nil
}
