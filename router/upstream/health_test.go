package upstream

import (
	"context"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

func TestHealthCheckMarksDownAndUp(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	var checks atomic.Int32
	ep := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			checks.Add(1)
			w.WriteHeader(int(code.Load()))
			return
		}
		w.WriteHeader(200)
	})
	s := static(ep)
	s.HealthCheck = &config.HealthCheck{Path: "/healthz", Interval: dur(20 * time.Millisecond),
		Timeout: dur(200 * time.Millisecond), UnhealthyThreshold: 2, HealthyThreshold: 2}
	p := newTestPool(t, s, nil)
	healthy := func() bool { return p.Status()["b"][0].Healthy }

	phases := []struct {
		name string
		code int
		want bool
	}{
		{name: "2xx stays healthy", code: 200, want: true},
		{name: "5xx marks down", code: 503, want: false},
		{name: "3xx marks up", code: 302, want: true},
		{name: "4xx marks down", code: 404, want: false},
		{name: "2xx marks up again", code: 204, want: true},
	}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			code.Store(int32(ph.code))
			testutil.Eventually(t, 2*time.Second, func() bool { return healthy() == ph.want }, "health to settle")
			if !ph.want {
				if _, _, err := forwardOnce(p, Options{}, "GET", "/"); statusOf(err) != 503 {
					t.Fatalf("Forward to an unhealthy backend: %v, want 503", err)
				}
			}
		})
	}
	if checks.Load() < 5 {
		t.Fatalf("only %d checks", checks.Load())
	}
	p.Close()
	time.Sleep(60 * time.Millisecond)
	n := checks.Load()
	time.Sleep(100 * time.Millisecond)
	if checks.Load() != n {
		t.Fatal("health checker still running after Close")
	}
}

func TestHealthCheckStopsOnContextCancel(t *testing.T) {
	var checks atomic.Int32
	ep := upstreamServer(t, func(w http.ResponseWriter, _ *http.Request) { checks.Add(1) })
	s := static(ep)
	s.HealthCheck = &config.HealthCheck{Path: "/", Interval: dur(10 * time.Millisecond)}
	ctx, cancel := context.WithCancel(context.Background())
	p := NewPool(ctx, map[string]*config.Backend{"b": {Static: s}}, nil)
	defer p.Close()
	testutil.Eventually(t, time.Second, func() bool { return checks.Load() > 2 }, "checks")
	cancel()
	time.Sleep(50 * time.Millisecond)
	n := checks.Load()
	time.Sleep(100 * time.Millisecond)
	if checks.Load() != n {
		t.Fatal("health checker still running after ctx cancel")
	}
}

func TestReloadKeepsEndpointState(t *testing.T) {
	var checks atomic.Int32
	ep := upstreamServer(t, func(w http.ResponseWriter, _ *http.Request) { checks.Add(1); w.WriteHeader(500) })
	other := upstreamServer(t, statusHandler("other", 200))
	s := static(ep)
	s.HealthCheck = &config.HealthCheck{Path: "/", Interval: dur(10 * time.Millisecond), UnhealthyThreshold: 1}
	state := NewState()
	t.Cleanup(state.Close)
	build := func(sb *config.StaticBackend) (*Pool, func()) {
		gen := state.Begin()
		p := BuildPool(gen, map[string]*config.Backend{"b": {Static: sb}}, nil)
		return p, gen.Commit()
	}
	old, _ := build(s)
	testutil.Eventually(t, time.Second, func() bool { return !old.Status()["b"][0].Healthy }, "old marked down")

	tests := []struct {
		name        string
		backend     *config.StaticBackend
		wantHealthy bool
		wantSame    bool
	}{
		// Same endpoint and settings: the state (health verdict, checker) carries over.
		{name: "unchanged endpoint keeps state", backend: s, wantHealthy: false, wantSame: true},
		// Another endpoint starts fresh (healthy until checked).
		{name: "new endpoint starts healthy", backend: static(other), wantHealthy: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gen := state.Begin()
			next := BuildPool(gen, map[string]*config.Backend{"b": {Static: tc.backend}}, nil)
			defer gen.Abort()
			if got := next.Status()["b"][0].Healthy; got != tc.wantHealthy {
				t.Fatalf("healthy = %v, want %v", got, tc.wantHealthy)
			}
			same := next.backends["b"].members[0].st == old.backends["b"].members[0].st
			if same != tc.wantSame {
				t.Fatalf("same endpoint state = %v, want %v", same, tc.wantSame)
			}
		})
	}
	// The aborted generations left the committed one's checker running.
	n := checks.Load()
	testutil.Eventually(t, time.Second, func() bool { return checks.Load() > n+2 }, "checker alive after aborted reloads")
	// A committed reload with the same endpoint: retiring the old snapshot keeps it.
	_, retire := build(s)
	retire()
	n = checks.Load()
	testutil.Eventually(t, time.Second, func() bool { return checks.Load() > n+2 }, "checker kept by the new snapshot")
	// A reload without it: once the previous snapshot retires, its checker stops.
	_, retire = build(static(other))
	retire()
	time.Sleep(50 * time.Millisecond)
	n = checks.Load()
	time.Sleep(80 * time.Millisecond)
	if checks.Load() != n {
		t.Fatal("checker still running after the endpoint left the configuration")
	}
}
