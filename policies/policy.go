// Package policies holds request/response policies and the chain that runs them.
package policies

import (
	"context"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Exchange is what policies see of one request and its response. The router
// fills it; policies never see fasthttp.
type Exchange struct {
	RequestID string
	RouteKey  string
	Backend   string
	Provider  string
	// Model is the client-facing model; UpstreamModel what the provider was asked for.
	Model         string
	UpstreamModel string
	// ModelListed is true when the configuration names Model (a backend's
	// models or aliases); false when a catch-all backend serves a name the
	// client chose, which metrics must not take as a label as is.
	ModelListed bool
	Operation   schema.Operation
	Stream      bool
	// Body is the client's request body (read-only). For a streamed response
	// it is nil in Done: the request is released once the stream starts.
	Body []byte
	// Status is the response status, set before Done.
	Status int
	// Start is when the request arrived; FirstByte when the first response byte was written.
	Start     time.Time
	FirstByte time.Time
	// PromptTokens is the prompt's token count when a request policy counted
	// it (a tokenizer-based budget sets it in Request; 0: none did). The
	// front end charges it, instead of its own estimate from the body's
	// size, when a stream's usage never arrives (see schema.Usage.Estimated).
	PromptTokens int
	// Header returns a request header's value; for a streamed response it
	// returns "" in Done (copy what Done needs in Request).
	Header func(name string) string
}

// Policy is behaviour attached to a route or backend. Policies are built once per
// snapshot and are safe for concurrent use. The *Exchange (with its Body and
// Header) is valid only during a call: the router reuses it once Done has
// returned, so a policy copies what it keeps.
type Policy interface {
	// Request runs before the upstream call; a *Denial ends the request.
	Request(ctx context.Context, x *Exchange) error
	// Done runs once after the response ends, even when the client has gone. It never blocks.
	Done(ctx context.Context, x *Exchange, u schema.Usage)
}

// Denial ends a request with a status and message in the API's own format.
type Denial struct {
	Status  int
	Type    string
	Message string
}

var _ error = (*Denial)(nil)

// Error implements error.
func (d *Denial) Error() string { return d.Message }

// Chain runs policies in order. It is itself a Policy.
type Chain []Policy

var _ Policy = Chain(nil)

// Request implements [Policy.Request]: it runs each policy's Request until one denies.
func (c Chain) Request(ctx context.Context, x *Exchange) error {
	for _, p := range c {
		if err := p.Request(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// Done implements [Policy.Done]: it runs each policy's Done.
func (c Chain) Done(ctx context.Context, x *Exchange, u schema.Usage) {
	for _, p := range c {
		p.Done(ctx, x, u)
	}
}
