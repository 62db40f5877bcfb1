package policies

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// step is a test policy that logs its Request and Settle calls.
type step struct {
	name   string
	phase  Phase
	deny   bool
	panics bool
	log    *[]string
}

func (s *step) Phase() Phase { return s.phase }

func (s *step) Request(context.Context, *Exchange) (Reservation, error) {
	*s.log = append(*s.log, "request "+s.name)
	if s.deny {
		return s, &Denial{Status: 429, Message: "no"}
	}
	return s, nil
}

func (s *step) Settle(_ context.Context, _ *Exchange, u schema.Usage) {
	*s.log = append(*s.log, "settle "+s.name)
	if s.panics {
		panic("boom")
	}
}

func TestChainOrderAndSettlement(t *testing.T) {
	tests := []struct {
		name      string
		steps     []step
		wantErr   bool
		wantLog   []string
		wantPanic bool
	}{
		{
			name: "phases sort, attachment order kept within a phase",
			steps: []step{{name: "budget", phase: PhaseBudget}, {name: "metrics", phase: PhaseObserve},
				{name: "auth", phase: PhaseAuth}, {name: "limit", phase: PhaseRateLimit}, {name: "limit2", phase: PhaseRateLimit}},
			wantLog: []string{"request metrics", "request auth", "request limit", "request limit2", "request budget",
				"settle metrics", "settle auth", "settle limit", "settle limit2", "settle budget"},
		},
		{
			name: "a denial stops the chain; only policies whose Request ran settle",
			steps: []step{{name: "auth", phase: PhaseAuth}, {name: "limit", phase: PhaseRateLimit, deny: true},
				{name: "budget", phase: PhaseBudget}},
			wantErr: true,
			wantLog: []string{"request auth", "request limit", "settle auth", "settle limit"},
		},
		{
			name:      "a panicking settlement does not stop the others",
			steps:     []step{{name: "a", phase: PhaseRateLimit, panics: true}, {name: "b", phase: PhaseBudget}},
			wantLog:   []string{"request a", "request b", "settle a", "settle b"},
			wantPanic: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			var ps []Policy
			for i := range tt.steps {
				tt.steps[i].log = &log
				ps = append(ps, &tt.steps[i])
			}
			c := NewChain(ps...)
			var rs Reservations
			ctx, x := context.Background(), &Exchange{}
			err := c.Observe(ctx, x, &rs)
			if err == nil {
				err = c.Authenticate(ctx, x, &rs)
			}
			if err == nil {
				err = c.Admit(ctx, x, &rs)
			}
			var d *Denial
			if (err != nil) != tt.wantErr || err != nil && !errors.As(err, &d) {
				t.Fatalf("err = %v, want denial %v", err, tt.wantErr)
			}
			first, perr := rs.Settle(ctx, x, schema.Usage{})
			if !first || (perr != nil) != tt.wantPanic {
				t.Fatalf("Settle = %v, %v", first, perr)
			}
			if again, _ := rs.Settle(ctx, x, schema.Usage{}); again {
				t.Fatal("second Settle ran again")
			}
			if !slices.Equal(log, tt.wantLog) {
				t.Errorf("log =\n%q\nwant\n%q", log, tt.wantLog)
			}
			rs.Reset()
			if rs.Len() != 0 || rs.Settled() {
				t.Error("Reset left state")
			}
		})
	}
}
