package route

import (
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Kind is a kind of route: it decides which handler factory builds a rule's
// handler. A rule's kind follows from its backends.
type Kind uint8

// The kinds of route.
const (
	// KindHTTP forwards to static backends (and answers redirects).
	KindHTTP Kind = iota
	// KindAI is the OpenAI-compatible front end over `ai` backends.
	KindAI
	// KindMCP is an MCP virtual server over `mcp` backends.
	KindMCP
	// KindA2A proxies an `a2a` agent.
	KindA2A
	// KindInferencePool routes to model-server pods chosen by an endpoint picker.
	KindInferencePool
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindHTTP:
		return "http"
	case KindAI:
		return "ai"
	case KindMCP:
		return "mcp"
	case KindA2A:
		return "a2a"
	case KindInferencePool:
		return "inferencePool"
	}
	return "unknown"
}

// Factory makes the handlers of one kind of route. A factory lives as long
// as the gateway; for each snapshot the router asks it to Compile the kind's
// shared state (its backends, with their upstream state drawn from the
// Generation by identity, so that it survives reloads), then builds one
// handler per rule of that kind. A new kind of route (MCP, A2A, inference
// pools, TCP) plugs in here and is registered with router.Options.Handlers.
type Factory interface {
	// Kind is the kind of route the factory serves.
	Kind() Kind
	// Compile prepares the kind for snap.
	Compile(snap *config.Snapshot, gen *upstream.Generation) (Compiled, error)
}

// Compiled is one snapshot's compiled state of a kind of route. Immutable.
type Compiled interface {
	// Handler builds the handler of one rule, its backend references
	// resolved now rather than per request.
	Handler(rule *Rule) (engine.Handler, error)
	// Problems lists backends that cannot serve and why, for /config.
	Problems() map[string]string
}
