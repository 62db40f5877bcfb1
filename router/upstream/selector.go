package upstream

import (
	"context"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
)

// Selector chooses the endpoints of one set (a static backend's hosts, an
// AI rule's backends, later an inference pool's pods) for one request: it
// returns their indexes in the order to try them, the first being the pick
// and the rest where retries and failover go. A Selector is built once per
// snapshot with its set and is safe for concurrent use. Load balancers
// (round robin, random, least request), an AI rule's priority and failover
// order, and an inference pool's endpoint picker implement it.
type Selector interface {
	// Select appends the order to buf[:0] and returns it; empty when no
	// endpoint may be tried now.
	Select(ctx context.Context, x *policies.Exchange, buf []int) []int
}

var _ Selector = (*backend)(nil)

// Select implements [Selector]: the load balancer's pick first, then every
// other usable endpoint (healthy and not ejected before ejected ones), each
// chosen by the load balancer among those left.
func (b *backend) Select(_ context.Context, _ *policies.Exchange, buf []int) []int {
	out := buf[:0]
	var tried uint64
	for len(out) < len(b.members) && len(out) < 64 {
		i := b.pick(tried)
		if i < 0 || tried&(1<<uint(i)) != 0 {
			break // only tried members are left
		}
		tried |= 1 << uint(i)
		out = append(out, i)
	}
	return out
}

// Retry is a rule's retry policy as every kind of route reads it, with
// Gateway API's meaning: Attempts is how many times a request may be
// retried after its first attempt (each retry on the next endpoint in the
// selector's order, wrapping around), after a jittered exponential backoff.
type Retry struct{ cfg *config.Retry }

// NewRetry wraps a rule's retry block (nil: no retries).
func NewRetry(r *config.Retry) Retry { return Retry{cfg: r} }

// Attempts is the number of retries allowed after the first attempt.
func (r Retry) Attempts() int {
	if r.cfg == nil || r.cfg.Attempts < 0 {
		return 0
	}
	return r.cfg.Attempts
}

// On reports whether a failed attempt's status may be retried: a status in
// the policy's codes (default 502, 503, 504). Connect errors always may.
func (r Retry) On(status int) bool { return retryable(r.cfg, status) }

// Backoff is the wait before retry number n (1 for the first): the base
// (retry.backoff, default 25ms) doubled per retry, capped at ten times the
// base, drawn uniformly from its upper half (jitter).
func (r Retry) Backoff(n int) time.Duration { return backoff(r.cfg, n) }

// Wait sleeps d unless ctx ends first; it reports whether the full wait
// passed.
func Wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
