package upstream

import (
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// Ejection is an upstream's passive health, shared by static endpoints and
// AI backends: consecutive failures, ejections whose length grows with
// their count (decaying as in Envoy), and the wait an upstream asked for
// with Retry-After. It lives in the State, so a reload does not reset it.
// The zero value is an upstream with no failures; safe for concurrent use.
type Ejection struct {
	consecutive  atomic.Int32 // consecutive failures seen by outlier detection
	ejections    atomic.Int32 // ejection count, the multiplier of the next ejection; decays, see decayed
	ejectedUntil atomic.Int64 // nanotime
	waitUntil    atomic.Int64 // nanotime: Retry-After
}

// Now is the clock of Ejection: monotonic nanoseconds.
func Now() int64 { return nanotime() }

// Available reports whether the upstream may be tried at now: neither
// ejected nor inside a Retry-After wait.
func (e *Ejection) Available(now int64) bool {
	return e.ejectedUntil.Load() <= now && e.waitUntil.Load() <= now
}

// Ejected reports whether outlier detection keeps the upstream out at now.
func (e *Ejection) Ejected(now int64) bool { return e.ejectedUntil.Load() > now }

// Succeeded resets the consecutive failures.
func (e *Ejection) Succeeded() {
	if e.consecutive.Load() != 0 {
		e.consecutive.Store(0)
	}
}

// Failed records a failure at now: retryAfter > 0 keeps the upstream out for
// that long, and od.Consecutive5xx failures in a row eject it for
// od.BaseEjectionTime times its ejection count (capped). It reports whether
// this failure ejected it. Caps across a set of endpoints (max ejection
// percent) are the caller's: see backend.eject.
func (e *Ejection) Failed(now int64, od *config.OutlierDetection, retryAfter time.Duration) bool {
	if retryAfter > 0 {
		until := now + int64(retryAfter)
		for {
			cur := e.waitUntil.Load()
			if cur >= until || e.waitUntil.CompareAndSwap(cur, until) {
				break
			}
		}
	}
	if od == nil || od.Consecutive5xx <= 0 {
		return false
	}
	if e.consecutive.Add(1) < int32(od.Consecutive5xx) {
		return false
	}
	e.eject(now, od)
	return true
}

// eject ejects the upstream at now for base times its decayed count plus one.
func (e *Ejection) eject(now int64, od *config.OutlierDetection) {
	base := od.BaseEjectionTime.D()
	if base <= 0 {
		base = defaultBaseEjection
	}
	until := e.ejectedUntil.Load()
	k := min(decayed(e.ejections.Load(), until, now, base)+1, maxEjectionMultiplier)
	e.ejections.Store(k)
	e.ejectedUntil.Store(now + int64(base)*int64(k))
	e.consecutive.Store(0)
}

// FailedAmong records a failure of one of members upstreams of which
// ejected are ejected now (the caller counts them): as Failed, except that
// outlier detection never ejects the last available member nor more than
// od.MaxEjectionPercent of them (default 50). It reports whether this
// failure ejected the upstream. For routes that keep their own endpoint
// sets (TCP, TLS and gRPC routes).
func (e *Ejection) FailedAmong(now int64, od *config.OutlierDetection, members, ejected int) bool {
	if od != nil {
		pct := od.MaxEjectionPercent
		if pct <= 0 {
			pct = defaultMaxEjectionPercent
		}
		if ejected+1 >= members || (ejected+1)*100 > pct*members {
			od = nil
		}
	}
	return e.Failed(now, od, 0)
}
