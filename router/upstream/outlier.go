package upstream

import "time"

// Outlier detection defaults and bounds.
const (
	defaultBaseEjection       = 30 * time.Second
	defaultMaxEjectionPercent = 50
	// maxEjectionMultiplier caps the ejection count, and so baseEjectionTime *
	// count, so an endpoint that keeps failing is still retried now and then and
	// decays back to the base time within maxEjectionMultiplier quiet intervals.
	maxEjectionMultiplier = 10
)

// record feeds one attempt's outcome to passive outlier detection: failed is a 5xx
// answer, a timeout or a connect error (TLS handshake included). Consecutive5xx
// failures in a row eject the endpoint for baseEjectionTime times its ejection
// count (capped at maxEjectionMultiplier), unless that would exceed
// maxEjectionPercent or leave the backend with no endpoint. The count decays as in
// Envoy: each baseEjectionTime that passes with the endpoint not ejected lowers it
// by one, down to 0.
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
	b.eject(st, nanotime())
}

// eject ejects st at now (nanotime) if the caps allow it.
func (b *backend) eject(st *endpointState, now int64) {
	b.ejectMu.Lock()
	defer b.ejectMu.Unlock()
	until := st.ejectedUntil.Load()
	if until > now {
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
	st.Ejection.eject(now, b.outlier)
}

// decayed is an ejection count n after the endpoint has not been ejected since
// until (the end of its last ejection, 0 if never): one less for every whole base
// interval between until and now, never below 0. Computing the decay when the count
// is next used is the same as lowering it on a timer, since only an ejection reads
// it and the endpoint was not ejected in between.
func decayed(n int32, until, now int64, base time.Duration) int32 {
	if n <= 0 || base <= 0 || now <= until {
		return max(n, 0)
	}
	intervals := (now - until) / int64(base)
	if intervals >= int64(n) {
		return 0
	}
	return n - int32(intervals)
}
