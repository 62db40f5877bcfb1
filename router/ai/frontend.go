// Package ai is Switchyard's OpenAI-compatible front end. For a matched AI
// rule it reads only model and stream from the client's body (gjson), picks
// the AI backends that serve the model (priority groups, weights, health),
// sends the request through the provider's translator, fails over before the
// first byte reaches the client, relays streams chunk by chunk, and reports
// usage to the policy chain once the response has ended.
package ai

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/openai"
	"github.com/switchyard-ai/switchyard/providers/sim"
	"github.com/switchyard-ai/switchyard/router/dialer"
)

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 32 << 20

// Options configure a Frontend.
type Options struct {
	// Log receives warnings (nil: slog.Default()).
	Log *slog.Logger
	// Policies run Request before the upstream call (a *policies.Denial ends the
	// request) and Done once per request after the response ends, even if the
	// client left.
	Policies policies.Chain
	// MaxBodyBytes bounds a request body (0: DefaultMaxBodyBytes). Larger gets 413.
	MaxBodyBytes int
	// Adapters are extra adapters by provider name (bedrock, vertex, gemini,
	// anthropic, sim). They override the built-in openai, azure and
	// openai-compatible adapters when they use the same name. An adapter that
	// implements providers.Direct is called in-process.
	Adapters map[string]providers.Adapter
	// Direct are in-process adapters by provider name, called with no HTTP. The
	// sim provider defaults to a new sim.Adapter per Frontend; pass one shared
	// per process (Direct["sim"]) to keep its state and metrics across reloads.
	Direct map[string]providers.Direct
	// StreamWriteTimeout bounds each write of a streamed response to the
	// client (0: DefaultStreamWriteTimeout); see writeIdle.
	StreamWriteTimeout time.Duration
	// Signers optionally overrides how a backend's upstream signer is built; a
	// nil Signer with a nil error falls back to the default (API key or
	// passthrough, in the provider's header).
	Signers func(b *config.AIBackend) (auth.Signer, error)
}

// Route is what the router hands over for a matched AI rule.
type Route struct {
	// Key is the rule key namespace.name.rule.match.
	Key string
	// Refs are the rule's backendRefs (names namespace/name).
	Refs []config.BackendRef
	// Timeouts are the rule's timeouts, if any.
	Timeouts *config.Timeouts
	// Retry, if set, makes up to Attempts more passes over the candidate
	// backends when every one failed with a status in Codes, after Backoff
	// (doubled each pass). Failover across candidates happens regardless.
	Retry *config.Retry
}

// Frontend serves the OpenAI API for one snapshot's AI backends. Built once per
// snapshot; safe for concurrent use.
type Frontend struct {
	log      *slog.Logger
	policies policies.Chain
	maxBody  int
	backends map[string]*backend
	// streamWrite bounds each write of a streamed response (server.streamWriteTimeout).
	streamWrite time.Duration
	// routes caches each route's resolved refs by route key.
	routes sync.Map // string -> *routeRefs
}

// routeRefs are a route's refs resolved to backends, in config order, with
// an index of which refs may serve a model.
type routeRefs struct {
	refs []config.BackendRef
	bs   []*backend // nil where a ref names no AI backend
	// src is the Refs slice the entry was built from: the same slice (the
	// router passes its rule's, immutable like every snapshot value) needs no
	// element-by-element comparison.
	src *config.BackendRef
	idx modelIndex
}

// New builds the front end for every AI backend of snap: an adapter, a signer
// and an upstream client per backend.
func New(snap *config.Snapshot, opts Options) (*Frontend, error) {
	f := &Frontend{log: opts.Log, policies: opts.Policies, maxBody: opts.MaxBodyBytes, backends: map[string]*backend{}}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.maxBody <= 0 {
		f.maxBody = DefaultMaxBodyBytes
	}
	f.streamWrite = streamWriteTimeout(opts.StreamWriteTimeout)
	adapters := map[string]providers.Adapter{
		config.ProviderOpenAI:           openai.New(),
		config.ProviderAzure:            openai.New(),
		config.ProviderOpenAICompatible: openai.New(),
	}
	for name, a := range opts.Adapters {
		adapters[name] = a
	}
	directs := map[string]providers.Direct{}
	for name, d := range opts.Direct {
		directs[name] = d
	}
	if _, ok := directs[config.ProviderSim]; !ok && adapters[config.ProviderSim] == nil {
		directs[config.ProviderSim] = sim.NewAdapter(nil)
	}
	if snap == nil {
		return f, nil
	}
	keys := make([]string, 0, len(snap.Backends))
	for k := range snap.Backends {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dials := dialer.New(0, 0) // the backends' dials; its goroutines end when idle
	for _, key := range keys {
		cb := snap.Backends[key]
		if cb == nil || cb.AI == nil {
			continue
		}
		b, err := newBackend(key, cb.AI, adapters, directs, opts.Signers, dials)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("ai: backend %s: %w", key, err)
		}
		if b.problem != "" {
			f.log.Warn("ai: backend unavailable", "backend", key, "problem", b.problem)
		}
		f.backends[key] = b
	}
	return f, nil
}

// Problems lists the AI backends that cannot serve and why (credentials that
// did not load), by backend key, for /config.
func (f *Frontend) Problems() map[string]string {
	out := map[string]string{}
	for key, b := range f.backends {
		if b.problem != "" {
			out[key] = b.problem
		}
	}
	return out
}

// Close releases the upstream clients' idle connections.
func (f *Frontend) Close() {
	for _, b := range f.backends {
		b.close()
	}
}

// Models lists the client-facing models of a route (for /v1/models), sorted:
// every backend's models and aliases, and the fixed model of backends that
// serve any name. Catch-all backends add nothing.
func (f *Frontend) Models(r Route) []string {
	rr := f.resolve(r)
	seen := map[string]bool{}
	for i, b := range rr.bs {
		if b == nil || weightOf(rr.refs[i]) == 0 {
			continue
		}
		for _, m := range b.cfg.Models {
			seen[m] = true
		}
		for a := range b.cfg.Aliases {
			seen[a] = true
		}
		if len(b.cfg.Models) == 0 && b.cfg.Model != "" {
			seen[b.cfg.Model] = true
		}
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// resolve returns the route's refs resolved to backends (cached by key).
func (f *Frontend) resolve(r Route) *routeRefs {
	if v, ok := f.routes.Load(r.Key); ok {
		rr := v.(*routeRefs)
		if len(r.Refs) == len(rr.refs) && len(r.Refs) > 0 && rr.src == unsafe.SliceData(r.Refs) ||
			sameRefs(rr.refs, r.Refs) {
			return rr
		}
	}
	rr := &routeRefs{refs: append([]config.BackendRef(nil), r.Refs...), bs: make([]*backend, len(r.Refs)), src: unsafe.SliceData(r.Refs)}
	ns := config.DefaultNamespace
	if i := strings.IndexByte(r.Key, '.'); i > 0 {
		ns = r.Key[:i]
	}
	for i, ref := range r.Refs {
		name := ref.Name
		if !strings.Contains(name, "/") {
			name = ns + "/" + name
		}
		rr.bs[i] = f.backends[name]
	}
	rr.idx = buildIndex(rr.bs)
	f.routes.Store(r.Key, rr)
	return rr
}

func sameRefs(a, b []config.BackendRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Priority != b[i].Priority || weightOf(a[i]) != weightOf(b[i]) {
			return false
		}
	}
	return true
}

func weightOf(r config.BackendRef) int {
	if r.Weight == nil {
		return 1
	}
	return *r.Weight
}
