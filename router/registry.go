package router

import (
	"fmt"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// HandlerFactory makes the handlers of one kind of route (see route.Factory).
type HandlerFactory = route.Factory

// CompiledKind is one snapshot's compiled state of a kind (see route.Compiled).
type CompiledKind = route.Compiled

// registry is the Gateway's handler factories by kind.
type registry map[route.Kind]HandlerFactory

func newRegistry(fs []HandlerFactory) (registry, error) {
	r := registry{}
	for _, f := range fs {
		if _, dup := r[f.Kind()]; dup {
			return nil, fmt.Errorf("router: two handler factories for route kind %s", f.Kind())
		}
		r[f.Kind()] = f
	}
	return r, nil
}

// compiled is the per-snapshot state of every kind.
type compiled struct {
	kinds map[route.Kind]CompiledKind
}

// compileKinds compiles every registered kind for snap and sets each rule's
// handler; a rule whose kind has no factory gets one that answers 503.
func (r registry) compileKinds(snap *config.Snapshot, gen *upstream.Generation, table *route.Table) (*compiled, error) {
	c := &compiled{kinds: map[route.Kind]CompiledKind{}}
	for kind, f := range r {
		ck, err := f.Compile(snap, gen)
		if err != nil {
			return nil, fmt.Errorf("router: compile %s routes: %w", kind, err)
		}
		c.kinds[kind] = ck
	}
	var err error
	table.Rules(func(rule *route.Rule) {
		if err != nil {
			return
		}
		ck := c.kinds[rule.Kind]
		if ck == nil {
			rule.Handler = unavailable{kind: rule.Kind}
			return
		}
		h, herr := ck.Handler(rule)
		if herr != nil {
			err = fmt.Errorf("router: rule %s: %w", rule.Key, herr)
			return
		}
		rule.Handler = h
	})
	return c, err
}

// problems merges every kind's problems.
func (c *compiled) problems() map[string]string {
	out := map[string]string{}
	for _, ck := range c.kinds {
		for k, v := range ck.Problems() {
			out[k] = v
		}
	}
	return out
}

// unavailable serves the rules of a kind no factory was registered for.
type unavailable struct {
	kind   route.Kind
	reason string // "" : no factory for the kind
}

var _ engine.Handler = unavailable{}

// Admit implements [engine.Handler.Admit].
func (unavailable) Admit(*engine.Exchange) bool { return true }

// Serve implements [engine.Handler.Serve].
func (u unavailable) Serve(ex *engine.Exchange) {
	if u.reason != "" {
		writeError(ex.Ctx, 503, "service_unavailable", u.reason)
		return
	}
	writeError(ex.Ctx, 503, "service_unavailable", u.kind.String()+" routes are not served by this gateway")
}

// WriteError implements [engine.Handler.WriteError].
func (unavailable) WriteError(ex *engine.Exchange, e *engine.Error) {
	writeEngineError(ex, e)
}
