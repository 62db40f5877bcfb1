package route

import (
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/engine"
)

// filter is one compiled request-side filter; exactly one field is set.
type filter struct {
	headers  *headerMod
	redirect *config.Redirect
	rewrite  *config.URLRewrite
}

// headerMod is a compiled HeaderModifier: set, then add, then remove.
type headerMod struct {
	set, add [][2][]byte
	remove   [][]byte
}

// headerWriter is what RequestHeader and ResponseHeader have in common.
type headerWriter interface {
	SetBytesKV(key, value []byte)
	AddBytesKV(key, value []byte)
	DelBytes(key []byte)
}

func newHeaderMod(hm *config.HeaderModifier) *headerMod {
	h := &headerMod{}
	for _, s := range hm.Set {
		h.set = append(h.set, [2][]byte{[]byte(s.Name), []byte(s.Value)})
	}
	for _, a := range hm.Add {
		h.add = append(h.add, [2][]byte{[]byte(a.Name), []byte(a.Value)})
	}
	for _, r := range hm.Remove {
		h.remove = append(h.remove, []byte(r))
	}
	return h
}

func (h *headerMod) apply(w headerWriter) {
	for _, kv := range h.set {
		w.SetBytesKV(kv[0], kv[1])
	}
	for _, kv := range h.add {
		w.AddBytesKV(kv[0], kv[1])
	}
	for _, k := range h.remove {
		w.DelBytes(k)
	}
}

func (r *Rule) compileFilters(snap *config.Snapshot, ns string, rc *config.RouteRule) error {
	for i, f := range rc.Filters {
		switch f.Type {
		case config.FilterRequestHeaderModifier:
			if f.RequestHeaderModifier == nil {
				return fmt.Errorf("filter %d: %s has no requestHeaderModifier", i, f.Type)
			}
			r.filters = append(r.filters, filter{headers: newHeaderMod(f.RequestHeaderModifier)})
		case config.FilterResponseHeaderModifier:
			if f.ResponseHeaderModifier == nil {
				return fmt.Errorf("filter %d: %s has no responseHeaderModifier", i, f.Type)
			}
			r.resp = append(r.resp, newHeaderMod(f.ResponseHeaderModifier))
		case config.FilterRequestRedirect:
			if f.RequestRedirect == nil {
				return fmt.Errorf("filter %d: %s has no requestRedirect", i, f.Type)
			}
			r.filters = append(r.filters, filter{redirect: f.RequestRedirect})
		case config.FilterURLRewrite:
			if f.URLRewrite == nil {
				return fmt.Errorf("filter %d: %s has no urlRewrite", i, f.Type)
			}
			r.filters = append(r.filters, filter{rewrite: f.URLRewrite})
		case config.FilterRequestMirror:
			if f.RequestMirror == nil {
				return fmt.Errorf("filter %d: %s has no requestMirror", i, f.Type)
			}
			if r.Mirror != nil {
				continue // the first mirror wins
			}
			key := qualify(f.RequestMirror.BackendRef.Name, ns)
			if snap.Backends[key] == nil {
				return fmt.Errorf("filter %d: mirror: unknown backend %q", i, key)
			}
			pct := 100
			if f.RequestMirror.Percent != nil {
				pct = min(max(*f.RequestMirror.Percent, 0), 100)
			}
			r.Mirror = &MirrorSpec{Backend: key, Percent: pct}
		default:
			return fmt.Errorf("filter %d: unknown filter type %q", i, f.Type)
		}
	}
	if r.Policies.CORS != nil {
		r.cors = newCORS(r.Policies.CORS)
	}
	return nil
}

var _ engine.Filters = (*Match)(nil)

// Preflight implements [engine.Filters.Preflight]: the rule's CORS policy
// answers a preflight here (204 with the allow headers, or 403 for a
// disallowed origin or method).
func (m *Match) Preflight(ctx *fasthttp.RequestCtx) bool {
	return m.Rule.cors != nil && m.Rule.cors.preflight(ctx)
}

// ModifyHeaders implements [engine.Filters.ModifyHeaders]: the rule's
// RequestHeaderModifier filters, in configured order.
func (m *Match) ModifyHeaders(ctx *fasthttp.RequestCtx) {
	for i := range m.Rule.filters {
		if h := m.Rule.filters[i].headers; h != nil {
			h.apply(&ctx.Request.Header)
		}
	}
}

// Redirect implements [engine.Filters.Redirect]: RequestRedirect (writes the
// redirect: true) and URLRewrite (path via URI().SetPathBytes, Host via the
// header and the URI), in configured order.
//
// The server must have set the normalized path with
// ctx.Request.URI().SetPathBytes(path) before: the filters read it back with
// URI().PathOriginal().
func (m *Match) Redirect(ctx *fasthttp.RequestCtx) bool {
	for i := range m.Rule.filters {
		f := &m.Rule.filters[i]
		switch {
		case f.redirect != nil:
			writeRedirect(ctx, m, f.redirect)
			return true
		case f.rewrite != nil:
			rewrite(ctx, m, f.rewrite)
		}
	}
	return false
}

