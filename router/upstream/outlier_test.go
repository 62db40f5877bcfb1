package upstream

import (
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

func TestOutlierEjectionAndReturn(t *testing.T) {
	bad := upstreamServer(t, statusHandler("bad", 500))
	good := upstreamServer(t, statusHandler("good", 200))
	s := static(bad, good)
	s.OutlierDetection = &config.OutlierDetection{Consecutive5xx: 2, BaseEjectionTime: dur(300 * time.Millisecond), MaxEjectionPercent: 50}
	p := newTestPool(t, s, nil)

	// Round robin alternates: requests 1 and 3 hit "bad"; the second 500 ejects it.
	for range 4 {
		ctx, _, err := forwardOnce(p, Options{}, "GET", "/")
		if err != nil {
			t.Fatal(err)
		}
		finish(ctx)
	}
	st := p.Status()["b"]
	if !st[0].Ejected || st[1].Ejected {
		t.Fatalf("status %+v, want bad ejected only", st)
	}
	for range 5 {
		ctx, res, err := forwardOnce(p, Options{}, "GET", "/")
		if err != nil || res.Status != 200 {
			t.Fatalf("while ejected: %v %d", err, res.Status)
		}
		finish(ctx)
	}
	eventually(t, time.Second, func() bool { return !p.Status()["b"][0].Ejected }, "ejection to end")
	seenBad := false
	for range 4 {
		ctx, res, _ := forwardOnce(p, Options{}, "GET", "/")
		finish(ctx)
		seenBad = seenBad || res.Status == 500
	}
	if !seenBad {
		t.Fatal("bad endpoint did not come back after its ejection time")
	}
}

func TestOutlierCaps(t *testing.T) {
	tests := []struct {
		name        string
		endpoints   int
		pct         int
		wantEjected int
	}{
		{name: "never the last endpoint", endpoints: 1, pct: 100, wantEjected: 0},
		{name: "one of two at 50%", endpoints: 2, pct: 50, wantEjected: 1},
		{name: "at most half of four", endpoints: 4, pct: 50, wantEjected: 2},
		{name: "one always stays at 100%", endpoints: 3, pct: 100, wantEjected: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			weights := make([]int, tc.endpoints)
			b := testBackend(t, config.LBRoundRobin, weights...)
			b.outlier = &config.OutlierDetection{Consecutive5xx: 1, BaseEjectionTime: dur(time.Minute), MaxEjectionPercent: tc.pct}
			for i := range b.members {
				b.record(b.members[i].st, true)
			}
			ejected := 0
			now := nanotime()
			for i := range b.members {
				if b.members[i].st.ejectedUntil.Load() > now {
					ejected++
				}
			}
			if ejected != tc.wantEjected {
				t.Fatalf("%d ejected, want %d", ejected, tc.wantEjected)
			}
		})
	}
}

func TestOutlierEjectionGrows(t *testing.T) {
	b := testBackend(t, config.LBRoundRobin, 1, 1)
	base := 10 * time.Second
	b.outlier = &config.OutlierDetection{Consecutive5xx: 1, BaseEjectionTime: dur(base), MaxEjectionPercent: 50}
	st := b.members[0].st
	for k := int64(1); k <= 3; k++ {
		st.ejectedUntil.Store(0) // as if the last ejection ended
		before := nanotime()
		b.record(st, true)
		got := time.Duration(st.ejectedUntil.Load() - before)
		if got < time.Duration(k)*base || got > time.Duration(k)*base+time.Second {
			t.Fatalf("ejection %d lasts %v, want %v", k, got, time.Duration(k)*base)
		}
	}
	b.record(st, false)
	if st.consecutive.Load() != 0 {
		t.Fatal("success did not reset the failure count")
	}
}
