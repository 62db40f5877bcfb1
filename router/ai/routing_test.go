package ai

import (
	"github.com/switchyard-ai/switchyard/router/upstream"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func routingFrontend(t testing.TB) (*Frontend, Route) {
	t.Helper()
	snap := &config.Snapshot{Backends: map[string]*config.Backend{
		"default/openai": {AI: &config.AIBackend{Provider: "openai", Models: []string{"gpt-4o", "gpt-4o-mini"}}},
		"default/azure":  {AI: &config.AIBackend{Provider: "azure", BaseURL: "https://r", Models: []string{"gpt-4o"}, Aliases: map[string]string{"smart": "gpt-4o-deploy"}}},
		"default/fixed":  {AI: &config.AIBackend{Provider: "openai-compatible", BaseURL: "http://l", Model: "llama-3"}},
		"default/any":    {AI: &config.AIBackend{Provider: "openai-compatible", BaseURL: "http://l"}},
		"other/any":      {AI: &config.AIBackend{Provider: "openai-compatible", BaseURL: "http://l"}},
	}}
	fe, err := New(snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fe.Close)
	return fe, Route{Key: "default.r.0.0", Refs: []config.BackendRef{
		{Name: "default/openai", Weight: intp(3)}, {Name: "azure", Weight: intp(1)}, {Name: "default/fixed", Priority: 5},
	}}
}

func TestCandidates(t *testing.T) {
	fe, r := routingFrontend(t)
	tests := []struct {
		name  string
		refs  []config.BackendRef
		model string
		want  map[string]string // backend -> upstream model
	}{
		{name: "listed model in two backends", model: "gpt-4o", want: map[string]string{"default/openai": "gpt-4o", "default/azure": "gpt-4o", "default/fixed": "llama-3"}},
		{name: "alias", model: "smart", want: map[string]string{"default/azure": "gpt-4o-deploy", "default/fixed": "llama-3"}},
		{name: "backend prefix", model: "openai/o3", want: map[string]string{"default/openai": "o3", "default/fixed": "llama-3"}},
		{name: "backend key prefix", model: "default/azure/gpt-x", want: map[string]string{"default/azure": "gpt-x", "default/fixed": "llama-3"}},
		{name: "fixed model serves anything", model: "whatever", want: map[string]string{"default/fixed": "llama-3"}},
		{name: "catch-all passes through", refs: []config.BackendRef{{Name: "default/any"}}, model: "qwen", want: map[string]string{"default/any": "qwen"}},
		{name: "weight zero disables", refs: []config.BackendRef{{Name: "default/any", Weight: intp(0)}}, model: "qwen", want: map[string]string{}},
		{name: "unknown backend ignored", refs: []config.BackendRef{{Name: "default/nope"}}, model: "qwen", want: map[string]string{}},
		{name: "namespace from route key", refs: []config.BackendRef{{Name: "any"}}, model: "q", want: map[string]string{"default/any": "q"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := r
			if tt.refs != nil {
				rt = Route{Key: "default." + tt.name + ".0.0", Refs: tt.refs}
			}
			cs, matched, _ := fe.rule(rt).h.candidates(tt.model, upstream.Now(), nil)
			if matched != len(tt.want) || len(cs) != len(tt.want) {
				t.Fatalf("got %d candidates (%d matched), want %d", len(cs), matched, len(tt.want))
			}
			for i, c := range cs {
				if tt.want[c.b.key] != c.upstream {
					t.Errorf("%s -> %q, want %q", c.b.key, c.upstream, tt.want[c.b.key])
				}
				if i > 0 && cs[i-1].rank > c.rank { // rank is 2×priority (+1 for a catch-all)
					t.Errorf("priority order broken at %d", i)
				}
			}
		})
	}
}

func TestWeightedOrder(t *testing.T) {
	fe, r := routingFrontend(t)
	first := map[string]int{}
	const n = 4000
	for i := 0; i < n; i++ {
		cs, _, _ := fe.rule(r).h.candidates("gpt-4o", upstream.Now(), nil)
		first[cs[0].b.key]++
		if cs[2].b.key != "default/fixed" {
			t.Fatal("lower priority group tried before higher")
		}
	}
	// weights 3:1 -> ~75% first.
	if share := float64(first["default/openai"]) / n; share < 0.68 || share > 0.82 {
		t.Errorf("openai first in %.2f of picks, want ~0.75", share)
	}
}

func TestModels(t *testing.T) {
	fe, r := routingFrontend(t)
	got := fe.rule(r).h.Models()
	want := []string{"gpt-4o", "gpt-4o-mini", "llama-3", "smart"}
	if len(got) != len(want) {
		t.Fatalf("models = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("models = %v, want %v", got, want)
		}
	}
}

func TestHealth(t *testing.T) {
	b := &backend{up: &upstreamState{}}
	b.up.healthy.Store(true)
	now := upstream.Now()
	at := func(d time.Duration) int64 { return now + int64(d) }
	ejectFor := outlier.BaseEjectionTime.D()
	b.failed(now, 10*time.Second)
	if b.healthy(at(5 * time.Second)) {
		t.Error("healthy during Retry-After")
	}
	if !b.healthy(at(11 * time.Second)) {
		t.Error("unhealthy after Retry-After")
	}
	b.succeeded()
	for i := 0; i < outlier.Consecutive5xx; i++ {
		b.failed(now, 0)
	}
	if b.healthy(at(ejectFor - time.Second)) {
		t.Error("not ejected")
	}
	if !b.healthy(at(ejectFor)) {
		t.Error("still ejected")
	}
}

func TestInspect(t *testing.T) {
	model, stream, err := Inspect([]byte(`{"stream":true,"model":"a\u0062","messages":[{"role":"user","content":"x"}]}`), schema.OpChat, 0)
	if err != nil || model != "ab" || !stream {
		t.Errorf("model %q stream %v err %v", model, stream, err)
	}
	if _, _, err := Inspect([]byte(`{"model":"a","prompt":"x"}`), schema.OpCompletion, 0); err != nil {
		t.Errorf("completion: %v", err)
	}
}

// TestNamedBackendBeforeCatchAll checks that, within one priority, a backend
// that names the model is always tried before a catch-all backend.
func TestNamedBackendBeforeCatchAll(t *testing.T) {
	fe, _ := routingFrontend(t)
	tests := []struct {
		name, model, first string
		refs               []config.BackendRef
	}{
		{name: "listed beats catch-all", model: "gpt-4o", first: "default/openai",
			refs: []config.BackendRef{{Name: "default/any", Weight: intp(100)}, {Name: "default/openai", Weight: intp(1)}}},
		{name: "alias beats catch-all", model: "smart", first: "default/azure",
			refs: []config.BackendRef{{Name: "default/any", Weight: intp(100)}, {Name: "default/azure", Weight: intp(1)}}},
		{name: "backend/model beats catch-all", model: "openai/o3", first: "default/openai",
			refs: []config.BackendRef{{Name: "default/any", Weight: intp(100)}, {Name: "default/openai", Weight: intp(1)}}},
		{name: "priority still comes first", model: "gpt-4o", first: "default/any",
			refs: []config.BackendRef{{Name: "default/any"}, {Name: "default/openai", Priority: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := Route{Key: "default.named-" + tt.name + ".0.0", Refs: tt.refs}
			for i := 0; i < 200; i++ {
				cs, _, _ := fe.rule(rt).h.candidates(tt.model, upstream.Now(), nil)
				if len(cs) != 2 {
					t.Fatalf("got %d candidates, want 2", len(cs))
				}
				if cs[0].b.key != tt.first {
					t.Fatalf("draw %d: first candidate %s, want %s", i, cs[0].b.key, tt.first)
				}
			}
		})
	}
}
