package ai

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
	"github.com/switchyard-ai/switchyard/policies"
)

// attemptLog is a policy whose per-attempt hook records the backend chosen
// for each attempt, and can refuse one backend.
type attemptLog struct {
	mu      sync.Mutex
	seen    []string
	refuse  string
	decoded bool
}

// Phase places it with the guardrails: after the handler read the request.
func (a *attemptLog) Phase() policies.Phase { return policies.PhaseGuardrail }

func (a *attemptLog) Request(_ context.Context, x *policies.Exchange) (policies.Reservation, error) {
	if x.Decoded != nil {
		r, err := x.Decoded()
		a.decoded = err == nil && r != nil && r.Model == x.Model && len(r.Messages) == 1
	}
	return nil, nil
}

func (a *attemptLog) Attempt(_ context.Context, x *policies.Exchange) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, fmt.Sprintf("%d %s %s", x.Attempt, x.Backend, x.UpstreamModel))
	if x.Backend == a.refuse {
		return &policies.Denial{Status: 403, Message: "not this backend"}
	}
	return nil
}

// TestAttemptHook: a policy's per-attempt hook sees each backend chosen
// before its upstream call (failover included), may refuse one, and a
// policy's Request can read the decoded request.
func TestAttemptHook(t *testing.T) {
	tests := []struct {
		name       string
		refuse     string
		wantSeen   []string
		wantStatus int
		wantSecond int
	}{
		{name: "failover is two attempts", wantSeen: []string{"1 default/first m", "2 default/second m"}, wantSecond: 1},
		{name: "a refused backend ends the request", refuse: "default/second",
			wantSeen: []string{"1 default/first m", "2 default/second m"}, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := openaifake.New(t, openaifake.Options{APIKey: "k"})
			second := openaifake.New(t, openaifake.Options{APIKey: "k"})
			first.SetFault(openaifake.Fault{Status: 503})
			ai := func(u string) config.AIBackend {
				return config.AIBackend{Provider: "openai", BaseURL: u, Models: []string{"m"}, Auth: config.BackendAuth{APIKey: "k"}}
			}
			h := newHarness(t, []backendSpec{{name: "first", ai: ai(first.URL)}, {name: "second", ai: ai(second.URL), priority: 1}}, Options{})
			log := &attemptLog{refuse: tt.refuse}
			h.route.Policies = append(h.route.Policies, log)
			status, _, _ := h.do(t, "POST", "/v1/chat/completions", "application/json",
				[]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
			want := tt.wantStatus
			if want == 0 {
				want = 200
			}
			if status != want {
				t.Fatalf("status %d, want %d", status, want)
			}
			if fmt.Sprint(log.seen) != fmt.Sprint(tt.wantSeen) {
				t.Errorf("attempts seen = %q, want %q", log.seen, tt.wantSeen)
			}
			if second.Count() != tt.wantSecond {
				t.Errorf("second backend called %d times, want %d", second.Count(), tt.wantSecond)
			}
			if !log.decoded {
				t.Error("the policy could not read the decoded request")
			}
			if d := h.rec.next(t); d.x.Attempt != 2 || d.x.Status != want {
				t.Errorf("settled with attempt %d status %d", d.x.Attempt, d.x.Status)
			}
		})
	}
}
