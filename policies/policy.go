// Package policies holds request/response policies and the chain that runs
// them. A chain is compiled per route rule per snapshot from the policies
// attached to the route, the rule and its backends, and the router runs it
// for every kind of route: Request before the upstream call (a *Denial ends
// the request), an optional per-attempt hook once a backend is chosen, and
// the settlement of every reservation exactly once when the exchange ends.
package policies

import (
	"context"
	"time"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Exchange is what policies see of one request and its response. The router
// builds and fills it; policies never see fasthttp. It is valid only during a
// call: the router reuses it once every reservation is settled, so a policy
// copies what it keeps.
type Exchange struct {
	RequestID string
	// RouteKey is the match key namespace.name.rule.match; RuleKey the rule's.
	RouteKey string
	RuleKey  string
	// Principal is who sent the request, set by client auth (nil before it
	// ran, or when the route has none).
	Principal *auth.Principal
	// Backend and Provider are the backend chosen for the current attempt
	// (the last one tried once the exchange ended); Endpoint its address.
	Backend  string
	Provider string
	Endpoint string
	// Attempt counts upstream attempts, 1 for the first.
	Attempt int
	// Model is the client-facing model; UpstreamModel what the provider was asked for.
	Model         string
	UpstreamModel string
	// ModelListed is true when the configuration names Model (a backend's
	// models or aliases); false when a catch-all backend serves a name the
	// client chose, which metrics must not take as a label as is.
	ModelListed bool
	Operation   schema.Operation
	// Opaque is set for a request an inference pool is sent as it is (a
	// path that is no OpenAI operation): the gateway reads no model and no
	// usage from it, so model allowlists and token charges cannot apply.
	Opaque bool
	Stream bool
	// MaxTokens is the request's max_completion_tokens, else max_tokens (0: not set).
	MaxTokens int
	// Body is the client's request body (read-only). For a streamed response
	// it is nil in Settle: the request is released once the stream starts.
	Body []byte
	// Decoded returns the request decoded into the common schema, parsed at
	// most once per exchange and shared with the translators (read-only).
	// Nil when the route's kind has no decoded form.
	Decoded func() (*schema.ChatRequest, error)
	// Status is the response status, set before Settle.
	Status int
	// Start is when the request arrived; FirstByte when the first response
	// byte was written; End when the exchange ended (set before settlement,
	// so that the settling policies read the clock once between them).
	Start     time.Time
	End       time.Time
	FirstByte time.Time
	// PromptTokens is the prompt's token count when a request policy counted
	// it (a tokenizer-based budget sets it in Request; 0: none did). The
	// front end charges it, instead of its own estimate from the body's
	// size, when a stream's usage never arrives (see schema.Usage.Estimated).
	PromptTokens int
	// Header returns a request header's value; for a streamed response it
	// returns "" in Settle (copy what Settle needs in Request).
	Header func(name string) string
	// ResponseHeaders are headers a policy adds to the response in Request
	// (a rate limiter's x-ratelimit-*): the router sends them on the
	// response and on a denial, and they win over the upstream's.
	ResponseHeaders []Header
	// Credential is set by client auth when it consumed the client's
	// Authorization or x-api-key header: the gateway's own key must never be
	// forwarded upstream by a passthrough backend.
	Credential bool
}

// Header is one response header.
type Header struct{ Name, Value string }

// SetResponseHeader adds or replaces a response header of x.
func (x *Exchange) SetResponseHeader(name, value string) {
	for i := range x.ResponseHeaders {
		if x.ResponseHeaders[i].Name == name {
			x.ResponseHeaders[i].Value = value
			return
		}
	}
	x.ResponseHeaders = append(x.ResponseHeaders, Header{name, value})
}

// Policy is behaviour attached to a route, a rule or a backend. Policies are
// built once per snapshot and are safe for concurrent use.
type Policy interface {
	// Request runs before the upstream call. A *Denial ends the request with
	// its status; another error ends it with a 403. A non-nil Reservation is
	// settled exactly once when the exchange ends, however it ends.
	Request(ctx context.Context, x *Exchange) (Reservation, error)
}

// Reservation is what a policy holds for one exchange between Request and
// its end (tokens or money reserved at admission, a start time). Settle runs
// exactly once: with the final usage on success, and also on error, timeout,
// client disconnect and panic (with the usage known then, maybe estimated).
// Settle must not block the request path for long: it runs where the
// exchange ends, on the connection's goroutine for a stream.
type Reservation interface {
	Settle(ctx context.Context, x *Exchange, u schema.Usage)
}

// Attempter is implemented by policies that must see each upstream attempt
// once its backend is chosen (x.Backend, x.Provider, x.UpstreamModel set),
// before the call. An error ends the attempt as a *Denial ends a request.
type Attempter interface {
	Attempt(ctx context.Context, x *Exchange) error
}

// Phase orders policies in a chain; lower runs first. The order follows
// DESIGN.md: client auth, then (after the route's header modifiers) rate
// limits, budget admission, guardrails, and observers last.
type Phase int

// The phases of a chain.
const (
	// PhaseAuth authenticates the client and sets x.Principal.
	PhaseAuth Phase = 10
	// PhaseRateLimit admits by request and token rates.
	PhaseRateLimit Phase = 20
	// PhaseBudget reserves money or tokens against a budget.
	PhaseBudget Phase = 30
	// PhaseGuardrail inspects the request's content.
	PhaseGuardrail Phase = 40
	// PhaseObserve records (metrics, usage logs); it never denies.
	PhaseObserve Phase = 50
)

// Phased is implemented by policies that run in a phase other than PhaseObserve.
type Phased interface {
	Phase() Phase
}

// PhaseOf returns p's phase (PhaseObserve unless p says otherwise).
func PhaseOf(p Policy) Phase {
	if ph, ok := p.(Phased); ok {
		return ph.Phase()
	}
	return PhaseObserve
}

// Denial ends a request with a status and message in the API's own format.
type Denial struct {
	Status int
	Type   string
	// Code is an optional machine-readable code ("rate_limit_exceeded").
	Code    string
	Message string
	// RetryAfter, in seconds, is sent as Retry-After when positive.
	RetryAfter int
}

var _ error = (*Denial)(nil)

// Error implements error.
func (d *Denial) Error() string { return d.Message }
