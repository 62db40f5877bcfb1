package meter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/store"
)

// Options configure a Service.
type Options struct {
	// Counters hold rate limit and budget state (required).
	Counters store.Counters
	// Keys hold the keys made through the admin API (nil: configured keys only).
	Keys store.Keys
	// Usage takes one record per AI request (nil: none written).
	Usage Recorder
	// CountPrompt counts a request's prompt tokens (the tokenizer); nil
	// estimates a quarter of the body's bytes.
	CountPrompt func(x *policies.Exchange) int
	// NewJWT builds a JWT verifier for a clientAuth policy (nil: JWT auth is refused).
	NewJWT func(ctx context.Context, c config.JWTAuth) (Verifier, error)
	// AsyncSettle applies settlements from a queue, off the request path:
	// for counters across the network (Redis), where an adjustment is a
	// round trip. Close applies what is queued.
	AsyncSettle bool
	// FailOpen admits requests unmetered while the counters' store is
	// unreachable; otherwise they are refused with 503.
	FailOpen bool
	// KeyRefresh is how often run-time keys are reloaded in case a change
	// notification was lost (default 30s).
	KeyRefresh time.Duration
	Log        *slog.Logger
	Registry   prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is token-metered access for the life of the process: see the
// package documentation. It implements policies.Builder.
type Service struct {
	ctx      context.Context
	counters store.Counters
	keyStore store.Keys
	keys     *keyCache
	usage    Recorder
	count    func(x *policies.Exchange) int
	newJWT   func(ctx context.Context, c config.JWTAuth) (Verifier, error)
	failOpen bool
	log      *slog.Logger
	metrics  *metrics
	now      func() time.Time
	resPool  *sync.Pool
	settler  *settler                  // nil: settlements applied where they are made
	dir      atomic.Pointer[directory] // the last compiled snapshot's
	jwtMu    sync.Mutex
	jwts     map[string]Verifier // by configuration, across reloads

	lastLog atomic.Int64 // unix seconds of the last store error logged
	// costByModel caches switchyard_cost_total's series by model label.
	costByModel sync.Map
	// remainingTokens and remainingUSD cache switchyard_budget_remaining's
	// series by counter key.
	remainingTokens, remainingUSD sync.Map
}

var _ policies.Builder = (*Service)(nil)

// New returns a Service that runs until ctx ends.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Counters == nil {
		return nil, errors.New("meter: no counters store")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KeyRefresh <= 0 {
		o.KeyRefresh = 30 * time.Second
	}
	s := &Service{ctx: ctx, counters: o.Counters, keyStore: o.Keys, usage: o.Usage, count: o.CountPrompt, newJWT: o.NewJWT,
		failOpen: o.FailOpen, log: o.Log, metrics: newMetrics(o.Registry), now: o.Now, resPool: newReservationPool(),
		jwts: map[string]Verifier{}}
	s.keys = newKeyCache(ctx, o.Keys, o.KeyRefresh, o.Log)
	if o.AsyncSettle {
		s.settler = newSettler(o.Counters, o.Now, s.settleFailed)
	}
	return s, nil
}

// Close applies the settlements still queued (AsyncSettle), until ctx
// ends; later settlements are applied where they are made. Call it once
// the router has drained.
func (s *Service) Close(ctx context.Context) error {
	if s.settler == nil {
		return nil
	}
	if err := s.settler.close(ctx); err != nil {
		return fmt.Errorf("meter: apply queued settlements: %w", err)
	}
	return nil
}

// Policy returns the process-wide usage recorder, to attach to every rule
// (router.Options.Policies): it writes a usage record for every AI request.
func (s *Service) Policy() policies.Policy { return usagePolicy{svc: s} }

// Compile implements [policies.Builder].
func (s *Service) Compile(snap *config.Snapshot) (policies.Compiled, error) {
	dir, err := compileDirectory(snap.Config.Access)
	if err != nil {
		return nil, err
	}
	s.dir.Store(dir)
	return &compiled{svc: s, dir: dir}, nil
}

// compiled is one snapshot's policy builder.
type compiled struct {
	svc *Service
	dir *directory
}

// Policies implements [policies.Compiled].
func (c *compiled) Policies(route string, p config.Policies) ([]policies.Policy, error) {
	var out []policies.Policy
	if p.ClientAuth != nil {
		var v Verifier
		if p.ClientAuth.JWT != nil {
			var err error
			if v, err = c.svc.verifier(*p.ClientAuth.JWT); err != nil {
				return nil, err
			}
		}
		out = append(out, newClientAuth(c.svc, c.dir, p.ClientAuth, v))
	}
	if p.ClientAuth != nil || len(p.RateLimits) > 0 {
		a, err := newAdmission(c.svc, c.dir, route, p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// verifier returns the JWT verifier of a configuration, built once and
// kept across reloads (its JWKS cache with it).
func (s *Service) verifier(c config.JWTAuth) (Verifier, error) {
	if s.newJWT == nil {
		return nil, errors.New("meter: JWT client auth is not available in this build")
	}
	k, _ := json.Marshal(c)
	s.jwtMu.Lock()
	defer s.jwtMu.Unlock()
	if v, ok := s.jwts[string(k)]; ok {
		return v, nil
	}
	v, err := s.newJWT(s.ctx, c)
	if err != nil {
		return nil, fmt.Errorf("meter: jwt: %w", err)
	}
	s.jwts[string(k)] = v
	return v, nil
}

// at is t, or the service's clock's now when t is zero: policies read the
// request's start and end times, which the engine takes once for all of
// them, rather than the clock (tests set neither and a fake clock).
func (s *Service) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

// countPrompt counts x's prompt tokens.
func (s *Service) countPrompt(x *policies.Exchange) int {
	if s.count != nil {
		if n := s.count(x); n > 0 {
			return n
		}
	}
	return len(x.Body)/4 + 1
}

// settleFailed records a failed settlement.
func (s *Service) settleFailed(err error) {
	s.metrics.storeErrors.WithLabelValues("counters").Inc()
	s.logStoreError("counters", err)
}

// logStoreError logs a store error at most once a second.
func (s *Service) logStoreError(which string, err error) {
	now := time.Now().Unix()
	if last := s.lastLog.Load(); last != now && s.lastLog.CompareAndSwap(last, now) {
		s.log.Warn("metering store error", "store", which, "err", err.Error())
	}
}

// KeysHealthy reports whether the run-time keys were last loaded successfully.
func (s *Service) KeysHealthy() bool { return s.keyStore == nil || s.keys.healthy.Load() }

// FailOpen reports whether requests are admitted unmetered while the counters' store is down.
func (s *Service) FailOpen() bool { return s.failOpen }
