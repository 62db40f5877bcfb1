// Package router is Switchyard's data plane: it binds the listeners of a
// configuration snapshot, matches each request to a rule (router/route),
// builds its Exchange and takes it through the rule's filters, policy chain
// and handler (router/engine.Run). Each kind of route has a handler factory:
// static HTTP (router/upstream) is built in, the OpenAI front end
// (router/ai) and later kinds are registered through Options.Handlers. A
// reload swaps the whole compiled state atomically; requests in flight
// finish on the state they began, and upstream state (connections, health,
// ejections) is kept by identity across reloads (upstream.State).
package router

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/h2"
	"github.com/switchyard-ai/switchyard/router/l4"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Options configure a Gateway.
type Options struct {
	// Log receives the access log and operational messages.
	Log *slog.Logger
	// Registry receives the gateway's metrics.
	Registry *prometheus.Registry
	// Handlers are the handler factories of the kinds of route besides static
	// HTTP, which is built in (cmd registers the OpenAI front end).
	Handlers []HandlerFactory
	// Policies attach to every rule of every snapshot (process-wide
	// observers such as the GenAI metrics), after the rule's own.
	Policies []policies.Policy
	// Builders build the policies each snapshot attaches to rules (client
	// auth, rate limits, budgets), once per snapshot.
	Builders []policies.Builder
	// Admin mounts extra admin endpoints by pattern ("GET /keys"): the
	// metering service's keys and usage API.
	Admin map[string]http.Handler
	// Ready, when set, adds detail to /readyz: an unhealthy part makes the
	// gateway not ready only when it says so (fatal); otherwise it is listed.
	Ready func() (fatal bool, detail []string)
	// Profiling serves Go's runtime profiles under /debug/pprof/ on the admin server.
	Profiling bool
}

// state is everything compiled from one snapshot.
type state struct {
	snap      *config.Snapshot
	table     *route.Table
	kinds     *compiled
	static    *staticKind // the static backends (health in /config, mirrors)
	retire    func()      // closes the upstream state this snapshot dropped
	server    config.Server
	accessLog bool
	certs     map[int][]*tls.Certificate
	hostnames []string  // configured listener and route hostnames, lower-case
	l4        *l4.Table // the TCP and TLS ports' routes
	grpc      *h2.Table // the GRPCRoutes, served on HTTP/2
	gen       *upstream.Generation
}

// Gateway serves the data plane for the current snapshot.
type Gateway struct {
	opts     Options
	log      *slog.Logger
	metrics  *metrics
	cur      atomic.Pointer[state]
	upstream *upstream.State
	kinds    registry
	l4       *l4.Proxy // serves the TCP and TLS ports

	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	listeners map[string]*boundListener // by bind address:port
	ready     atomic.Bool
	inflight  sync.WaitGroup
	// doneInflight is inflight.Done as a value made once, for exchanges
	// that leave flight when their stream body releases them.
	doneInflight func()
	stopping     atomic.Bool
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
	kinds, err := newRegistry(append([]HandlerFactory{staticFactory{log: opts.Log}}, opts.Handlers...))
	if err != nil {
		panic(err) // a wiring error in cmd, not a runtime condition
	}
	g := &Gateway{
		opts:      opts,
		log:       opts.Log,
		metrics:   newMetrics(opts.Registry),
		upstream:  upstream.NewState(),
		kinds:     kinds,
		baseCtx:   ctx,
		cancel:    cancel,
		listeners: map[string]*boundListener{},
	}
	g.doneInflight = g.inflight.Done
	g.l4 = l4.NewProxy(opts.Log, opts.Registry, func() *l4.Table {
		if st := g.cur.Load(); st != nil {
			return st.l4
		}
		return nil
	})
	return g
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
	// Serialise Applies: each compiles one generation of the upstream state.
	g.mu.Lock()
	defer g.mu.Unlock()
	gen := g.upstream.Begin()
	st, err := g.compile(snap, gen)
	if err != nil {
		gen.Abort()
		g.metrics.reloads.WithLabelValues("error").Inc()
		return err
	}
	if err := g.bindAll(st); err != nil {
		gen.Abort()
		g.metrics.reloads.WithLabelValues("error").Inc()
		return err
	}
	st.retire = gen.Commit()
	old := g.cur.Swap(st)
	g.unbindStale(st)
	g.ready.Store(true)
	g.metrics.reloads.WithLabelValues("ok").Inc()
	g.metrics.configInfo(snap)
	if old != nil {
		// Requests that began on the old state may still use what only it
		// held: close that once they have had time to finish.
		time.AfterFunc(old.server.DrainTimeout.D(), st.retire)
		// TCP and TLS connections whose route this snapshot dropped or
		// changed end once they have had the drain time.
		g.l4.Retire(st.l4, old.server.DrainTimeout.D())
	}
	return nil
}

func (g *Gateway) compile(snap *config.Snapshot, gen *upstream.Generation) (*state, error) {
	table, err := route.Compile(snap)
	if err != nil {
		return nil, fmt.Errorf("router: compile routes: %w", err)
	}
	certs, err := loadCertificates(snap)
	if err != nil {
		return nil, err
	}
	st := &state{snap: snap, table: table, server: snap.Config.Server, certs: certs, hostnames: configuredHosts(snap), gen: gen}
	st.accessLog = snap.Config.Server.AccessLog == nil || *snap.Config.Server.AccessLog
	if st.kinds, err = g.kinds.compileKinds(snap, gen, table); err != nil {
		return nil, err
	}
	st.static, _ = st.kinds.kinds[route.KindHTTP].(*staticKind)
	if st.l4, err = l4.Compile(snap, gen, certs, g.log); err != nil {
		return nil, fmt.Errorf("router: compile TCP and TLS routes: %w", err)
	}
	built := make([]policies.Compiled, 0, len(g.opts.Builders))
	for _, b := range g.opts.Builders {
		c, err := b.Compile(snap)
		if err != nil {
			return nil, fmt.Errorf("router: compile policies: %w", err)
		}
		built = append(built, c)
	}
	if err := g.compileGRPC(st, built); err != nil {
		return nil, fmt.Errorf("router: compile gRPC routes: %w", err)
	}
	table.Rules(func(rule *route.Rule) {
		var perr error
		rule.Chain, perr = compileChain(rule, built, g.opts.Policies)
		if perr != nil {
			g.log.Error("rule disabled: its policies cannot be built", "rule", rule.Key, "err", perr.Error())
			rule.Handler = unavailable{kind: rule.Kind, reason: "the rule's policies cannot be built"}
		}
		if rule.Mirror != nil && st.static != nil {
			rule.Handler = mirrored{Handler: rule.Handler, pool: st.static.pool, spec: rule.Mirror}
		}
	})
	return st, nil
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
	g.upstream.Close()
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
