package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/policies/meter"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/tokens"
	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/memory"
	"github.com/switchyard-ai/switchyard/store/postgres"
	"github.com/switchyard-ai/switchyard/store/redis"
	"github.com/switchyard-ai/switchyard/store/sqlite"
)

// metering is the metering service with the stores it opened.
type metering struct {
	svc      *meter.Service
	counters store.Counters
	keys     store.Keys
	usage    store.Usage
	recorder *store.Recorder
	closers  []func() error
	log      *slog.Logger
}

// metered reports whether a configuration meters anything: an access
// block, or a route, rule or backend with client auth or rate limits.
func metered(c *config.Config) bool {
	if c.Access != nil {
		return true
	}
	uses := func(p *config.Policies) bool { return p != nil && (p.ClientAuth != nil || len(p.RateLimits) > 0) }
	for _, r := range c.Routes {
		if uses(r.Policies) {
			return true
		}
		for _, rule := range r.Rules {
			if uses(rule.Policies) {
				return true
			}
		}
	}
	for _, b := range c.Backends {
		if uses(b.Policies) {
			return true
		}
	}
	return false
}

// openMetering opens the stores the access block names (the embedded
// SQLite file under dataDir when it names none) and the metering service.
// The store settings are read once: changing them needs a restart.
func openMetering(ctx context.Context, c *config.Config, dataDir string, log *slog.Logger, reg prometheus.Registerer) (m *metering, err error) {
	a := c.Access
	if a == nil {
		a = config.DefaultAccess()
	}
	st := a.Store
	m = &metering{log: log}
	defer func() {
		if err != nil {
			m.close(context.Background())
		}
	}()
	path := st.Path
	if path == "" {
		path = "switchyard.db"
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dataDir, path)
	}
	flush := st.FlushInterval.D() // defaulted to 1s
	useRedis := st.Redis != nil && st.Redis.Address != ""
	usePG := st.Postgres != nil && st.Postgres.URL != ""
	var lite *sqlite.DB
	if !useRedis || !usePG {
		if lite, err = sqlite.Open(ctx, path, sqlite.Options{Log: log}); err != nil {
			return nil, fmt.Errorf("metering: %w", err)
		}
		m.closers = append(m.closers, lite.Close)
	}
	if useRedis {
		r := st.Redis
		rc, err := redis.NewCounters(redis.Options{Address: r.Address, Username: r.Username, Password: r.Password.Value(), DB: r.DB, Timeout: r.Timeout.D()})
		if err != nil {
			return nil, fmt.Errorf("metering: redis: %w", err)
		}
		m.counters = rc
	} else {
		mc, err := memory.NewCounters(memory.Options{Spend: lite, FlushInterval: flush, Log: log})
		if err != nil {
			return nil, fmt.Errorf("metering: %w", err)
		}
		m.counters = mc
	}
	m.closers = append(m.closers, m.counters.Close)
	if usePG {
		pg, err := postgres.Open(ctx, st.Postgres.URL.Value(), postgres.Options{Timeout: st.Postgres.Timeout.D(), Log: log})
		if err != nil {
			return nil, fmt.Errorf("metering: postgres: %w", err)
		}
		m.closers = append(m.closers, pg.Close)
		m.keys, m.usage = pg, pg
	} else {
		m.keys, m.usage = lite, lite
	}
	queue := st.QueueDir
	if queue == "" {
		queue = filepath.Join(filepath.Dir(path), "usage-queue")
	}
	if m.recorder, err = store.NewRecorder(m.usage, store.RecorderOptions{FlushInterval: flush, QueueDir: queue,
		QueueMaxBytes: st.QueueMaxBytes, Log: log}); err != nil {
		return nil, fmt.Errorf("metering: %w", err)
	}
	counter := tokens.New()
	// The encodings load in the background: a first request that counts
	// its prompt would otherwise wait a few hundred milliseconds.
	go counter.Preload()
	failOpen := !useRedis || st.Redis.FailureMode != config.FailClose
	m.svc, err = meter.New(ctx, meter.Options{
		Counters: m.counters, Keys: m.keys, Usage: m.recorder, FailOpen: failOpen, Log: log, Registry: reg,
		AsyncSettle: useRedis, // an adjustment is a round trip: off the request path
		CountPrompt: func(x *policies.Exchange) int { return countPrompt(counter, x) },
		NewJWT: func(ctx context.Context, c config.JWTAuth) (meter.Verifier, error) {
			return auth.NewJWTVerifier(ctx, c, auth.JWTOptions{Log: log})
		},
	})
	if err != nil {
		return nil, err
	}
	registerRecorderMetrics(reg, m.recorder)
	return m, nil
}

// countPrompt counts a chat request's prompt with the tokenizer, from its
// JSON body in place (a decode would cost more than the count); other
// operations count 0 (admission then estimates from the body's size).
func countPrompt(c *tokens.Counter, x *policies.Exchange) int {
	if x.Operation == schema.OpChat && len(x.Body) > 0 {
		if n, ok := c.CountChatJSON(x.Body); ok {
			return n
		}
	}
	if x.Decoded == nil {
		return 0
	}
	req, err := x.Decoded()
	if err != nil || req == nil || len(req.Messages) == 0 {
		return 0
	}
	return c.CountChat(req)
}

// ready reports the stores' health for /readyz: an unreachable store is
// listed; it makes the gateway unready only when it must refuse requests
// (Redis down in fail-closed mode).
func (m *metering) ready() (fatal bool, detail []string) {
	if ok, d := m.recorder.Healthy(); !ok {
		detail = append(detail, d)
	}
	if !m.svc.KeysHealthy() {
		detail = append(detail, "keys: the key store is unreachable; keys made at run time may be stale")
	}
	if h, ok := m.counters.(interface{ Healthy() (bool, string) }); ok {
		if up, d := h.Healthy(); !up {
			detail = append(detail, d)
			fatal = !m.svc.FailOpen()
		}
	}
	return fatal, detail
}

// close flushes the usage records and closes the stores, last opened first.
func (m *metering) close(ctx context.Context) {
	if m.svc != nil {
		if err := m.svc.Close(ctx); err != nil {
			m.log.Warn("metering: close", "err", err.Error())
		}
	}
	if m.recorder != nil {
		if err := m.recorder.Close(ctx); err != nil {
			m.log.Warn("usage records: close", "err", err.Error())
		}
	}
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](); err != nil && !errors.Is(err, context.Canceled) {
			m.log.Warn("metering store: close", "err", err.Error())
		}
	}
}

// registerRecorderMetrics exposes the usage recorder's counters.
func registerRecorderMetrics(reg prometheus.Registerer, r *store.Recorder) {
	if reg == nil {
		return
	}
	stat := func(f func(store.RecorderStats) float64) func() float64 {
		return func() float64 { return f(r.Stats()) }
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchyard_usage_records_written_total",
			Help: "Usage records the database accepted."}, stat(func(s store.RecorderStats) float64 { return float64(s.Written) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchyard_usage_records_dropped_total",
			Help: "Usage records lost because the disk queue was full."}, stat(func(s store.RecorderStats) float64 { return float64(s.Dropped) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchyard_usage_records_queued",
			Help: "Usage records waiting on disk for the database."}, stat(func(s store.RecorderStats) float64 { return float64(s.QueuedRecords) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchyard_usage_store_up",
			Help: "1 while the usage database accepts writes."}, stat(func(s store.RecorderStats) float64 {
			if s.Down {
				return 0
			}
			return 1
		})),
	)
}

// loopback reports whether an admin address listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
