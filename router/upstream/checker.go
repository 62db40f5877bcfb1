package upstream

import (
	"context"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// Health check defaults, used when the snapshot left a field zero.
const (
	defaultCheckInterval = 10 * time.Second
	defaultCheckTimeout  = 2 * time.Second
)

// Probe sends one health check; true when the upstream answered 2xx or 3xx
// within timeout.
type Probe func(ctx context.Context, timeout time.Duration) bool

// Checker is one upstream's active health checker, the same for a static
// endpoint and an AI backend: it probes every hc.Interval and flips healthy,
// unhealthyThreshold failures in a row marking the upstream down and
// healthyThreshold successes bringing it back. It lives in the upstream's
// State entry, so a reload that keeps the upstream keeps its checker and its
// verdict.
type Checker struct {
	cancel context.CancelFunc
}

// StartChecker starts checking with probe, recording the verdict in healthy
// (which starts true: nothing is known yet). name identifies the upstream in
// the log.
func StartChecker(hc *config.HealthCheck, name string, healthy *atomic.Bool, probe Probe, log *slog.Logger) *Checker {
	ctx, cancel := context.WithCancel(context.Background())
	go runChecks(ctx, hc, name, healthy, probe, log)
	return &Checker{cancel: cancel}
}

// Stop ends the checker; a probe in flight ends within its timeout and its
// verdict is dropped.
func (c *Checker) Stop() {
	if c != nil {
		c.cancel()
	}
}

// checkTimes are a health check's interval, timeout and thresholds with the
// defaults applied.
func checkTimes(hc *config.HealthCheck) (interval, timeout time.Duration, down, up int) {
	interval, timeout = hc.Interval.D(), hc.Timeout.D()
	if interval <= 0 {
		interval = defaultCheckInterval
	}
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	return interval, timeout, max(hc.UnhealthyThreshold, 1), max(hc.HealthyThreshold, 1)
}

func runChecks(ctx context.Context, hc *config.HealthCheck, name string, healthy *atomic.Bool, probe Probe, log *slog.Logger) {
	interval, timeout, down, up := checkTimes(hc)
	fails, oks := 0, 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		ok := probe(ctx, timeout)
		if ctx.Err() != nil {
			return
		}
		if ok {
			fails, oks = 0, oks+1
			if oks >= up && !healthy.Load() {
				healthy.Store(true)
				log.Info("upstream: healthy again", "upstream", name)
			}
		} else {
			fails, oks = fails+1, 0
			if fails >= down && healthy.Load() {
				healthy.Store(false)
				log.Warn("upstream: unhealthy", "upstream", name, "failures", fails)
			}
		}
		timer.Reset(interval)
	}
}

// ConnectProbe returns a Probe that passes when a TCP connection to addr
// opens within the check's timeout (for TCP, TLS and gRPC backends, whose
// protocols a gateway cannot probe generically).
func ConnectProbe(addr string) Probe {
	return func(ctx context.Context, to time.Duration) bool {
		d := net.Dialer{Timeout: to}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}
}
