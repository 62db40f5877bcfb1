// Package router is Switchyard's data plane: it binds the listeners of a
// configuration snapshot, matches each request to a route (router/route), runs
// the route's filters, and forwards to a static backend (router/upstream) or
// hands AI routes to the OpenAI front end (router/ai). A reload swaps the whole
// compiled state atomically; requests in flight finish on the state they began.
package router

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/ai"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Options configure a Gateway.
type Options struct {
	// Log receives the access log and operational messages.
	Log *slog.Logger
	// Registry receives the gateway's metrics.
	Registry *prometheus.Registry
	// Frontend builds the OpenAI front end of a snapshot (cmd wires providers in).
	Frontend func(snap *config.Snapshot) (*ai.Frontend, error)
	// Profiling serves Go's runtime profiles under /debug/pprof/ on the admin server.
	Profiling bool
}

// state is everything compiled from one snapshot.
type state struct {
	snap      *config.Snapshot
	table     *route.Table
	pool      *upstream.Pool
	frontend  *ai.Frontend
	server    config.Server
	accessLog bool
	certs     map[int][]*tls.Certificate
	hostnames []string // configured listener and route hostnames, lower-case
}

// Gateway serves the data plane for the current snapshot.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	cur     atomic.Pointer[state]

	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	listeners map[string]*boundListener // by bind address:port
	ready     atomic.Bool
	inflight  sync.WaitGroup
	stopping  atomic.Bool
}

// New returns a Gateway with no snapshot; call Apply, then Serve.
func New(opts Options) *Gateway {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Gateway{
		opts:      opts,
		log:       opts.Log,
		metrics:   newMetrics(opts.Registry),
		baseCtx:   ctx,
		cancel:    cancel,
		listeners: map[string]*boundListener{},
	}
}

// Snapshot returns the snapshot being served (nil before the first Apply).
func (g *Gateway) Snapshot() *config.Snapshot {
	if s := g.cur.Load(); s != nil {
		return s.snap
	}
	return nil
}

// Ready reports whether a snapshot is loaded and every listener is bound.
func (g *Gateway) Ready() bool { return g.ready.Load() && !g.stopping.Load() }

// Apply compiles snap and swaps it in atomically, binding new ports and closing
// ports no longer configured. On error the running state is kept.
func (g *Gateway) Apply(snap *config.Snapshot) error {
	// Serialise Applies: compile rebuilds the pool from the current state, and
	// two Applies rebuilding from the same pool would split its endpoints' state.
	g.mu.Lock()
	defer g.mu.Unlock()
	st, err := g.compile(snap)
	if err != nil {
		g.metrics.reloads.WithLabelValues("error").Inc()
		return err
	}
	if err := g.bindAll(st); err != nil {
		st.close()
		g.metrics.reloads.WithLabelValues("error").Inc()
		return err
	}
	old := g.cur.Swap(st)
	g.unbindStale(st)
	g.ready.Store(true)
	g.metrics.reloads.WithLabelValues("ok").Inc()
	g.metrics.configInfo(snap)
	if old != nil {
		// Requests that began on the old state may still use it: release it
		// once they have had time to finish.
		drain := old.server.DrainTimeout.D()
		time.AfterFunc(drain, old.close)
	}
	return nil
}

func (g *Gateway) compile(snap *config.Snapshot) (*state, error) {
	table, err := route.Compile(snap)
	if err != nil {
		return nil, fmt.Errorf("router: compile routes: %w", err)
	}
	certs, err := loadCertificates(snap)
	if err != nil {
		return nil, err
	}
	st := &state{snap: snap, table: table, server: snap.Config.Server, certs: certs, hostnames: configuredHosts(snap)}
	st.accessLog = snap.Config.Server.AccessLog == nil || *snap.Config.Server.AccessLog
	if prev := g.cur.Load(); prev != nil && prev.pool != nil {
		st.pool = prev.pool.Rebuild(g.baseCtx, snap.Backends)
	} else {
		st.pool = upstream.NewPool(g.baseCtx, snap.Backends, g.log)
	}
	if g.opts.Frontend != nil {
		fe, err := g.opts.Frontend(snap)
		if err != nil {
			st.pool.Close()
			return nil, fmt.Errorf("router: build AI front end: %w", err)
		}
		st.frontend = fe
	}
	return st, nil
}

func (s *state) close() {
	if s.pool != nil {
		s.pool.Close()
	}
	if s.frontend != nil {
		s.frontend.Close()
	}
}

// Shutdown stops accepting connections and waits for requests in flight to
// finish, up to the snapshot's drain timeout or ctx, whichever comes first.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.stopping.Store(true)
	st := g.cur.Load()
	drain := 30 * time.Second
	if st != nil {
		drain = st.server.DrainTimeout.D()
	}
	ctx, cancel := context.WithTimeout(ctx, drain)
	defer cancel()
	g.mu.Lock()
	var (
		errs  []error
		errMu sync.Mutex
		wg    sync.WaitGroup
	)
	for key, l := range g.listeners {
		wg.Add(1)
		go func(l *boundListener) {
			defer wg.Done()
			if err := l.shutdown(ctx); err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		}(l)
		delete(g.listeners, key)
	}
	g.mu.Unlock()
	wg.Wait()
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("router: drain: %w", ctx.Err()))
	}
	g.cancel()
	if st != nil {
		st.close()
	}
	return errors.Join(errs...)
}

// configuredHosts lists every hostname a listener or route names.
func configuredHosts(snap *config.Snapshot) []string {
	var out []string
	for _, l := range snap.Config.Listeners {
		if l.Hostname != "" {
			out = append(out, strings.ToLower(l.Hostname))
		}
	}
	for _, r := range snap.Config.Routes {
		for _, h := range r.Hostnames {
			out = append(out, strings.ToLower(h))
		}
	}
	return out
}
