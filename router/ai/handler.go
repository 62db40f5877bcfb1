package ai

import (
	"bytes"
	"sort"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// HeaderBackend names the backend that served a response.
const HeaderBackend = "x-switchyard-backend"

var prefixModels = []byte("/v1/models/")

// ruleHandler serves one AI rule: its refs resolved to backends when the
// snapshot was compiled, the index of which refs serve a model, and the
// rule's timeouts and retry policy. Immutable; shared by every request.
type ruleHandler struct {
	f        *Frontend
	key      string
	refs     []config.BackendRef
	bs       []*backend // nil where a ref names no AI backend
	idx      modelIndex
	timeouts *config.Timeouts
	retry    upstream.Retry
	// pools is set when a ref names an inferencePool: requests that are
	// not OpenAI operations are then forwarded to the pools (opaque.go).
	pools bool
}

var (
	_ engine.Handler    = (*ruleHandler)(nil)
	_ upstream.Selector = (*ruleHandler)(nil)
)

func (f *Frontend) newRuleHandler(rule *route.Rule) *ruleHandler {
	rc := rule.Config
	if rc == nil {
		rc = &config.RouteRule{}
	}
	h := &ruleHandler{f: f, key: rule.Key, refs: rc.BackendRefs, timeouts: rc.Timeouts, retry: upstream.NewRetry(rc.Retry)}
	h.bs = f.resolveRefs(rule.Key, rc.BackendRefs)
	h.idx = buildIndex(h.bs)
	for _, b := range h.bs {
		h.pools = h.pools || b != nil && b.pool != nil
	}
	return h
}

// Admit implements [engine.Handler.Admit]: it finds the operation from the
// path and, for a POST, checks the body and reads its model and stream (no
// full decode). GET /v1/models needs nothing. On a rule with an
// inferencePool, a request that is not an OpenAI operation is forwarded to
// the pools as it is (opaque.go).
func (h *ruleHandler) Admit(ex *engine.Exchange) bool {
	ctx := ex.Ctx
	path := ctx.Path()
	var op schema.Operation
	switch string(path) {
	case "/v1/chat/completions":
		op = schema.OpChat
	case "/v1/completions":
		op = schema.OpCompletion
	case "/v1/embeddings":
		op = schema.OpEmbeddings
	default:
		if h.pools && !operationPath(path) {
			return h.admitOpaque(ex)
		}
		return true // models, or an unknown path: Serve answers
	}
	if !ctx.IsPost() {
		return true // Serve answers 405
	}
	s := newExchange(h, ex, op)
	if !s.admit() {
		s.free()
		return false
	}
	return true
}

// Serve implements [engine.Handler.Serve]: POST /v1/chat/completions,
// /v1/completions, /v1/embeddings and GET /v1/models[/{id}], and any other
// request on a rule with an inferencePool (opaque.go). Anything else is a
// 404 (or 405 for a wrong method) in OpenAI's error shape.
func (h *ruleHandler) Serve(ex *engine.Exchange) {
	ctx := ex.Ctx
	s, _ := ex.Local.(*exchange)
	if s == nil {
		h.serveOther(ctx)
		return
	}
	if streamed := s.try(); streamed {
		return // the stream body ends the exchange, then frees s
	}
	ex.Usage = s.usage
	s.free()
}

// serveOther answers what is not a POST to an operation.
func (h *ruleHandler) serveOther(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch string(path) {
	case "/v1/chat/completions", "/v1/completions", "/v1/embeddings":
		ctx.Response.Header.Set("Allow", "POST")
		writeError(ctx, &schema.Error{Status: fasthttp.StatusMethodNotAllowed, Type: schema.ErrInvalidRequest,
			Message: "method " + string(ctx.Method()) + " is not allowed on " + string(path) + ": use POST"})
	case "/v1/models":
		h.serveModels(ctx, "")
	default:
		if bytes.HasPrefix(path, prefixModels) && len(path) > len(prefixModels) {
			h.serveModels(ctx, string(path[len(prefixModels):]))
			return
		}
		writeError(ctx, &schema.Error{Status: fasthttp.StatusNotFound, Type: schema.ErrInvalidRequest,
			Message: "Unknown request URL: " + string(ctx.Method()) + " " + string(path) + "."})
	}
}

// WriteError implements [engine.Handler.WriteError]: OpenAI's error shape.
func (h *ruleHandler) WriteError(ex *engine.Exchange, e *engine.Error) {
	typ := e.Type
	if typ == "" {
		typ = schema.TypeForStatus(e.Status)
	}
	writeError(ex.Ctx, &schema.Error{Status: e.Status, Type: typ, Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter})
}

// Models lists the client-facing models of the rule (for /v1/models),
// sorted: every backend's models and aliases, and the fixed model of
// backends that serve any name. Catch-all backends add nothing.
func (h *ruleHandler) Models() []string {
	seen := map[string]bool{}
	for i, b := range h.bs {
		if b == nil || weightOf(h.refs[i]) == 0 {
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