// ApplyRequest runs every request-side filter: Preflight, ModifyHeaders and
// Redirect. It returns true when it wrote the response itself.
func (r *Rule) ApplyRequest(ctx *fasthttp.RequestCtx, m *Match) (done bool) {
	if m.Preflight(ctx) {
		return true
	}
	m.ModifyHeaders(ctx)
	return m.Redirect(ctx)
}

// Respond implements [engine.Filters.Respond]: ResponseHeaderModifier filters
// in order, then the CORS response headers for an allowed Origin
// (Access-Control-Allow-Origin, Vary: Origin, Allow-Credentials,
// Expose-Headers). It is safe to call after a response a filter wrote itself.
func (m *Match) Respond(ctx *fasthttp.RequestCtx) { m.Rule.ApplyResponse(ctx) }

// ApplyResponse runs the response-side filters (see [Match.Respond]).
func (r *Rule) ApplyResponse(ctx *fasthttp.RequestCtx) {
	for _, h := range r.resp {
		h.apply(&ctx.Response.Header)
	}
	if r.cors != nil {
		r.cors.decorate(ctx)
	}
}

// requestPath is the (normalized) path the server set on the request URI.
func requestPath(ctx *fasthttp.RequestCtx) []byte {
	p := ctx.Request.URI().PathOriginal()
	if len(p) == 0 {
		return []byte("/")
	}
	return p
}

// modifyPath appends the path rewritten by pm to dst. A ReplacePrefixMatch on a
// rule matched other than by PathPrefix replaces the whole path.
func modifyPath(dst, path []byte, pm *config.PathModifier, m *Match) []byte {
	start := len(dst)
	typ := pm.Type
	if typ == "" { // as config defaults it: the one field set names the type
		switch {
		case pm.ReplaceFullPath != "":
			typ = config.ReplaceFullPath
		case pm.ReplacePrefixMatch != "":
			typ = config.ReplacePrefixMatch
		}
	}
	switch typ {
	case config.ReplaceFullPath:
		dst = append(dst, pm.ReplaceFullPath...)
	case config.ReplacePrefixMatch:
		n := len(path)
		if m != nil && m.PathType == config.PathPrefix {
			n = min(m.PrefixLen, len(path))
		}
		rest := path[n:]
		repl := pm.ReplacePrefixMatch
		if len(rest) > 0 && rest[0] == '/' {
			for len(repl) > 0 && repl[len(repl)-1] == '/' {
				repl = repl[:len(repl)-1]
			}
		}
		dst = append(dst, repl...)
		dst = append(dst, rest...)
	default:
		return append(dst, path...)
	}
	if len(dst) == start || dst[start] != '/' {
		dst = append(dst, 0)
		copy(dst[start+1:], dst[start:])
		dst[start] = '/'
	}
	return dst
}

func rewrite(ctx *fasthttp.RequestCtx, m *Match, rw *config.URLRewrite) {
	if rw.Hostname != "" {
		ctx.Request.Header.SetHost(rw.Hostname)
		ctx.Request.URI().SetHost(rw.Hostname)
	}
	if rw.Path != nil {
		var b [256]byte
		p := modifyPath(b[:0], requestPath(ctx), rw.Path, m)
		ctx.Request.URI().SetPathBytes(p)
	}
}

// writeRedirect answers with the redirect. Defaults follow the Gateway API: the
// request's scheme and host; the port of the listener, or the well-known port
// of a configured scheme; ports 80 for http and 443 for https are omitted; the
// query string is kept.
func writeRedirect(ctx *fasthttp.RequestCtx, m *Match, rd *config.Redirect) {
	scheme := rd.Scheme
	if scheme == "" {
		scheme = "http"
		if ctx.IsTLS() {
			scheme = "https"
		}
	}
	host := rd.Hostname
	if host == "" {
		h := ctx.Request.Header.Host()
		if len(h) > 0 && h[0] != '[' {
			if i := lastIndexByte(h, ':'); i >= 0 {
				h = h[:i]
			}
		} else if i := indexByte(h, ']'); i > 0 {
			h = h[:i+1]
		}
		host = string(h)
	}
	port := rd.Port
	if port == 0 {
		switch {
		case rd.Scheme == "https":
			port = 443
		case rd.Scheme == "http":
			port = 80
		case m != nil:
			port = m.Port
		}
	}
	loc := make([]byte, 0, 128)
	loc = append(loc, scheme...)
	loc = append(loc, "://"...)
	loc = append(loc, host...)
	if port > 0 && !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
		loc = append(loc, ':')
		loc = strconv.AppendInt(loc, int64(port), 10)
	}
	path := requestPath(ctx)
	if rd.Path != nil {
		loc = modifyPath(loc, path, rd.Path, m)
	} else {
		loc = append(loc, path...)
	}
	if q := ctx.Request.URI().QueryString(); len(q) > 0 {
		loc = append(loc, '?')
		loc = append(loc, q...)
	}
	status := rd.StatusCode
	if status == 0 {
		status = fasthttp.StatusFound
	}
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetBytesV("Location", loc)
}
