// Package ai is Switchyard's OpenAI-compatible front end, the handler of AI
// routes. For a matched AI rule it reads only model and stream from the
// client's body, picks the AI backends that serve the model (priority
// groups, weights, health), sends the request through the provider's
// translator, fails over before the first byte reaches the client, relays
// streams chunk by chunk, and ends the exchange with its usage so that the
// router settles the policies' reservations.
//
// A Factory lives as long as the process; it compiles each snapshot into a
// Frontend (its AI backends, whose clients, signers and health come from the
// router's upstream.State by identity and so survive reloads), and a
// Frontend builds one handler per AI rule with the rule's backend
// references resolved.
package ai

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/registry"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// DefaultMaxBodyBytes bounds a request body when neither Options.MaxBodyBytes
// nor the snapshot's server.maxBodyBytes says otherwise.
const DefaultMaxBodyBytes = 32 << 20

// Providers is what the front end needs of the provider registry
// (providers/registry.Registry implements it).
type Providers interface {
	// Adapter returns the adapter of a provider name, nil when none.
	Adapter(provider string) providers.Adapter
	// Direct returns the in-process adapter of a provider name, nil when none.
	Direct(provider string) providers.Direct
	// Credential says in which header, with which prefix, the provider expects an API key.
	Credential(provider string) (header, prefix string)
}

// Options configure a Factory.
type Options struct {
	// Log receives warnings (nil: slog.Default()).
	Log *slog.Logger
	// MaxBodyBytes bounds a request body (0: the snapshot's
	// server.maxBodyBytes, else DefaultMaxBodyBytes). Larger gets 413.
	MaxBodyBytes int
	// Providers is the adapter registry (nil: registry.New(Direct)).
	Providers Providers
	// Direct are in-process adapters by provider name used when Providers is
	// nil (tests).
	Direct map[string]providers.Direct
	// Context bounds the credential sources' background refreshes (nil:
	// context.Background()).
	Context context.Context
	// StreamWriteTimeout bounds each write of a streamed response to the
	// client (0: the snapshot's server.streamWriteTimeout, else
	// DefaultStreamWriteTimeout); see writeIdle.
	StreamWriteTimeout time.Duration
	// Inference records the inference pools' metrics (nil: none).
	Inference *inference.Metrics
}

// Factory compiles snapshots into Frontends. One serves the process.
type Factory struct {
	opts Options
	log  *slog.Logger
	prov Providers
	ctx  context.Context
	// conns are the gRPC connections to endpoint pickers, shared by pools.
	conns *inference.Conns
}

// NewFactory returns a Factory.
func NewFactory(opts Options) *Factory {
	fa := &Factory{opts: opts, log: opts.Log, prov: opts.Providers, ctx: opts.Context, conns: inference.NewConns()}
	if fa.log == nil {
		fa.log = slog.Default()
	}
	if fa.prov == nil {
		fa.prov = registry.New(opts.Direct)
	}
	if fa.ctx == nil {
		fa.ctx = context.Background()
	}
	return fa
}

var (
	_ route.Factory  = (*Factory)(nil)
	_ route.Compiled = (*Frontend)(nil)
)

// Kind is the kind of route the Factory's handlers serve.
func (fa *Factory) Kind() route.Kind { return route.KindAI }

// Frontend serves the OpenAI API for one snapshot's AI backends. It is
// immutable and safe for concurrent use.
type Frontend struct {
	log      *slog.Logger
	maxBody  int
	backends map[string]*backend
	// streamWrite bounds each write of a streamed response (server.streamWriteTimeout).
	streamWrite time.Duration
	// own is the State a standalone Frontend (New) made for itself.
	own *upstream.State
}

// Compile builds the Frontend of snap: every AI backend with its adapter,
// and its upstream state (client, signer, health) taken from gen by
// identity, so that a reload that keeps a backend's address, TLS settings
// and credentials keeps its connections and its health.
func (fa *Factory) Compile(snap *config.Snapshot, gen *upstream.Generation) (route.Compiled, error) {
	return fa.compile(snap, gen)
}

func (fa *Factory) compile(snap *config.Snapshot, gen *upstream.Generation) (*Frontend, error) {
	f := &Frontend{log: fa.log, maxBody: fa.opts.MaxBodyBytes, backends: map[string]*backend{}}
	if f.maxBody <= 0 && snap != nil && snap.Config != nil {
		f.maxBody = snap.Config.Server.MaxBodyBytes
	}
	if f.maxBody <= 0 {
		f.maxBody = DefaultMaxBodyBytes
	}
	f.streamWrite = fa.opts.StreamWriteTimeout
	if f.streamWrite <= 0 && snap != nil && snap.Config != nil {
		f.streamWrite = snap.Config.Server.StreamWriteTimeout.D()
	}
	f.streamWrite = streamWriteTimeout(f.streamWrite)
	if snap == nil {
		return f, nil
	}
	keys := make([]string, 0, len(snap.Backends))
	for k := range snap.Backends {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		cb := snap.Backends[key]
		if cb == nil || cb.AI == nil && cb.InferencePool == nil {
			continue
		}
		var b *backend
		var err error
		if cb.InferencePool != nil {
			b, err = fa.newPoolBackend(key, cb.InferencePool, gen)
		} else {
			b, err = fa.newBackend(key, cb.AI, gen)
		}
		if err != nil {
			return nil, fmt.Errorf("ai: backend %s: %w", key, err)
		}
		if p := b.problem(); p != "" {
			fa.log.Warn("ai: backend unavailable", "backend", key, "problem", p)
		}
		f.backends[key] = b
	}
	return f, nil
}

// New compiles snap into a standalone Frontend over an upstream State of its
// own (tests and tools); Close releases it.
func New(snap *config.Snapshot, opts Options) (*Frontend, error) {
	st := upstream.NewState()
	gen := st.Begin()
	f, err := NewFactory(opts).compile(snap, gen)
	if err != nil {
		gen.Abort()
		st.Close()
		return nil, err
	}
	gen.Commit()
	f.own = st
	return f, nil
}

// Close releases a standalone Frontend's upstream state; a Frontend compiled
// from a shared State leaves it to the State.
func (f *Frontend) Close() {
	if f.own != nil {
		f.own.Close()
	}
}

// Problems lists the AI backends that cannot serve and why (credentials that
// did not load), by backend key, for /config.
func (f *Frontend) Problems() map[string]string {
	out := map[string]string{}
	for key, b := range f.backends {
		if p := b.problem(); p != "" {
			out[key] = p
		}
	}
	return out
}

// Handler builds the handler of an AI rule: its backend references resolved
// to the Frontend's backends once, with the index of which serve a model.
func (f *Frontend) Handler(rule *route.Rule) (engine.Handler, error) {
	return f.newRuleHandler(rule), nil
}

// resolveRefs resolves a rule's refs to backends (nil where a ref names no AI
// backend); a bare name takes the namespace of the rule key.
func (f *Frontend) resolveRefs(ruleKey string, refs []config.BackendRef) []*backend {
	ns := config.DefaultNamespace
	if i := strings.IndexByte(ruleKey, '.'); i > 0 {
		ns = ruleKey[:i]
	}
	bs := make([]*backend, len(refs))
	for i, ref := range refs {
		name := ref.Name
		if !strings.Contains(name, "/") {
			name = ns + "/" + name
		}
		bs[i] = f.backends[name]
	}
	return bs
}

func weightOf(r config.BackendRef) int {
	if r.Weight == nil {
		return 1
	}
	return *r.Weight
}
