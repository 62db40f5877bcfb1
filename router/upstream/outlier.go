package upstream

import "time"

// Outlier detection defaults and bounds.
const (
	defaultBaseEjection       = 30 * time.Second
	defaultMaxEjectionPercent = 50
	// maxEjectionMultiplier caps baseEjectionTime * ejections, so an endpoint that
	// keeps failing is still retried now and then.
	maxEjectionMultiplier = 10
)

// record feeds one attempt's outcome to passive outlier detection: failed is a 5xx
// answer, a timeout or a connect error. Consecutive5xx failures in a row eject the
// endpoint for baseEjectionTime times its number of ejections, unless that would
// exceed maxEjectionPercent or leave the backend with no endpoint.
func (b *backend) record(st *endpointState, failed bool) {
	od := b.outlier
	if od == nil || od.Consecutive5xx <= 0 {
		return
	}
	if !failed {
		if st.consecutive.Load() != 0 {
			st.consecutive.Store(0)
		}
		return
	}
	if st.consecutive.Add(1) < int32(od.Consecutive5xx) {
		return
	}
	b.eject(st)
}

func (b *backend) eject(st *endpointState) {
	b.ejectMu.Lock()
	defer b.ejectMu.Unlock()
	now := nanotime()
	if st.ejectedUntil.Load() > now {
		return
	}
	n, ejected := len(b.members), 0
	for i := range b.members {
		if b.members[i].st.ejectedUntil.Load() > now {
			ejected++
		}
	}
	pct := b.outlier.MaxEjectionPercent
	if pct <= 0 {
		pct = defaultMaxEjectionPercent
	}
	if ejected+1 >= n || (ejected+1)*100 > pct*n {
		return // never the last endpoint; at most pct percent at once
	}
	base := b.outlier.BaseEjectionTime.D()
	if base <= 0 {
		base = defaultBaseEjection
	}
	k := min(st.ejections.Add(1), maxEjectionMultiplier)
	st.ejectedUntil.Store(now + int64(base)*int64(k))
	st.consecutive.Store(0)
}
