package upstream

import (
	"github.com/switchyard-ai/switchyard/internal/testutil"
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
	testutil.Eventually(t, time.Second, func() bool { return !p.Status()["b"][0].Ejected }, "ejection to end")
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
		st.ejectedUntil.Store(nanotime()) // as if the last ejection just ended
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

// TestOutlierEjectionDecay drives eject with an explicit clock: each whole
// baseEjectionTime that passes with the endpoint not ejected lowers its ejection
// count by one (down to 0), so an endpoint that failed long ago is ejected for the
// base time again, while one that keeps failing keeps its longer ejection.
func TestOutlierEjectionDecay(t *testing.T) {
	const base = 10 * time.Second
	const t0 = int64(1000 * time.Hour) // the end of the last ejection
	tests := []struct {
		name      string
		prior     int32         // ejection count before this ejection
		until     int64         // when the last ejection ended (0: never ejected)
		idle      time.Duration // time since until
		wantCount int32         // the new count, which is also the multiplier
	}{
		{name: "first ejection", prior: 0, until: 0, idle: 0, wantCount: 1},
		{name: "re-ejected as soon as the last one ends", prior: 1, until: t0, idle: 0, wantCount: 2},
		{name: "a partial interval does not decay", prior: 3, until: t0, idle: base - time.Millisecond, wantCount: 4},
		{name: "one interval forgives one ejection", prior: 1, until: t0, idle: base, wantCount: 1},
		{name: "two intervals forgive two", prior: 5, until: t0, idle: 2*base + base/2, wantCount: 4},
		{name: "the count stays at the cap", prior: maxEjectionMultiplier, until: t0, idle: 0, wantCount: maxEjectionMultiplier},
		{name: "decay from the cap", prior: maxEjectionMultiplier, until: t0, idle: 9 * base, wantCount: 2},
		{name: "a long quiet spell goes back to the base time", prior: maxEjectionMultiplier, until: t0, idle: 1000 * base, wantCount: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := testBackend(t, config.LBRoundRobin, 1, 1)
			b.outlier = &config.OutlierDetection{Consecutive5xx: 1, BaseEjectionTime: dur(base), MaxEjectionPercent: 50}
			st := b.members[0].st
			st.ejections.Store(tc.prior)
			st.ejectedUntil.Store(tc.until)
			now := max(tc.until, t0) + int64(tc.idle)
			b.eject(st, now)
			if got := st.ejections.Load(); got != tc.wantCount {
				t.Errorf("ejection count %d, want %d", got, tc.wantCount)
			}
			if got, want := time.Duration(st.ejectedUntil.Load()-now), time.Duration(tc.wantCount)*base; got != want {
				t.Errorf("ejected for %v, want %v", got, want)
			}
		})
	}
}

// TestOutlierEjectionDecayHistory follows one endpoint through a failing spell and
// a quiet one: ejections grow while it keeps failing, and after enough quiet
// intervals a new failure ejects it for the base time only.
func TestOutlierEjectionDecayHistory(t *testing.T) {
	const base = time.Second
	b := testBackend(t, config.LBRoundRobin, 1, 1)
	b.outlier = &config.OutlierDetection{Consecutive5xx: 1, BaseEjectionTime: dur(base), MaxEjectionPercent: 50}
	st := b.members[0].st
	now := int64(time.Hour)
	steps := []struct {
		name  string
		after time.Duration // wait after the last ejection ended
		want  time.Duration // the next ejection's length
	}{
		{name: "first failure", after: 0, want: base},
		{name: "fails again at once", after: 0, want: 2 * base},
		{name: "and again", after: 0, want: 3 * base},
		{name: "still ejected: no new ejection", after: -time.Millisecond, want: 0},
		{name: "quiet for one interval", after: base, want: 3 * base},
		{name: "quiet for three intervals", after: 3 * base, want: base},
	}
	for _, s := range steps {
		now = st.ejectedUntil.Load() + int64(s.after)
		before := st.ejectedUntil.Load()
		b.eject(st, now)
		got := time.Duration(st.ejectedUntil.Load() - now)
		if s.want == 0 {
			if st.ejectedUntil.Load() != before {
				t.Fatalf("%s: the ejection changed", s.name)
			}
			continue
		}
		if got != s.want {
			t.Fatalf("%s: ejected for %v, want %v", s.name, got, s.want)
		}
	}
}
