package upstream

import (
	"log/slog"
	"math"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

// testBackend builds a backend with endpoints of the given weights (no network use).
func testBackend(t *testing.T, lb string, weights ...int) *backend {
	t.Helper()
	s := &config.StaticBackend{LoadBalancer: config.LoadBalancer{Type: lb}}
	for i, w := range weights {
		s.Endpoints = append(s.Endpoints, config.Endpoint{Host: "127.0.0.1", Port: 10000 + i, Weight: w})
	}
	state := NewState()
	t.Cleanup(state.Close)
	p := &Pool{log: slog.New(slog.DiscardHandler)}
	return p.newBackend(state.Begin(), "b", s)
}

func TestBalanceDistribution(t *testing.T) {
	const n = 6000
	tests := []struct {
		name    string
		lb      string
		weights []int
		tol     float64 // allowed relative deviation from the weighted share
	}{
		{name: "round robin exact", lb: config.LBRoundRobin, weights: []int{1, 2, 3}, tol: 0},
		{name: "round robin default type", lb: "", weights: []int{5, 1}, tol: 0},
		{name: "random weighted", lb: config.LBRandom, weights: []int{1, 2, 3}, tol: 0.1},
		{name: "least request weighted", lb: config.LBLeastRequest, weights: []int{1, 2, 3}, tol: 0.1},
		{name: "zero weight means one", lb: config.LBRoundRobin, weights: []int{0, 1}, tol: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := testBackend(t, tc.lb, tc.weights...)
			counts := make([]int, len(tc.weights))
			for range n {
				i := b.pick(0)
				if i < 0 {
					t.Fatal("pick returned -1")
				}
				counts[i]++
			}
			total := 0
			for _, m := range b.members {
				total += m.weight
			}
			for i, m := range b.members {
				want := float64(n) * float64(m.weight) / float64(total)
				if dev := math.Abs(float64(counts[i])-want) / want; dev > tc.tol {
					t.Errorf("endpoint %d: %d picks, want %.0f (±%.0f%%); all %v", i, counts[i], want, tc.tol*100, counts)
				}
			}
		})
	}
}

func TestRoundRobinIsSmooth(t *testing.T) {
	b := testBackend(t, config.LBRoundRobin, 5, 1, 1)
	var seq []int
	for range 7 {
		seq = append(seq, b.pick(0))
	}
	// Smooth WRR never sends 5 in a row to the heavy endpoint: the light ones interleave.
	want := []int{0, 0, 1, 0, 2, 0, 0}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("sequence %v, want %v", seq, want)
		}
	}
}

func TestLeastRequestPrefersIdle(t *testing.T) {
	b := testBackend(t, config.LBLeastRequest, 1, 1)
	b.members[0].st.active.Store(50)
	counts := [2]int{}
	for range 1000 {
		counts[b.pick(0)]++
	}
	// Endpoint 1 wins every draw that compares both; endpoint 0 only when drawn twice (~25%).
	if counts[1] < 650 {
		t.Fatalf("idle endpoint got %d of 1000 picks, want most", counts[1])
	}
}

func TestPickEligibility(t *testing.T) {
	future := nanotime() + 1e12
	tests := []struct {
		name    string
		setup   func(b *backend)
		tried   uint64
		wantAny []int // acceptable picks; empty means -1
	}{
		{name: "unhealthy skipped", setup: func(b *backend) { b.members[0].st.healthy.Store(false) }, wantAny: []int{1}},
		{name: "ejected skipped", setup: func(b *backend) { b.members[1].st.ejectedUntil.Store(future) }, wantAny: []int{0}},
		{name: "tried skipped", tried: 1, wantAny: []int{1}},
		{name: "tried reused when nothing else", tried: 3, wantAny: []int{0, 1}},
		{name: "ejected used when every healthy one is ejected", setup: func(b *backend) {
			b.members[0].st.healthy.Store(false)
			b.members[1].st.ejectedUntil.Store(future)
		}, wantAny: []int{1}},
		{name: "none healthy", setup: func(b *backend) {
			b.members[0].st.healthy.Store(false)
			b.members[1].st.healthy.Store(false)
		}},
	}
	for _, lb := range []string{config.LBRoundRobin, config.LBRandom, config.LBLeastRequest} {
		for _, tc := range tests {
			t.Run(lb+"/"+tc.name, func(t *testing.T) {
				b := testBackend(t, lb, 1, 1)
				if tc.setup != nil {
					tc.setup(b)
				}
				for range 20 {
					got := b.pick(tc.tried)
					ok := len(tc.wantAny) == 0 && got == -1
					for _, w := range tc.wantAny {
						ok = ok || got == w
					}
					if !ok {
						t.Fatalf("pick = %d, want one of %v", got, tc.wantAny)
					}
				}
			})
		}
	}
}
