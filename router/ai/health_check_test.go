package ai

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// TestAIHealthCheck: an AI backend with a health check is skipped while its
// probe (GET baseURL+path, signed with the backend's key) fails, so its
// failover candidate serves, and comes back once the probe passes.
func TestAIHealthCheck(t *testing.T) {
	var up atomic.Bool
	var probes, unsigned atomic.Int32
	primary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			probes.Add(1)
			if r.Header.Get("Authorization") != "Bearer k" {
				unsigned.Add(1)
			}
			if !up.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"from primary"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	t.Cleanup(primary.Close)
	fallback := openaifake.New(t, openaifake.Options{APIKey: "k", Reply: "from fallback"})
	check := &config.HealthCheck{Path: "/health", Interval: config.Duration(20 * time.Millisecond),
		Timeout: config.Duration(time.Second), UnhealthyThreshold: 1, HealthyThreshold: 1}
	h := newHarness(t, []backendSpec{
		{name: "primary", ai: config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: primary.URL,
			Models: []string{"m"}, Auth: config.BackendAuth{APIKey: "k"}, HealthCheck: check}},
		{name: "fallback", ai: config.AIBackend{Provider: config.ProviderOpenAI, BaseURL: fallback.URL,
			Models: []string{"m"}, Auth: config.BackendAuth{APIKey: "k"}}, priority: 1},
	}, Options{})
	answer := func() string {
		_, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
			[]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		return string(body)
	}
	testutil.Eventually(t, 3*time.Second, func() bool { return probes.Load() >= 2 }, "health probes")
	if got := answer(); !strings.Contains(got, "from fallback") {
		t.Fatalf("while the primary fails its check: %s", got)
	}
	up.Store(true)
	testutil.Eventually(t, 3*time.Second, func() bool { return strings.Contains(answer(), "from primary") }, "the primary back")
	if n := unsigned.Load(); n != 0 {
		t.Errorf("%d probes were not signed with the backend's key", n)
	}
}
