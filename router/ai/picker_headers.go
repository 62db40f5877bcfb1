package ai

import (
	"strings"

	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// pickerHeaders appends to hs the client's request headers an external
// endpoint picker is told of, as Envoy tells ext_proc: every header but
// credentials (Authorization, Proxy-Authorization, x-api-key, api-key,
// x-goog-api-key, Cookie), hop-by-hop headers (and those the client's
// Connection header names), Content-Length (the body's own length is
// sent) and Expect (the gateway answered it); Host as :authority; the
// gateway's x-request-id instead of the client's. An OpenAI request's
// content type is the translated body's (application/json); an opaque
// request's is the client's.
//
// Every name (lower-cased here, so that the picker client need not copy
// it) and value is a substring of one string: one allocation per request,
// whatever the number of headers. hs is the exchange's own slice, reused
// across requests.
func (s *exchange) pickerHeaders(hs []inference.Header, opaque bool) []inference.Header {
	h := &s.ctx.Request.Header
	conn := h.Peek("Connection")
	n := len(s.x.RequestID)
	for k, v := range h.All() {
		if forPicker(k, opaque, conn) {
			n += len(k) + len(v)
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	for k, v := range h.All() {
		if forPicker(k, opaque, conn) {
			for _, c := range k {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				sb.WriteByte(c)
			}
			sb.Write(v)
		}
	}
	sb.WriteString(s.x.RequestID)
	all := sb.String()
	if !opaque {
		hs = append(hs, inference.Header{Name: "content-type", Value: "application/json"})
	}
	off := 0
	for k, v := range h.All() {
		if !forPicker(k, opaque, conn) {
			continue
		}
		name := all[off : off+len(k)]
		off += len(k)
		if equalFoldASCII(k, "host") {
			name = ":authority"
		}
		hs = append(hs, inference.Header{Name: name, Value: all[off : off+len(v)]})
		off += len(v)
	}
	if s.x.RequestID != "" {
		hs = append(hs, inference.Header{Name: "x-request-id", Value: all[off:]})
	}
	return hs
}

// forPicker reports whether the client header name goes to the picker;
// conn is the client's Connection header.
func forPicker(name []byte, opaque bool, conn []byte) bool {
	switch {
	case equalFoldASCII(name, "authorization"), equalFoldASCII(name, "x-api-key"), equalFoldASCII(name, "api-key"),
		equalFoldASCII(name, "x-goog-api-key"), equalFoldASCII(name, "cookie"), equalFoldASCII(name, "content-length"),
		equalFoldASCII(name, "expect"), equalFoldASCII(name, "x-request-id"):
		return false
	case equalFoldASCII(name, "content-type"):
		return opaque
	case len(conn) > 0 && upstream.NamedByConnection(conn, name):
		return false
	}
	return !upstream.IsHopByHop(name) // Proxy-Authorization among them
}
