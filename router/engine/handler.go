package engine

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/policies"
)

// Handler serves the requests of one compiled rule. A route kind's factory
// builds one per rule per snapshot (backend references resolved then); it is
// immutable and safe for concurrent use, and lives as long as its snapshot.
type Handler interface {
	// Admit reads what the policies need from the request into ex.X (an AI
	// route: model, stream, max tokens, the lazily decoded request). It
	// returns false when it wrote an error and the request ends.
	Admit(ex *Exchange) bool
	// Serve answers the request: it forwards it upstream and writes the
	// response, or an error in the kind's format. A handler that commits a
	// streamed body calls ex.Detach and ends the exchange with ex.Finish
	// when the stream ends.
	Serve(ex *Exchange)
	// WriteError writes an error in the route kind's format (OpenAI JSON on
	// AI routes; JSON-RPC on MCP and A2A).
	WriteError(ex *Exchange, e *Error)
}

// Error is an error the router or a policy ends a request with, before the
// handler has answered.
type Error struct {
	Status int
	// Type is the error's type in OpenAI's vocabulary ("invalid_request_error").
	Type       string
	Code       string
	Message    string
	RetryAfter int
}

// Filters are a matched rule's Gateway API filters and CORS policy, applied
// by Run around the policy chain. *route.Match implements them.
type Filters interface {
	// Preflight answers a CORS preflight; true when it wrote the response.
	Preflight(ctx *fasthttp.RequestCtx) bool
	// ModifyHeaders applies the RequestHeaderModifier filters.
	ModifyHeaders(ctx *fasthttp.RequestCtx)
	// Redirect applies RequestRedirect (writing the response: true) and URLRewrite.
	Redirect(ctx *fasthttp.RequestCtx) bool
	// Respond applies the response-side filters (headers, CORS).
	Respond(ctx *fasthttp.RequestCtx)
}

// Run takes ex through the rule: the observers' Request, the CORS
// preflight, client auth, the request header modifiers, the handler's
// Admit, the admission policies (rate limits, budgets, guardrails), redirect
// and rewrite, then the handler's Serve, and the response filters. It does
// not finish the exchange: the caller does, unless the handler detached it.
// f may be nil (no filters).
func Run(ex *Exchange, f Filters, h Handler) {
	ctx := ex.Ctx
	if f != nil {
		defer f.Respond(ctx)
	}
	c := ex.Chain
	if err := c.Observe(ex.Context(), &ex.X, &ex.res); err != nil {
		deny(ex, h, err)
		return
	}
	if f != nil && f.Preflight(ctx) {
		return
	}
	if err := c.Authenticate(ex.Context(), &ex.X, &ex.res); err != nil {
		deny(ex, h, err)
		return
	}
	if f != nil {
		f.ModifyHeaders(ctx)
	}
	if !h.Admit(ex) {
		ex.Access.Reason = "bad_request"
		return
	}
	if err := c.Admit(ex.Context(), &ex.X, &ex.res); err != nil {
		deny(ex, h, err)
		return
	}
	setResponseHeaders(ex)
	if f != nil && f.Redirect(ctx) {
		return
	}
	h.Serve(ex)
}

// deny writes a policy's denial in the handler's format.
func deny(ex *Exchange, h Handler, err error) {
	ex.Access.Reason = "policy_denied"
	h.WriteError(ex, DenialError(err))
	setResponseHeaders(ex)
}

// setResponseHeaders sends the headers policies added (x-ratelimit-*).
func setResponseHeaders(ex *Exchange) {
	for _, h := range ex.X.ResponseHeaders {
		ex.Ctx.Response.Header.Set(h.Name, h.Value)
	}
}

// DenialError maps a policy's error to a client error: a *policies.Denial
// keeps its status, type, code and message; anything else is a 403 that
// names no cause.
func DenialError(err error) *Error {
	var d *policies.Denial
	if errors.As(err, &d) {
		return &Error{Status: d.Status, Type: d.Type, Code: d.Code, Message: d.Message, RetryAfter: d.RetryAfter}
	}
	return &Error{Status: fasthttp.StatusForbidden, Type: "permission_error", Message: "the request was refused by a policy"}
}
