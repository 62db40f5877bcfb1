package upstream

import (
	"context"
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
			eventually(t, 2*time.Second, func() bool { return healthy() == ph.want }, "health to settle")
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
	eventually(t, time.Second, func() bool { return checks.Load() > 2 }, "checks")
	cancel()
	time.Sleep(50 * time.Millisecond)
	n := checks.Load()
	time.Sleep(100 * time.Millisecond)
	if checks.Load() != n {
		t.Fatal("health checker still running after ctx cancel")
	}
}

func TestRebuildKeepsState(t *testing.T) {
	var checks atomic.Int32
	ep := upstreamServer(t, func(w http.ResponseWriter, _ *http.Request) { checks.Add(1); w.WriteHeader(500) })
	other := upstreamServer(t, statusHandler("other", 200))
	s := static(ep)
	s.HealthCheck = &config.HealthCheck{Path: "/", Interval: dur(10 * time.Millisecond), UnhealthyThreshold: 1}
	old := NewPool(context.Background(), map[string]*config.Backend{"b": {Static: s}}, nil)
	eventually(t, time.Second, func() bool { return !old.Status()["b"][0].Healthy }, "old marked down")

	tests := []struct {
		name        string
		backend     *config.StaticBackend
		wantHealthy bool
	}{
		// Same endpoint and settings: the health verdict carries over.
		{name: "unchanged endpoint keeps health", backend: s, wantHealthy: false},
		// Another endpoint starts fresh (healthy until checked).
		{name: "new endpoint starts healthy", backend: static(other), wantHealthy: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := old.Rebuild(context.Background(), map[string]*config.Backend{"b": {Static: tc.backend}})
			if got := next.Status()["b"][0].Healthy; got != tc.wantHealthy {
				t.Fatalf("healthy = %v, want %v", got, tc.wantHealthy)
			}
			// Closing the new pool hands the kept state back to the open old one.
			next.Close()
		})
	}
	// The old pool still owns its checker: it keeps running until Close.
	n := checks.Load()
	eventually(t, time.Second, func() bool { return checks.Load() > n+2 }, "old checker alive")
	next := old.Rebuild(context.Background(), map[string]*config.Backend{"b": {Static: s}})
	old.Close()
	n = checks.Load()
	eventually(t, time.Second, func() bool { return checks.Load() > n+2 }, "checker moved to new pool")
	next.Close()
	time.Sleep(50 * time.Millisecond)
	n = checks.Load()
	time.Sleep(80 * time.Millisecond)
	if checks.Load() != n {
		t.Fatal("checker still running after both pools closed")
	}
}
