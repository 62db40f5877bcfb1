package e2e

import (
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"strings"
	"testing"
)

// TestHardeningRFC9112 sends malformed and edge-case HTTP/1.x requests on raw
// sockets: every ambiguous or invalid message must be refused (400-class, the
// connection closed) and never reach the upstream; valid edge cases must pass.
func TestHardeningRFC9112(t *testing.T) {
	up := newEcho(t, "app")
	g := startGateway(t, fmt.Sprintf(`
server: {readTimeout: 2s, maxHeaderBytes: 8192}
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: app
    rules: [{matches: [{path: {type: PathPrefix, value: /public}}], backendRefs: [{name: app}]}]
backends: [{name: app, static: {endpoints: [%s]}}]
`, up.endpointYAML(1)))
	host := g.Addr()
	hostHdr := "Host: " + host + "\r\n"
	tests := []struct {
		name       string
		raw        string
		wantStatus int
		wantClosed bool
	}{
		// Valid edge cases.
		{"chunk extension accepted", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n3;name=value\r\nabc\r\n0\r\n\r\n", 200, false},
		{"HTTP/1.0 without keep-alive closes", "GET /public/x HTTP/1.0\r\n" + hostHdr + "\r\n", 200, true},
		{"HTTP/1.0 keep-alive stays open", "GET /public/x HTTP/1.0\r\n" + hostHdr + "Connection: keep-alive\r\n\r\n", 200, false},
		{"HTTP/1.0 without Host", "GET /public/x HTTP/1.0\r\n\r\n", 200, true},
		{"absolute-form naming this host", "GET http://" + host + "/public/x HTTP/1.1\r\n" + hostHdr + "\r\n", 200, false},
		{"Connection close honoured", "GET /public/x HTTP/1.1\r\n" + hostHdr + "Connection: close\r\n\r\n", 200, true},

		// Host header.
		{"HTTP/1.1 without Host", "GET /public/x HTTP/1.1\r\n\r\n", 400, true},
		{"duplicate Host", "GET /public/x HTTP/1.1\r\n" + hostHdr + "Host: other.example\r\n\r\n", 400, true},
		{"duplicate identical Host", "GET /public/x HTTP/1.1\r\n" + hostHdr + hostHdr + "\r\n", 400, true},
		{"Host with path", "GET /public/x HTTP/1.1\r\nHost: a.example/evil\r\n\r\n", 400, true},
		{"Host with userinfo", "GET /public/x HTTP/1.1\r\nHost: user@a.example\r\n\r\n", 400, true},
		{"Host with backslash", "GET /public/x HTTP/1.1\r\nHost: a.example\\@evil.example\r\n\r\n", 400, true},
		{"Host with space", "GET /public/x HTTP/1.1\r\nHost: a.example evil\r\n\r\n", 400, true},

		// Header syntax.
		{"space before colon", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X-Test : 1\r\n\r\n", 400, true},
		{"space before colon on Content-Length", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length : 3\r\n\r\nabc", 400, true},
		// RFC 9112 section 5.2 allows replacing obs-fold with SP: fasthttp does.
		{"obs-fold is unfolded", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X-Test: a\r\n b\r\n\r\n", 200, false},
		{"obs-fold on first header", "GET /public/x HTTP/1.1\r\n " + hostHdr + "\r\n", 400, true},
		{"header name with space", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X Test: 1\r\n\r\n", 400, true},
		{"header name with non-token char", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X(Test): 1\r\n\r\n", 400, true},
		{"empty header name", "GET /public/x HTTP/1.1\r\n" + hostHdr + ": 1\r\n\r\n", 400, true},
		{"header without colon", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X-Test\r\n\r\n", 400, true},
		{"NUL in header value", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X-Test: a\x00b\r\n\r\n", 400, true},
		{"bare CR in header value", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X-Test: a\rb\r\n\r\n", 400, true},
		{"control char in header value", "GET /public/x HTTP/1.1\r\n" + hostHdr + "X-Test: a\x01b\r\n\r\n", 400, true},

		// Request line.
		{"lowercase HTTP version", "GET /public/x http/1.1\r\n" + hostHdr + "\r\n", 400, true},
		{"higher minor version is served as HTTP/1.1", "GET /public/x HTTP/1.2\r\n" + hostHdr + "\r\n", 200, true},
		{"HTTP/2 version on HTTP/1 parser", "GET /public/x HTTP/2.0\r\n" + hostHdr + "\r\n", 505, true},
		{"double space in request line", "GET  /public/x HTTP/1.1\r\n" + hostHdr + "\r\n", 400, true},
		{"method with non-token char", "G(T /public/x HTTP/1.1\r\n" + hostHdr + "\r\n", 400, true},
		{"very long URI", "GET /public/" + strings.Repeat("a", 20000) + " HTTP/1.1\r\n" + hostHdr + "\r\n", 431, true},
		{"absolute-form with userinfo", "GET http://user@" + host + "/public/x HTTP/1.1\r\n" + hostHdr + "\r\n", 400, true},
		{"CONNECT authority-form", "CONNECT " + host + " HTTP/1.1\r\n" + hostHdr + "\r\n", 405, true},
		{"authority-form without CONNECT", "GET " + host + " HTTP/1.1\r\n" + hostHdr + "\r\n", 400, true},
		{"asterisk-form with GET", "GET * HTTP/1.1\r\n" + hostHdr + "\r\n", 400, true},

		// Content-Length.
		{"CL with plus sign", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length: +3\r\n\r\nabc", 400, true},
		{"CL negative", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length: -1\r\n\r\n", 400, true},
		{"CL list", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length: 3, 3\r\n\r\nabc", 400, true},
		{"CL hex", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length: 0x3\r\n\r\nabc", 400, true},
		{"CL overflow", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length: 99999999999999999999999\r\n\r\nabc", 400, true},
		{"CL empty", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length:\r\n\r\n", 400, true},

		// Transfer-Encoding.
		{"TE identity", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: identity\r\n\r\n", 400, true},
		{"TE chunked twice", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"TE duplicated header", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"TE with vertical tab", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", 400, true},
		{"TE xchunked", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400, true},
		{"TE in HTTP/1.0", "POST /public/x HTTP/1.0\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"TE obs-folded with CL", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Content-Length: 3\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n\r\nabc", 400, true},

		// Chunked body.
		{"chunk size with 0x", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n", 400, true},
		{"chunk size negative", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400, true},
		{"chunk size overflow", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff3\r\nabc\r\n0\r\n\r\n", 400, true},
		{"chunk size leading space", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", 400, true},
		{"chunk data longer than size", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n", 400, true},
		{"chunk ext with bare LF", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n3;a\nb\r\nabc\r\n0\r\n\r\n", 400, true},
		{"chunk without CRLF after data", "POST /public/x HTTP/1.1\r\n" + hostHdr + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n", 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.Hits()
			resp, body, closed := testutil.RawExchange(t, host, tt.raw)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus >= 400 && !strings.HasPrefix(body, `{"error":`) {
				t.Fatalf("the rejection did not come from the gateway: %s", body)
			}
			if closed != tt.wantClosed {
				t.Fatalf("connection closed = %v, want %v", closed, tt.wantClosed)
			}
			if tt.wantStatus >= 400 && up.Hits() != before {
				t.Fatal("a rejected request reached the upstream")
			}
		})
	}
}
