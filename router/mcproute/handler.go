package mcproute

import (
	"encoding/json"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/mcp"
	"github.com/switchyard-ai/switchyard/router/engine"
)

// handler serves one rule's requests with its backend's virtual server.
type handler struct{ b *mcp.Backend }

var _ engine.Handler = (*handler)(nil)

// Admit implements [engine.Handler.Admit]: policies need nothing of the
// body.
func (h *handler) Admit(*engine.Exchange) bool { return true }

// Serve implements [engine.Handler.Serve].
func (h *handler) Serve(ex *engine.Exchange) {
	c := mcp.Caller{Authorization: string(ex.Ctx.Request.Header.Peek("Authorization"))}
	if p := ex.X.Principal; p != nil {
		c.Consumer, c.Team, c.Claims = p.Consumer, p.Team, p.Claims
	}
	var out mcp.Outcome
	h.b.Serve(ex.Context(), ex.Ctx, &c, &out)
	ex.Access.Backend = h.b.Name()
	ex.X.Backend = h.b.Name()
	ex.Access.Endpoint = out.Target
	ex.Access.Tool = out.Tool
	if out.Code != 0 {
		ex.Access.Reason = "jsonrpc_" + out.Result()
	}
}

// WriteError implements [engine.Handler.WriteError]: a JSON-RPC error. A
// request refused by client auth gets the protected resource challenge, and
// the protected resource metadata itself is served without credentials.
func (h *handler) WriteError(ex *engine.Exchange, e *engine.Error) {
	if e.Status == http.StatusUnauthorized {
		if h.b.ServeMetadata(ex.Ctx) {
			return
		}
		h.b.Challenge(ex.Ctx)
	}
	writeError(ex.Ctx, e)
}

// writeError writes e as a JSON-RPC error with its HTTP status.
func writeError(ctx *fasthttp.RequestCtx, e *engine.Error) {
	code := -32000
	switch e.Status {
	case http.StatusUnauthorized:
		code = -32001
	case http.StatusForbidden:
		code = -32003
	case http.StatusTooManyRequests:
		code = -32029
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = -32600
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": code, "message": e.Message}})
	if e.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", itoa(e.RetryAfter))
	}
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// unavailable serves a rule whose backend could not be built.
type unavailable struct{ reason string }

// Admit implements [engine.Handler.Admit].
func (unavailable) Admit(*engine.Exchange) bool { return true }

// Serve implements [engine.Handler.Serve].
func (u unavailable) Serve(ex *engine.Exchange) {
	writeError(ex.Ctx, &engine.Error{Status: http.StatusServiceUnavailable, Message: u.reason})
}

// WriteError implements [engine.Handler.WriteError].
func (unavailable) WriteError(ex *engine.Exchange, e *engine.Error) { writeError(ex.Ctx, e) }
