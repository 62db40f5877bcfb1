// Package mcproute is the MCP kind of route: it adapts the mcp package's
// virtual servers (one per mcp backend) to the router's Factory, Compiled and
// Handler seams. A backend is rebuilt only when its configuration changes,
// so that its stdio child processes and loaded OpenAPI documents survive
// reloads; a backend a new snapshot no longer uses is closed after the
// drain delay.
package mcproute

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/mcp"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Options configure the factory.
type Options struct {
	// Log receives warnings and the stdio targets' stderr.
	Log *slog.Logger
	// Registry receives the MCP call metrics (nil: none).
	Registry prometheus.Registerer
	// Context lives as long as the process.
	Context context.Context
	// RetireAfter is how long a backend the snapshot no longer uses is kept
	// for requests in flight (default 60s).
	RetireAfter time.Duration
}

// Factory builds the MCP routes' handlers.
type Factory struct {
	opts    Options
	metrics *metrics

	mu       sync.Mutex
	backends map[string]*built // by backend key
}

// built is a backend and the configuration it was built from.
type built struct {
	cfg *config.MCPBackend
	b   *mcp.Backend
}

var _ route.Factory = (*Factory)(nil)

// NewFactory returns the MCP kind's factory.
func NewFactory(opts Options) *Factory {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if opts.RetireAfter <= 0 {
		opts.RetireAfter = time.Minute
	}
	return &Factory{opts: opts, metrics: newMetrics(opts.Registry), backends: map[string]*built{}}
}

// Kind implements [route.Factory.Kind].
func (*Factory) Kind() route.Kind { return route.KindMCP }

// Compile implements [route.Factory.Compile]: every mcp backend of snap,
// reused when its configuration is unchanged.
func (f *Factory) Compile(snap *config.Snapshot, _ *upstream.Generation) (route.Compiled, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &compiled{backends: map[string]*mcp.Backend{}, problems: map[string]string{}}
	next := map[string]*built{}
	for key, b := range snap.Backends {
		if b.MCP == nil {
			continue
		}
		old := f.backends[key]
		if old != nil && reflect.DeepEqual(old.cfg, b.MCP) {
			next[key] = old
		} else {
			nb, err := mcp.New(key, b.MCP, mcp.Options{Log: f.opts.Log, Context: f.opts.Context, OnCall: f.metrics.observe})
			if err != nil {
				c.problems[key] = err.Error()
				continue
			}
			next[key] = &built{cfg: b.MCP, b: nb}
		}
		c.backends[key] = next[key].b
		for t, p := range next[key].b.Problems() {
			c.problems[key+"/"+t] = p
		}
	}
	for key, old := range f.backends {
		if n := next[key]; n == nil || n.b != old.b {
			time.AfterFunc(f.opts.RetireAfter, old.b.Close)
		}
	}
	f.backends = next
	return c, nil
}

// compiled is one snapshot's MCP backends.
type compiled struct {
	backends map[string]*mcp.Backend
	problems map[string]string
}

// Handler implements [route.Compiled.Handler].
func (c *compiled) Handler(rule *route.Rule) (engine.Handler, error) {
	if len(rule.Backends) != 1 {
		return nil, fmt.Errorf("an mcp rule routes to exactly one mcp backend, not %d", len(rule.Backends))
	}
	b := c.backends[rule.Backends[0].Name]
	if b == nil {
		return unavailable{reason: "mcp backend " + rule.Backends[0].Name + " could not be built: " + c.problems[rule.Backends[0].Name]}, nil
	}
	return &handler{b: b}, nil
}

// Problems implements [route.Compiled.Problems].
func (c *compiled) Problems() map[string]string { return c.problems }
