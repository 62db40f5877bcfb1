package e2e

import (
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestHardeningRawSocket(t *testing.T) {
	up := newEcho(t, "app")
	g := startGateway(t, fmt.Sprintf(`
server: {readTimeout: 1s, maxHeaderBytes: 4096}
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: app
    rules: [{matches: [{path: {type: PathPrefix, value: /public}}], backendRefs: [{name: app}]}]
backends: [{name: app, static: {endpoints: [%s]}}]
`, up.endpointYAML(1)))
	host := g.Addr()
	tests := []struct {
		name       string
		raw        string
		wantStatus int
		wantClosed bool
	}{
		{"plain request stays open", "GET /public/x HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 200, false},
		{"TE and CL together", "POST /public/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"CL then TE", "POST /public/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n", 400, true},
		{"conflicting CL", "POST /public/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", 400, true},
		{"duplicate equal CL", "POST /public/x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400, true},
		{"malformed chunk size", "POST /public/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, true},
		{"unknown transfer coding", "POST /public/x HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400, true},
		{"absolute-form to another host", "GET http://evil.example/public/x HTTP/1.1\r\nHost: evil.example\r\n\r\n", 400, true},
		{"absolute-form with different Host", "GET http://evil.example/public/x HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 400, true},
		{"CONNECT", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 405, true},
		{"dot-dot escape", "GET /public/../../etc/passwd HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 400, false},
		{"dot-dot out of the prefix", "GET /public/../private HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 404, false},
		{"encoded dot-dot", "GET /public/%2e%2e/private HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 404, false},
		{"encoded slash", "GET /public%2f..%2fprivate HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 400, false},
		{"headers too large", "GET /public/x HTTP/1.1\r\nHost: " + host + "\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", 431, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.Hits()
			resp, _, closed := testutil.RawExchange(t, host, tt.raw)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if closed != tt.wantClosed {
				t.Fatalf("connection closed = %v, want %v", closed, tt.wantClosed)
			}
			if tt.wantStatus != 200 && up.Hits() != before {
				t.Fatal("a rejected request reached the upstream")
			}
		})
	}

	t.Run("slow client is cut off by the read timeout", func(t *testing.T) {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET /public/x HTTP/1.1\r\nHost: "+host+"\r\n")
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("slow client held the connection for %v", d)
		}
	})
}
