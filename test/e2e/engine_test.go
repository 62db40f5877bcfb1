package e2e

import (
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func routingConfig(a, b, c, shadow *echoUpstream) string {
	return fmt.Sprintf(`
listeners:
  - name: web
    address: 127.0.0.1
    port: {{PORT}}
    protocol: HTTP
routes:
  - name: default/by-path
    rules:
      - matches: [{path: {type: PathPrefix, value: /a}}]
        backendRefs: [{name: a}]
      - matches: [{path: {type: Exact, value: /exact}}]
        backendRefs: [{name: b}]
      - matches: [{path: {type: PathPrefix, value: /hdr}, headers: [{name: x-team, value: blue}]}]
        backendRefs: [{name: b}]
      - matches: [{path: {type: PathPrefix, value: /hdr}}]
        backendRefs: [{name: a}]
      - matches: [{path: {type: PathPrefix, value: /m}, method: POST}]
        backendRefs: [{name: b}]
      - matches: [{path: {type: PathPrefix, value: /m}}]
        backendRefs: [{name: a}]
      - matches: [{path: {type: PathPrefix, value: /q}, queryParams: [{name: debug, value: "1"}]}]
        backendRefs: [{name: b}]
      - matches: [{path: {type: PathPrefix, value: /q}}]
        backendRefs: [{name: a}]
      - matches: [{path: {type: RegularExpression, value: "/re/[0-9]+"}}]
        backendRefs: [{name: c}]
      - matches: [{path: {type: PathPrefix, value: /hm}}]
        filters:
          - type: RequestHeaderModifier
            requestHeaderModifier: {set: [{name: x-env, value: prod}], add: [{name: x-added, value: "1"}], remove: [x-internal]}
          - type: ResponseHeaderModifier
            responseHeaderModifier: {set: [{name: x-resp, value: set}], remove: [x-upstream]}
        backendRefs: [{name: a}]
      - matches: [{path: {type: PathPrefix, value: /old}}]
        filters:
          - type: RequestRedirect
            requestRedirect: {scheme: https, hostname: example.org, path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 301}
      - matches: [{path: {type: PathPrefix, value: /rw}}]
        filters:
          - type: URLRewrite
            urlRewrite: {hostname: internal.example, path: {type: ReplacePrefixMatch, replacePrefixMatch: /api}}
        backendRefs: [{name: a}]
      - matches: [{path: {type: PathPrefix, value: /mirror}}]
        filters:
          - type: RequestMirror
            requestMirror: {backendRef: {name: shadow}, percent: 100}
        backendRefs: [{name: a}]
      - matches: [{path: {type: PathPrefix, value: /cors}}]
        policies: {cors: {allowOrigins: ["https://app.example.com"], allowMethods: [GET, POST], allowHeaders: [content-type], allowCredentials: true, maxAge: 1h}}
        backendRefs: [{name: a}]
  - name: default/by-host
    hostnames: ["api.example.com"]
    rules:
      - matches: [{path: {type: PathPrefix, value: /a}}]
        backendRefs: [{name: c}]
backends:
  - name: a
    static: {endpoints: [%s]}
  - name: b
    static: {endpoints: [%s]}
  - name: c
    static: {endpoints: [%s]}
  - name: shadow
    static: {endpoints: [%s]}
`, a.endpointYAML(1), b.endpointYAML(1), c.endpointYAML(1), shadow.endpointYAML(1))
}

func TestRoutingAndFilters(t *testing.T) {
	a, b, c, shadow := newEcho(t, "a"), newEcho(t, "b"), newEcho(t, "c"), newEcho(t, "shadow")
	g := startGateway(t, routingConfig(a, b, c, shadow))

	tests := []struct {
		name, method, path, host string
		header                   map[string]string
		want                     string // upstream name, or "" for no upstream
		status                   int
	}{
		{name: "prefix", method: "GET", path: "/a/x", want: "a", status: 200},
		{name: "prefix segment boundary", method: "GET", path: "/ab", status: 404},
		{name: "exact", method: "GET", path: "/exact", want: "b", status: 200},
		{name: "exact is not prefix", method: "GET", path: "/exact/more", status: 404},
		{name: "header match wins", method: "GET", path: "/hdr", header: map[string]string{"X-Team": "blue"}, want: "b", status: 200},
		{name: "header mismatch falls back", method: "GET", path: "/hdr", header: map[string]string{"X-Team": "red"}, want: "a", status: 200},
		{name: "method match", method: "POST", path: "/m", want: "b", status: 200},
		{name: "method fallback", method: "GET", path: "/m", want: "a", status: 200},
		{name: "query match", method: "GET", path: "/q?debug=1", want: "b", status: 200},
		{name: "query fallback", method: "GET", path: "/q?debug=0", want: "a", status: 200},
		{name: "regex", method: "GET", path: "/re/123", want: "c", status: 200},
		{name: "regex full match", method: "GET", path: "/re/12x", status: 404},
		{name: "host route wins", method: "GET", path: "/a/x", host: "api.example.com", want: "c", status: 200},
		{name: "no route", method: "GET", path: "/nothing", status: 404},
		{name: "dot segments normalized", method: "GET", path: "/exact/../a/y", want: "a", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, tt.method, g.URL(tt.path), nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, echo := do(t, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			got := ""
			if echo != nil {
				got = echo.Upstream
			}
			if got != tt.want {
				t.Fatalf("upstream = %q, want %q", got, tt.want)
			}
			if tt.status == 404 {
				body, _ := io.ReadAll(resp.Body)
				if !strings.Contains(string(body), `"error"`) || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("404 body = %s (%s), want a JSON error", body, resp.Header.Get("Content-Type"))
				}
			}
		})
	}

	t.Run("header modifiers", func(t *testing.T) {
		req := newRequest(t, "GET", g.URL("/hm"), nil)
		req.Header.Set("X-Internal", "secret")
		req.Header.Set("X-Env", "dev")
		resp, echo := do(t, req)
		if echo == nil {
			t.Fatalf("no echo, status %d", resp.StatusCode)
		}
		h := http.Header(echo.Header)
		if h.Get("X-Env") != "prod" || h.Get("X-Added") != "1" || h.Get("X-Internal") != "" {
			t.Fatalf("upstream headers = %v", h)
		}
		if resp.Header.Get("X-Resp") != "set" || resp.Header.Get("X-Upstream") != "" {
			t.Fatalf("response headers = %v", resp.Header)
		}
		if h.Get("X-Forwarded-For") == "" || h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Forwarded-Host") == "" {
			t.Fatalf("X-Forwarded-* missing: %v", h)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		resp, _ := do(t, newRequest(t, "GET", g.URL("/old/x?k=v"), nil))
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://example.org/new?k=v" {
			t.Fatalf("redirect = %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("rewrite", func(t *testing.T) {
		_, echo := do(t, newRequest(t, "GET", g.URL("/rw/users?id=1"), nil))
		if echo == nil || echo.Path != "/api/users" || echo.Host != "internal.example" || echo.Query != "id=1" {
			t.Fatalf("rewrite = %+v", echo)
		}
	})
	t.Run("mirror", func(t *testing.T) {
		before := shadow.Hits()
		_, echo := do(t, newRequest(t, "POST", g.URL("/mirror"), strings.NewReader("copy me")))
		if echo == nil || echo.Upstream != "a" {
			t.Fatalf("main request went to %+v", echo)
		}
		testutil.Eventually(t, 5*time.Second, func() bool { return shadow.Hits() > before })
		shadow.mu.Lock()
		body := string(shadow.body)
		shadow.mu.Unlock()
		if body != "copy me" {
			t.Fatalf("mirrored body = %q", body)
		}
	})
	t.Run("cors preflight", func(t *testing.T) {
		req := newRequest(t, "OPTIONS", g.URL("/cors"), nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		before := a.Hits()
		resp, _ := do(t, req)
		if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Max-Age") != "3600" {
			t.Fatalf("preflight = %d %v", resp.StatusCode, resp.Header)
		}
		if a.Hits() != before {
			t.Fatal("preflight reached the upstream")
		}
		req = newRequest(t, "OPTIONS", g.URL("/cors"), nil)
		req.Header.Set("Origin", "https://evil.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, _ = do(t, req)
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("disallowed origin got %v", resp.Header)
		}
		req = newRequest(t, "GET", g.URL("/cors"), nil)
		req.Header.Set("Origin", "https://app.example.com")
		resp, _ = do(t, req)
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Fatalf("simple CORS response headers = %v", resp.Header)
		}
	})
	t.Run("x-request-id", func(t *testing.T) {
		resp, _ := do(t, newRequest(t, "GET", g.URL("/a"), nil))
		if resp.Header.Get("X-Request-Id") == "" {
			t.Fatal("no x-request-id")
		}
	})
	t.Run("access log", func(t *testing.T) {
		testutil.Eventually(t, 5*time.Second, func() bool {
			logs := g.Logs()
			return strings.Contains(logs, `"msg":"access"`) && strings.Contains(logs, `"route":"default.by-path.0.0"`)
		})
	})
}
