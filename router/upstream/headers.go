package upstream

import (
	"bytes"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// hopByHop are the headers that describe one connection and are never forwarded
// (RFC 9110 section 7.6.1, plus the de facto Keep-Alive and Proxy-Connection).
var hopByHop = [...]string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

var http11 = []byte("HTTP/1.1")

// headerScratch is the stack space for building X-Forwarded-For.
const headerScratch = 256

// stripRequestHopByHop removes the hop-by-hop headers, and every header the
// Connection header names, from h.
func stripRequestHopByHop(h *fasthttp.RequestHeader) {
	if v := h.Peek(fasthttp.HeaderConnection); namesHeaders(v) {
		forEachToken(bytes.Clone(v), func(tok []byte) { h.DelBytes(tok) })
	}
	for _, k := range hopByHop {
		h.Del(k)
	}
	h.ResetConnectionClose()
}

// stripResponseHopByHop is stripRequestHopByHop for a response header.
func stripResponseHopByHop(h *fasthttp.ResponseHeader) {
	if v := h.Peek(fasthttp.HeaderConnection); namesHeaders(v) {
		forEachToken(bytes.Clone(v), func(tok []byte) { h.DelBytes(tok) })
	}
	for _, k := range hopByHop {
		h.Del(k)
	}
	h.ResetConnectionClose()
}

// namesHeaders reports whether a Connection header value names any header (the
// common "keep-alive" and "close" do not), so that the value is copied only then.
func namesHeaders(v []byte) bool {
	named := false
	forEachToken(v, func([]byte) { named = true })
	return named
}

// forEachToken calls f with every non-empty, trimmed, comma-separated token of v
// except "close" and "keep-alive", which name no header.
func forEachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		tok = bytes.TrimSpace(tok)
		if len(tok) == 0 || bytes.EqualFold(tok, []byte("close")) || bytes.EqualFold(tok, []byte("keep-alive")) {
			continue
		}
		f(tok)
	}
}

// NamedByConnection reports whether a Connection header's value (conn) names
// the header name: a hop-by-hop header of that connection only.
func NamedByConnection(conn, name []byte) bool {
	found := false
	forEachToken(conn, func(tok []byte) { found = found || bytes.EqualFold(tok, name) })
	return found
}

// prepareRequest fills out from the client's request: headers without hop-by-hop
// ones, the body (by reference when buffered), X-Forwarded-* and the scheme. The Host
// header is the one in ctx.Request (the client's, or the one a rewrite set).
func prepareRequest(ctx *fasthttp.RequestCtx, out *fasthttp.Request, tls bool, forwardedHost string) {
	in := &ctx.Request
	in.Header.CopyTo(&out.Header)
	// Forward the path the gateway matched (normalized, and rewritten by a
	// URLRewrite), not the raw request target the client sent.
	out.Header.SetRequestURIBytes(in.URI().RequestURI())
	// An intermediary sends its own HTTP version (RFC 9110 section 2.5), not the
	// client's: an HTTP/1.0 client must not make the upstream close the connection.
	out.Header.SetProtocolBytes(http11)
	if in.IsBodyStream() {
		out.SetBodyStream(ctx.RequestBodyStream(), in.Header.ContentLength())
	} else {
		out.SetBodyRaw(in.Body())
	}
	stripRequestHopByHop(&out.Header)
	// The server already answered any 100-continue; the body is sent with the request.
	out.Header.Del(fasthttp.HeaderExpect)
	setForwarded(ctx, &out.Header, forwardedHost)
	out.UseHostHeader = true
	if tls {
		out.URI().SetScheme("https")
	} else {
		out.URI().SetScheme("http")
	}
}

// setForwarded appends the client IP to X-Forwarded-For and sets X-Forwarded-Proto
// and X-Forwarded-Host.
func setForwarded(ctx *fasthttp.RequestCtx, h *fasthttp.RequestHeader, forwardedHost string) {
	var stack [headerScratch]byte
	buf := stack[:0]
	if prior := h.Peek("X-Forwarded-For"); len(prior) > 0 {
		buf = append(buf, prior...)
		buf = append(buf, ", "...)
	}
	if ip, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		buf = ip.Unmap().AppendTo(buf)
	}
	h.SetBytesV("X-Forwarded-For", buf)
	if ctx.IsTLS() {
		h.Set("X-Forwarded-Proto", "https")
	} else {
		h.Set("X-Forwarded-Proto", "http")
	}
	if forwardedHost != "" {
		h.Set("X-Forwarded-Host", forwardedHost)
	} else if host := ctx.Request.Header.Host(); len(host) > 0 {
		h.SetBytesV("X-Forwarded-Host", host)
	}
}

// StripRequestHopByHop removes the hop-by-hop headers, and every header the
// Connection header names, from a request header about to be forwarded.
func StripRequestHopByHop(h *fasthttp.RequestHeader) { stripRequestHopByHop(h) }

// StripResponseHopByHop removes the hop-by-hop headers, and every header the
// Connection header names, from an upstream response header.
func StripResponseHopByHop(h *fasthttp.ResponseHeader) { stripResponseHopByHop(h) }

// IsHopByHop reports whether a header name (any case) is a hop-by-hop header.
func IsHopByHop(name []byte) bool {
	for _, k := range hopByHop {
		if len(name) == len(k) && bytes.EqualFold(name, []byte(k)) {
			return true
		}
	}
	return false
}
