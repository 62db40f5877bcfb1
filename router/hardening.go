package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

var (
	strContentLength    = []byte("content-length")
	strTransferEncoding = []byte("transfer-encoding")
)

// checkFraming enforces RFC 9112 section 6.3 beyond what fasthttp checks, and
// refuses proxy-style requests. It returns a status and message for a request
// that must be rejected (the caller closes the connection), or 0.
func checkFraming(ctx *fasthttp.RequestCtx, st *state) (int, string) {
	h := &ctx.Request.Header
	if h.IsConnect() {
		return fasthttp.StatusMethodNotAllowed, "CONNECT is not supported: this gateway is not a forward proxy"
	}
	if proto := h.Protocol(); len(proto) != len("HTTP/1.1") || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		// fasthttp parses any HTTP/d.d: only HTTP/1.x is served here (and a
		// higher minor version is served as HTTP/1.1, RFC 9110 section 2.5).
		return fasthttp.StatusHTTPVersionNotSupported, "HTTP version not supported"
	}
	if !validHost(h.Host()) {
		return fasthttp.StatusBadRequest, "invalid Host header"
	}
	var cl, te int
	var clValue []byte
	for k, v := range h.All() {
		if !validToken(k) {
			// fasthttp accepts a space inside a field name (and forwards it as is).
			return fasthttp.StatusBadRequest, "invalid header field name"
		}
		switch {
		case asciiEqualFold(k, strContentLength):
			if cl > 0 && !bytes.Equal(bytes.TrimSpace(v), clValue) {
				return fasthttp.StatusBadRequest, "conflicting Content-Length headers"
			}
			cl++
			clValue = bytes.TrimSpace(v)
		case asciiEqualFold(k, strTransferEncoding):
			te++
		}
	}
	raw := h.RawHeaders()
	rawCL, rawTE := countRawHeaders(raw)
	if rawCL > 1 {
		return fasthttp.StatusBadRequest, "multiple Content-Length headers"
	}
	if (rawTE > 0 || te > 0 || h.ContentLength() == -1) && (rawCL > 0 || cl > 0) {
		return fasthttp.StatusBadRequest, "request has both Transfer-Encoding and Content-Length"
	}
	uri := h.RequestURI()
	if len(uri) == 0 {
		return fasthttp.StatusBadRequest, "empty request target"
	}
	if uri[0] != '/' {
		if len(uri) == 1 && uri[0] == '*' {
			if !h.IsOptions() {
				return fasthttp.StatusBadRequest, "asterisk-form is only allowed with OPTIONS"
			}
			return 0, ""
		}
		// absolute-form: allowed only when it names this very host.
		authority, ok := absoluteAuthority(uri)
		if !ok {
			return fasthttp.StatusBadRequest, "invalid request target"
		}
		if !asciiEqualFold(authority, h.Host()) || !st.servesHost(hostOnly(authority)) {
			return fasthttp.StatusBadRequest, "absolute-form request target names another host: this gateway is not a forward proxy"
		}
	}
	return 0, ""
}

// validToken reports whether b is an RFC 9110 token (a field name).
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !tchar[c] {
			return false
		}
	}
	return true
}

var tchar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validHost reports whether a Host header value is an RFC 3986 authority
// without userinfo: reg-name or IP-literal characters and an optional port.
// An empty value is valid (HTTP/1.0; fasthttp refuses a missing Host in HTTP/1.1).
// "@", "/", "\", "?", "#", spaces and controls would change the meaning of
// the URI the upstream client or a redirect builds from it.
func validHost(h []byte) bool {
	for _, c := range h {
		if c >= 0x80 || !hostChar[c] {
			return false
		}
	}
	return true
}

var hostChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-._~!$&'()*+,;=%:[]" {
		t[c] = true
	}
	return t
}()

// countRawHeaders counts Content-Length and Transfer-Encoding lines in a raw header block.
func countRawHeaders(raw []byte) (cl, te int) {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		switch {
		case asciiEqualFold(name, strContentLength):
			cl++
		case asciiEqualFold(name, strTransferEncoding):
			te++
		}
	}
	return cl, te
}

// absoluteAuthority returns the host[:port] of an absolute-form target.
func absoluteAuthority(uri []byte) ([]byte, bool) {
	i := bytes.Index(uri, []byte("://"))
	if i <= 0 {
		return nil, false
	}
	scheme := uri[:i]
	if !asciiEqualFold(scheme, []byte("http")) && !asciiEqualFold(scheme, []byte("https")) {
		return nil, false
	}
	rest := uri[i+3:]
	if j := bytes.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if at := bytes.LastIndexByte(rest, '@'); at >= 0 {
		return nil, false // userinfo is never valid here
	}
	return rest, len(rest) > 0
}

func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// parseError answers requests fasthttp could not parse: always with a JSON error and a closed connection.
func (g *Gateway) parseError(ctx *fasthttp.RequestCtx, err error) {
	status := fasthttp.StatusBadRequest
	msg := "malformed HTTP request"
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = fasthttp.StatusRequestEntityTooLarge, "request body too large"
	case errors.As(err, &small):
		status, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large"
	case isTimeout(err):
		status, msg = fasthttp.StatusRequestTimeout, "request read timed out"
	}
	g.metrics.rejected.WithLabelValues(strconv.Itoa(status)).Inc()
	ctx.SetConnectionClose()
	writeError(ctx, status, "invalid_request_error", msg)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// writeError writes an error in OpenAI's JSON shape, which every surface of the gateway uses.
func writeError(ctx *fasthttp.RequestCtx, status int, typ, msg string) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b := ctx.Response.BodyWriter()
	m, _ := json.Marshal(msg)
	t, _ := json.Marshal(typ)
	buf := make([]byte, 0, 64+len(m)+len(t))
	buf = append(buf, `{"error":{"message":`...)
	buf = append(buf, m...)
	buf = append(buf, `,"type":`...)
	buf = append(buf, t...)
	buf = append(buf, `,"param":null,"code":null}}`...)
	_, _ = b.Write(buf)
}

// servesHost reports whether an absolute-form request target may name host:
// an IP literal or localhost (this machine), or a hostname configured on a
// listener or route. Catch-all routes do not make every host ours: a request
// in proxy form for a host we were not told about is refused.
func (s *state) servesHost(host []byte) bool {
	if s == nil {
		return false
	}
	h := strings.ToLower(strings.Trim(string(host), "[]"))
	if h == "localhost" || net.ParseIP(h) != nil {
		return true
	}
	for _, pattern := range s.hostnames {
		if pattern == h || (strings.HasPrefix(pattern, "*.") && strings.HasSuffix(h, pattern[1:])) {
			return true
		}
	}
	return false
}
