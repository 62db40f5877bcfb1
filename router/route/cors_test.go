package route

import (
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

func corsTable(t *testing.T, c config.CORS) *Table {
	t.Helper()
	r := config.RouteRule{Policies: &config.Policies{CORS: &c}}
	return compile(t, snapOf(t, web, []config.Route{route("c", nil, r)}))
}

func TestCORSPreflight(t *testing.T) {
	strict := config.CORS{
		AllowOrigins:     []string{"https://app.example.com", "https://*.tools.example.com"},
		AllowMethods:     []string{"GET", "post"},
		AllowHeaders:     []string{"content-type", "authorization"},
		AllowCredentials: true,
		MaxAge:           config.Duration(time.Hour),
	}
	star := config.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
	starCreds := config.CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}, AllowCredentials: true}
	tests := []struct {
		name    string
		cors    config.CORS
		headers []string
		status  int               // 0: not answered at the gateway
		want    map[string]string // response headers ("" = absent)
	}{
		{
			name:    "allowed exact origin",
			cors:    strict,
			headers: []string{"Origin=https://app.example.com", "Access-Control-Request-Method=POST", "Access-Control-Request-Headers=content-type"},
			status:  204,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Methods":     "GET, POST",
				"Access-Control-Allow-Headers":     "content-type, authorization",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Max-Age":           "3600",
				"Vary":                             "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
			},
		},
		{
			name:    "allowed wildcard origin, several labels",
			cors:    strict,
			headers: []string{"Origin=https://a.b.tools.example.com", "Access-Control-Request-Method=GET"},
			status:  204,
			want:    map[string]string{"Access-Control-Allow-Origin": "https://a.b.tools.example.com"},
		},
		{
			name:    "denied origin",
			cors:    strict,
			headers: []string{"Origin=https://evil.example.com", "Access-Control-Request-Method=GET"},
			status:  403,
			want:    map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name:    "wildcard does not cover the bare domain",
			cors:    strict,
			headers: []string{"Origin=https://tools.example.com", "Access-Control-Request-Method=GET"},
			status:  403,
		},
		{
			name:    "wildcard does not cross the scheme",
			cors:    strict,
			headers: []string{"Origin=http://x.tools.example.com", "Access-Control-Request-Method=GET"},
			status:  403,
		},
		{
			name:    "wildcard does not match a port",
			cors:    strict,
			headers: []string{"Origin=https://x.tools.example.com:444", "Access-Control-Request-Method=GET"},
			status:  403,
		},
		{
			name:    "denied method",
			cors:    strict,
			headers: []string{"Origin=https://app.example.com", "Access-Control-Request-Method=DELETE"},
			status:  403,
		},
		{
			name:    "star without credentials",
			cors:    star,
			headers: []string{"Origin=https://any.org", "Access-Control-Request-Method=PUT", "Access-Control-Request-Headers=x-a"},
			status:  204,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "*",
				"Access-Control-Allow-Methods":     "*",
				"Access-Control-Allow-Headers":     "*",
				"Access-Control-Allow-Credentials": "",
				"Access-Control-Max-Age":           "",
			},
		},
		{
			name:    "star with credentials echoes",
			cors:    starCreds,
			headers: []string{"Origin=https://any.org", "Access-Control-Request-Method=PUT", "Access-Control-Request-Headers=x-a, x-b"},
			status:  204,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://any.org",
				"Access-Control-Allow-Methods":     "PUT",
				"Access-Control-Allow-Headers":     "x-a, x-b",
				"Access-Control-Allow-Credentials": "true",
			},
		},
		{
			name:    "OPTIONS without request method is not a preflight",
			cors:    strict,
			headers: []string{"Origin=https://app.example.com"},
		},
		{
			name:    "OPTIONS without origin is not a preflight",
			cors:    strict,
			headers: []string{"Access-Control-Request-Method=GET"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := corsTable(t, tt.cors)
			ctx, m, done := serve(t, tb, request{method: "OPTIONS", uri: "/v1/chat", headers: tt.headers})
			if done != (tt.status != 0) {
				t.Fatalf("done = %v, want status %d", done, tt.status)
			}
			if done {
				m.Rule.ApplyResponse(ctx) // the server always runs it; must not duplicate
			}
			if tt.status != 0 && ctx.Response.StatusCode() != tt.status {
				t.Errorf("status %d, want %d", ctx.Response.StatusCode(), tt.status)
			}
			for k, v := range tt.want {
				if got := string(ctx.Response.Header.Peek(k)); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestCORSResponse(t *testing.T) {
	c := config.CORS{
		AllowOrigins:     []string{"https://app.example.com"},
		ExposeHeaders:    []string{"x-request-id", "x-ratelimit-remaining"},
		AllowCredentials: true,
	}
	tests := []struct {
		name   string
		cors   config.CORS
		origin string
		vary   string // existing Vary from upstream
		want   map[string]string
	}{
		{
			name: "allowed origin", cors: c, origin: "https://APP.example.com", vary: "Accept-Encoding",
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://APP.example.com",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers":    "x-request-id, x-ratelimit-remaining",
				"Vary":                             "Accept-Encoding, Origin",
			},
		},
		{
			name: "disallowed origin gets only Vary", cors: c, origin: "https://evil.org",
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": "Origin"},
		},
		{
			// A shared cache must not hand this answer to an allowed origin.
			name: "no origin gets only Vary", cors: c, vary: "Accept-Encoding",
			want: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Accept-Encoding, Origin"},
		},
		{
			name: "star", cors: config.CORS{AllowOrigins: []string{"*"}}, origin: "https://x.org",
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Vary": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := corsTable(t, tt.cors)
			var hs []string
			if tt.origin != "" {
				hs = append(hs, "Origin="+tt.origin)
			}
			ctx, m, done := serve(t, tb, request{method: "POST", uri: "/v1/chat", headers: hs})
			if done {
				t.Fatalf("actual request answered at the gateway")
			}
			if tt.vary != "" {
				ctx.Response.Header.Set("Vary", tt.vary)
			}
			m.Rule.ApplyResponse(ctx)
			m.Rule.ApplyResponse(ctx) // idempotent
			for k, v := range tt.want {
				if got := string(ctx.Response.Header.Peek(k)); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
