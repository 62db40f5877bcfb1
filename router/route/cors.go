package route

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// corsPolicy is a compiled CORS policy.
type corsPolicy struct {
	anyOrigin   bool
	origins     []originPattern
	methods     []string // upper-case; empty = echo the requested method
	anyMethod   bool
	allowMethod string // joined methods for the header
	headers     string // joined allow headers
	anyHeader   bool
	expose      string
	credentials bool
	maxAge      string // seconds, "" when unset
}

// originPattern is an allowed origin: exact (lower-case) or "scheme://*.suffix".
type originPattern struct {
	prefix, suffix string // split at "*"; suffix == "" and !wild means exact prefix
	wild           bool
}

func newCORS(c *config.CORS) *corsPolicy {
	p := &corsPolicy{credentials: c.AllowCredentials}
	for _, o := range c.AllowOrigins {
		o = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		if pre, suf, ok := strings.Cut(o, "*"); ok {
			p.origins = append(p.origins, originPattern{prefix: pre, suffix: suf, wild: true})
		} else {
			p.origins = append(p.origins, originPattern{prefix: o})
		}
	}
	for _, m := range c.AllowMethods {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "*" {
			p.anyMethod = true
			continue
		}
		p.methods = append(p.methods, m)
	}
	p.allowMethod = strings.Join(p.methods, ", ")
	var hs []string
	for _, h := range c.AllowHeaders {
		if h = strings.TrimSpace(h); h == "*" {
			p.anyHeader = true
		} else {
			hs = append(hs, h)
		}
	}
	p.headers = strings.Join(hs, ", ")
	p.expose = strings.Join(c.ExposeHeaders, ", ")
	if s := int64(c.MaxAge.D().Seconds()); s > 0 {
		p.maxAge = strconv.FormatInt(s, 10)
	}
	return p
}

// allowed reports whether origin (as sent by the browser) is allowed.
func (p *corsPolicy) allowed(origin []byte) bool {
	if len(origin) == 0 {
		return false
	}
	if p.anyOrigin {
		return true
	}
	for _, o := range p.origins {
		if !o.wild {
			if len(origin) == len(o.prefix) && bytes.EqualFold(origin, []byte(o.prefix)) {
				return true
			}
			continue
		}
		// The wildcard covers one or more labels: no "/", ":" or "@" in it.
		if len(origin) <= len(o.prefix)+len(o.suffix) ||
			!bytes.EqualFold(origin[:len(o.prefix)], []byte(o.prefix)) ||
			!bytes.EqualFold(origin[len(origin)-len(o.suffix):], []byte(o.suffix)) {
			continue
		}
		mid := origin[len(o.prefix) : len(origin)-len(o.suffix)]
		if !bytes.ContainsAny(mid, "/:@") && mid[0] != '.' {
			return true
		}
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin value for an allowed origin:
// "*" only when any origin is allowed without credentials.
func (p *corsPolicy) allowOrigin(h *fasthttp.ResponseHeader, origin []byte) {
	if p.anyOrigin && !p.credentials {
		h.Set(fasthttp.HeaderAccessControlAllowOrigin, "*")
	} else {
		h.SetBytesV(fasthttp.HeaderAccessControlAllowOrigin, origin)
		addVary(h, "Origin")
	}
	if p.credentials {
		h.Set(fasthttp.HeaderAccessControlAllowCredentials, "true")
	}
}

// methodAllowed reports whether a preflight's requested method is allowed.
func (p *corsPolicy) methodAllowed(m []byte) bool {
	if p.anyMethod || len(p.methods) == 0 {
		return true
	}
	for _, x := range p.methods {
		if string(m) == x {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight (OPTIONS with Origin and
// Access-Control-Request-Method) and reports whether it did.
func (p *corsPolicy) preflight(ctx *fasthttp.RequestCtx) bool {
	req := &ctx.Request.Header
	if !req.IsOptions() {
		return false
	}
	origin := req.Peek(fasthttp.HeaderOrigin)
	method := req.Peek(fasthttp.HeaderAccessControlRequestMethod)
	if len(origin) == 0 || len(method) == 0 {
		return false
	}
	h := &ctx.Response.Header
	if !p.allowed(origin) || !p.methodAllowed(method) {
		ctx.SetStatusCode(fasthttp.StatusForbidden)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":{"message":"CORS preflight rejected: origin or method not allowed","type":"invalid_request_error","code":"cors_rejected"}}`)
		return true
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	p.allowOrigin(h, origin)
	switch {
	case p.anyMethod && !p.credentials:
		h.Set(fasthttp.HeaderAccessControlAllowMethods, "*")
	case p.anyMethod || len(p.methods) == 0:
		h.SetBytesV(fasthttp.HeaderAccessControlAllowMethods, method)
	default:
		h.Set(fasthttp.HeaderAccessControlAllowMethods, p.allowMethod)
	}
	reqHeaders := req.Peek(fasthttp.HeaderAccessControlRequestHeaders)
	switch {
	case p.anyHeader && p.credentials:
		if len(reqHeaders) > 0 {
			h.SetBytesV(fasthttp.HeaderAccessControlAllowHeaders, reqHeaders)
		}
	case p.anyHeader:
		h.Set(fasthttp.HeaderAccessControlAllowHeaders, "*")
	case p.headers != "":
		h.Set(fasthttp.HeaderAccessControlAllowHeaders, p.headers)
	}
	if p.maxAge != "" {
		h.Set(fasthttp.HeaderAccessControlMaxAge, p.maxAge)
	}
	addVary(h, "Access-Control-Request-Method")
	addVary(h, "Access-Control-Request-Headers")
	return true
}

// decorate adds the CORS headers of an actual (non-preflight) response.
func (p *corsPolicy) decorate(ctx *fasthttp.RequestCtx) {
	origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin)
	if !p.allowed(origin) {
		if !p.anyOrigin || p.credentials {
			// The answer depends on Origin even when it carries no CORS header: a
			// shared cache must not serve this response to an allowed origin
			// (Fetch standard, "CORS protocol and HTTP caches").
			addVary(&ctx.Response.Header, "Origin")
		}
		return
	}
	h := &ctx.Response.Header
	p.allowOrigin(h, origin)
	if p.expose != "" {
		h.Set(fasthttp.HeaderAccessControlExposeHeaders, p.expose)
	}
}

// addVary appends v to the Vary header unless it is already listed.
func addVary(h *fasthttp.ResponseHeader, v string) {
	cur := h.Peek(fasthttp.HeaderVary)
	if len(cur) == 0 {
		h.Set(fasthttp.HeaderVary, v)
		return
	}
	for _, part := range bytes.Split(cur, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(v)) {
			return
		}
	}
	h.Set(fasthttp.HeaderVary, string(cur)+", "+v)
}
