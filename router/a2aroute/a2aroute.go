// Package a2aroute is the A2A kind of route: it adapts the a2a package's
// proxy (one per a2a backend) to the router's Factory, Compiled and Handler
// seams.
package a2aroute

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/switchyard-ai/switchyard/a2a"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Factory builds the A2A routes' handlers.
type Factory struct {
	log *slog.Logger

	mu     sync.Mutex
	agents map[string]*built
}

// built is an agent and the configuration it was built from.
type built struct {
	cfg *config.A2ABackend
	a   *a2a.Agent
}

var _ route.Factory = (*Factory)(nil)

// NewFactory returns the A2A kind's factory.
func NewFactory(log *slog.Logger) *Factory {
	if log == nil {
		log = slog.Default()
	}
	return &Factory{log: log, agents: map[string]*built{}}
}

// Kind implements [route.Factory.Kind].
func (*Factory) Kind() route.Kind { return route.KindA2A }

// Compile implements [route.Factory.Compile]: every a2a backend of snap,
// reused when its configuration is unchanged (its connections with it).
func (f *Factory) Compile(snap *config.Snapshot, _ *upstream.Generation) (route.Compiled, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &compiled{agents: map[string]*a2a.Agent{}, problems: map[string]string{}}
	next := map[string]*built{}
	for key, b := range snap.Backends {
		if b.A2A == nil {
			continue
		}
		if old := f.agents[key]; old != nil && reflect.DeepEqual(old.cfg, b.A2A) {
			next[key] = old
		} else {
			a, err := a2a.New(key, b.A2A, f.log)
			if err != nil {
				c.problems[key] = err.Error()
				continue
			}
			next[key] = &built{cfg: b.A2A, a: a}
		}
		c.agents[key] = next[key].a
	}
	f.agents = next
	return c, nil
}

// compiled is one snapshot's agents.
type compiled struct {
	agents   map[string]*a2a.Agent
	problems map[string]string
}

// Handler implements [route.Compiled.Handler].
func (c *compiled) Handler(rule *route.Rule) (engine.Handler, error) {
	if len(rule.Backends) != 1 {
		return nil, fmt.Errorf("an a2a rule routes to exactly one a2a backend, not %d", len(rule.Backends))
	}
	name := rule.Backends[0].Name
	a := c.agents[name]
	if a == nil {
		return unavailable{reason: "a2a backend " + name + " could not be built: " + c.problems[name]}, nil
	}
	h := &handler{a: a}
	for _, m := range rule.Config.Matches {
		if m.Path != nil && (m.Path.Type == config.PathPrefix || m.Path.Type == config.PathExact || m.Path.Type == "") {
			h.prefixes = append(h.prefixes, strings.TrimSuffix(m.Path.Value, "/"))
		}
	}
	sort.Slice(h.prefixes, func(i, j int) bool { return len(h.prefixes[i]) > len(h.prefixes[j]) })
	return h, nil
}

// Problems implements [route.Compiled.Problems].
func (c *compiled) Problems() map[string]string { return c.problems }

// handler serves one rule's requests with its agent.
type handler struct {
	a *a2a.Agent
	// prefixes are the rule's path prefixes, longest first: the agent's
	// path at the gateway.
	prefixes []string
}

var _ engine.Handler = (*handler)(nil)

// prefix is the part of path the rule matched.
func (h *handler) prefix(path []byte) string {
	for _, p := range h.prefixes {
		if bytes.HasPrefix(path, []byte(p)) && (len(path) == len(p) || path[len(p)] == '/') {
			return p
		}
	}
	return ""
}

// Admit implements [engine.Handler.Admit].
func (h *handler) Admit(*engine.Exchange) bool { return true }

// Serve implements [engine.Handler.Serve].
func (h *handler) Serve(ex *engine.Exchange) {
	ex.Access.Backend = h.a.Name()
	ex.X.Backend = h.a.Name()
	c := a2a.Caller{Authorization: string(ex.Ctx.Request.Header.Peek("Authorization"))}
	h.a.Serve(ex.Context(), ex.Ctx, h.prefix(ex.Ctx.Path()), &c)
}

// WriteError implements [engine.Handler.WriteError]: a JSON-RPC error. The
// agent card is public: a request for it refused by client auth gets it.
func (h *handler) WriteError(ex *engine.Exchange, e *engine.Error) {
	ctx := ex.Ctx
	if e.Status == http.StatusUnauthorized && ctx.IsGet() {
		p := h.prefix(ctx.Path())
		if a2a.IsCard(ctx.Path()[len(p):]) {
			h.a.ServeCard(ex.Context(), ctx, p)
			return
		}
	}
	a2a.WriteError(ctx, e.Status, e.Message)
}

// unavailable serves a rule whose agent could not be built (its signing key
// did not load): 503 with a JSON-RPC error.
type unavailable struct{ reason string }

// Admit implements [engine.Handler.Admit].
func (unavailable) Admit(*engine.Exchange) bool { return true }

// Serve implements [engine.Handler.Serve].
func (u unavailable) Serve(ex *engine.Exchange) {
	a2a.WriteError(ex.Ctx, http.StatusServiceUnavailable, u.reason)
}

// WriteError implements [engine.Handler.WriteError].
func (unavailable) WriteError(ex *engine.Exchange, e *engine.Error) {
	a2a.WriteError(ex.Ctx, e.Status, e.Message)
}
