package route

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// serve runs a request through lookup and ApplyRequest as the server does and
// returns the ctx, the match and whether ApplyRequest answered.
func serve(t *testing.T, tb *Table, r request) (*fasthttp.RequestCtx, *Match, bool) {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	if r.method == "" {
		r.method = "GET"
	}
	if r.port == 0 {
		r.port = 8080
	}
	if r.host == "" {
		r.host = "gw.local"
	}
	ctx.Request.Header.SetMethod(r.method)
	ctx.Request.SetRequestURI(r.uri)
	ctx.Request.Header.SetHost(r.host)
	for _, h := range r.headers {
		n, v, _ := strings.Cut(h, "=")
		ctx.Request.Header.Add(n, v)
	}
	raw, _, _ := strings.Cut(r.uri, "?")
	path, err := NormalizePath([]byte(raw))
	if err != nil {
		t.Fatalf("NormalizePath: %v", err)
	}
	ctx.Request.URI().SetPathBytes(path)
	m := tb.Lookup(r.port, []byte(r.host), []byte(r.method), path, &ctx.Request)
	if m == nil {
		t.Fatalf("no route for %s %s", r.method, r.uri)
	}
	done := m.Rule.ApplyRequest(ctx, m)
	return ctx, m, done
}

// oneRule compiles a single route on listener "web" (port 8080) with one rule
// matching PathPrefix prefixValue and carrying the filters.
func oneRule(t *testing.T, ls []lis, prefixValue string, filters ...config.Filter) *Table {
	t.Helper()
	if ls == nil {
		ls = web
	}
	r := config.RouteRule{Matches: []config.RouteMatch{{Path: prefix(prefixValue)}}, Filters: filters}
	return compile(t, snapOf(t, ls, []config.Route{route("f", nil, r)}))
}

func TestHeaderModifiers(t *testing.T) {
	tb := oneRule(t, nil, "/",
		config.Filter{Type: config.FilterRequestHeaderModifier, RequestHeaderModifier: &config.HeaderModifier{
			Set:    []config.Header{{Name: "x-env", Value: "prod"}},
			Add:    []config.Header{{Name: "x-multi", Value: "b"}},
			Remove: []string{"X-Internal"},
		}},
		config.Filter{Type: config.FilterResponseHeaderModifier, ResponseHeaderModifier: &config.HeaderModifier{
			Set:    []config.Header{{Name: "x-served-by", Value: "switchyard"}},
			Add:    []config.Header{{Name: "x-r", Value: "2"}},
			Remove: []string{"server"},
		}},
	)
	ctx, _, done := serve(t, tb, request{uri: "/x", headers: []string{"x-env=dev", "x-multi=a", "x-internal=secret"}})
	if done {
		t.Fatalf("header modifier answered the request")
	}
	h := &ctx.Request.Header
	if got := string(h.Peek("x-env")); got != "prod" {
		t.Errorf("set: x-env = %q", got)
	}
	var multi []string
	for _, v := range h.PeekAll("x-multi") {
		multi = append(multi, string(v))
	}
	if strings.Join(multi, ",") != "a,b" {
		t.Errorf("add: x-multi = %q", multi)
	}
	if h.Peek("x-internal") != nil {
		t.Errorf("remove: x-internal still present")
	}

	ctx.Response.Header.Set("Server", "upstream")
	ctx.Response.Header.Set("x-r", "1")
	_, m, _ := serve(t, tb, request{uri: "/x"})
	m.Rule.ApplyResponse(ctx)
	rh := &ctx.Response.Header
	if got := string(rh.Peek("x-served-by")); got != "switchyard" {
		t.Errorf("response set: %q", got)
	}
	if n := len(rh.PeekAll("x-r")); n != 2 {
		t.Errorf("response add: %d values of x-r", n)
	}
	if len(rh.Peek("Server")) != 0 {
		t.Errorf("response remove: Server still present")
	}
}

func TestRequestRedirect(t *testing.T) {
	full := func(p string) *config.PathModifier {
		return &config.PathModifier{Type: config.ReplaceFullPath, ReplaceFullPath: p}
	}
	pre := func(p string) *config.PathModifier {
		return &config.PathModifier{Type: config.ReplacePrefixMatch, ReplacePrefixMatch: p}
	}
	tests := []struct {
		name     string
		port     int
		prefix   string
		rd       config.Redirect
		uri      string
		host     string
		status   int
		location string
	}{
		{"scheme only omits default port", 8080, "/", config.Redirect{Scheme: "https"}, "/a/b?x=1&y=2", "gw.local:8080", 302, "https://gw.local/a/b?x=1&y=2"},
		{"hostname keeps listener port", 8080, "/", config.Redirect{Hostname: "example.org"}, "/a", "gw.local", 302, "http://example.org:8080/a"},
		{"listener port 80 omitted", 80, "/", config.Redirect{Hostname: "example.org"}, "/a", "gw.local", 302, "http://example.org/a"},
		{"explicit port", 8080, "/", config.Redirect{Scheme: "https", Port: 8443}, "/a", "gw.local", 302, "https://gw.local:8443/a"},
		{"explicit default port omitted", 8080, "/", config.Redirect{Scheme: "https", Port: 443}, "/a", "gw.local", 302, "https://gw.local/a"},
		{"status 301 and full path", 8080, "/", config.Redirect{Scheme: "https", Hostname: "example.org", Path: full("/new"), StatusCode: 301}, "/old/x?q=1", "gw.local", 301, "https://example.org/new?q=1"},
		{"prefix replaced", 8080, "/v1", config.Redirect{Path: pre("/v2")}, "/v1/chat", "gw.local", 302, "http://gw.local:8080/v2/chat"},
		{"prefix replaced by root", 8080, "/v1", config.Redirect{Path: pre("/")}, "/v1/chat", "gw.local", 302, "http://gw.local:8080/chat"},
		{"ipv6 host", 8080, "/", config.Redirect{Scheme: "https"}, "/a", "[::1]:8080", 302, "https://[::1]/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := tt.rd
			tb := oneRule(t, []lis{{name: "web", port: tt.port}}, tt.prefix, config.Filter{Type: config.FilterRequestRedirect, RequestRedirect: &rd})
			ctx, _, done := serve(t, tb, request{port: tt.port, uri: tt.uri, host: tt.host})
			if !done {
				t.Fatalf("redirect did not answer")
			}
			if ctx.Response.StatusCode() != tt.status {
				t.Errorf("status %d, want %d", ctx.Response.StatusCode(), tt.status)
			}
			if got := string(ctx.Response.Header.Peek("Location")); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
		})
	}
}

func TestURLRewrite(t *testing.T) {
	pre := func(p string) *config.PathModifier {
		return &config.PathModifier{Type: config.ReplacePrefixMatch, ReplacePrefixMatch: p}
	}
	tests := []struct {
		name     string
		prefix   string
		rw       config.URLRewrite
		uri      string
		wantPath string
		wantHost string
	}{
		// The Gateway API ReplacePrefixMatch table.
		{"prefix /foo -> /xyz", "/foo", config.URLRewrite{Path: pre("/xyz")}, "/foo/bar", "/xyz/bar", ""},
		{"prefix /foo -> /xyz/", "/foo", config.URLRewrite{Path: pre("/xyz/")}, "/foo/bar", "/xyz/bar", ""},
		{"prefix /foo/ -> /xyz", "/foo/", config.URLRewrite{Path: pre("/xyz")}, "/foo/bar", "/xyz/bar", ""},
		{"prefix /foo/ -> /xyz/", "/foo/", config.URLRewrite{Path: pre("/xyz/")}, "/foo/bar", "/xyz/bar", ""},
		{"whole /foo -> /xyz", "/foo", config.URLRewrite{Path: pre("/xyz")}, "/foo", "/xyz", ""},
		{"/foo/ -> /xyz/", "/foo", config.URLRewrite{Path: pre("/xyz")}, "/foo/", "/xyz/", ""},
		{"to empty", "/foo", config.URLRewrite{Path: pre("")}, "/foo/bar", "/bar", ""},
		{"to empty, slash", "/foo", config.URLRewrite{Path: pre("")}, "/foo/", "/", ""},
		{"to empty, whole", "/foo", config.URLRewrite{Path: pre("")}, "/foo", "/", ""},
		{"to root, slash", "/foo", config.URLRewrite{Path: pre("/")}, "/foo/", "/", ""},
		{"to root, whole", "/foo", config.URLRewrite{Path: pre("/")}, "/foo", "/", ""},
		{"root prefix", "/", config.URLRewrite{Path: pre("/api")}, "/v1/x", "/api/v1/x", ""},
		{"full path and host", "/", config.URLRewrite{Hostname: "internal", Path: &config.PathModifier{Type: config.ReplaceFullPath, ReplaceFullPath: "/new"}}, "/old?q=1", "/new", "internal"},
		{"host only", "/", config.URLRewrite{Hostname: "backend.svc"}, "/keep", "/keep", "backend.svc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rw := tt.rw
			tb := oneRule(t, nil, tt.prefix, config.Filter{Type: config.FilterURLRewrite, URLRewrite: &rw})
			ctx, _, done := serve(t, tb, request{uri: tt.uri})
			if done {
				t.Fatalf("rewrite answered the request")
			}
			if got := string(ctx.Request.URI().PathOriginal()); got != tt.wantPath {
				t.Errorf("path %q, want %q", got, tt.wantPath)
			}
			if got := string(ctx.Request.URI().Path()); got != tt.wantPath {
				t.Errorf("URI().Path() %q, want %q", got, tt.wantPath)
			}
			if _, q, ok := strings.Cut(tt.uri, "?"); ok && string(ctx.Request.URI().QueryString()) != q {
				t.Errorf("query lost: %q", ctx.Request.URI().QueryString())
			}
			if tt.wantHost != "" {
				if got := string(ctx.Request.Header.Host()); got != tt.wantHost {
					t.Errorf("Host header %q, want %q", got, tt.wantHost)
				}
				if got := string(ctx.Request.URI().Host()); got != tt.wantHost {
					t.Errorf("URI host %q, want %q", got, tt.wantHost)
				}
			}
		})
	}
}

func TestRuleBackendsAndMirror(t *testing.T) {
	w0, w3, pct := 0, 3, 10
	routes := []config.Route{
		{Name: "ai", Listeners: []string{"web"}, Rules: []config.RouteRule{{
			BackendRefs: []config.BackendRef{{Name: "gpt"}, {Name: "default/claude", Weight: &w3, Priority: 1}},
		}}},
		{Name: "mixed", Listeners: []string{"web"}, Rules: []config.RouteRule{{
			Matches:     []config.RouteMatch{{Path: prefix("/m")}},
			BackendRefs: []config.BackendRef{{Name: "gpt"}, {Name: "app", Weight: &w0}},
			Filters:     []config.Filter{{Type: config.FilterRequestMirror, RequestMirror: &config.Mirror{BackendRef: config.BackendRef{Name: "shadow"}, Percent: &pct}}},
		}}},
		{Name: "none", Listeners: []string{"web"}, Rules: []config.RouteRule{{
			Matches: []config.RouteMatch{{Path: prefix("/n")}},
			Filters: []config.Filter{{Type: config.FilterRequestMirror, RequestMirror: &config.Mirror{BackendRef: config.BackendRef{Name: "shadow"}}}},
		}}},
	}
	tb := compile(t, snapOf(t, web, routes, "ai:gpt", "ai:claude", "app", "shadow"))
	_, m := lookup(t, tb, request{uri: "/"})
	r := m.Rule
	if r.Kind != KindAI || len(r.Backends) != 2 || r.Backends[0] != (Ref{Name: "default/gpt", Weight: 1, Backend: r.Backends[0].Backend}) ||
		r.Backends[1].Name != "default/claude" || r.Backends[1].Weight != 3 || r.Backends[1].Priority != 1 || r.Mirror != nil {
		t.Errorf("ai rule: %+v", r)
	}
	_, m = lookup(t, tb, request{uri: "/m"})
	r = m.Rule
	if r.Kind == KindAI || r.Backends[1].Weight != 0 || r.Mirror == nil || *r.Mirror != (MirrorSpec{Backend: "default/shadow", Percent: 10}) {
		t.Errorf("mixed rule: kind=%v backends=%+v mirror=%+v", r.Kind, r.Backends, r.Mirror)
	}
	_, m = lookup(t, tb, request{uri: "/n"})
	if r = m.Rule; r.Kind == KindAI || r.Mirror == nil || r.Mirror.Percent != 100 {
		t.Errorf("no-backend rule: kind=%v mirror=%+v", r.Kind, r.Mirror)
	}
}

func TestCompileErrors(t *testing.T) {
	bad := func(rr config.RouteRule) []config.Route { return []config.Route{route("bad", nil, rr)} }
	tests := []struct {
		name   string
		ls     []lis
		routes []config.Route
		want   string
	}{
		{"unknown backend", nil, bad(config.RouteRule{BackendRefs: []config.BackendRef{{Name: "missing"}}}), `route default/bad rule 0: unknown backend "default/missing"`},
		{"bad path regex", nil, bad(rule(config.RouteMatch{Path: regex("(")})), "route default/bad rule 0 match 0: path: regular expression"},
		{"bad header regex", nil, bad(rule(config.RouteMatch{Headers: []config.ValueMatch{{Type: config.MatchRegularExpression, Name: "x", Value: "["}}})), `header "x": regular expression`},
		{"path above root", nil, bad(rule(config.RouteMatch{Path: prefix("/../x")})), `path "/../x"`},
		{"unknown mirror backend", nil, bad(config.RouteRule{Filters: []config.Filter{{Type: config.FilterRequestMirror, RequestMirror: &config.Mirror{BackendRef: config.BackendRef{Name: "nope"}}}}}), `mirror: unknown backend "default/nope"`},
		{"filter without its field", nil, bad(config.RouteRule{Filters: []config.Filter{{Type: config.FilterURLRewrite}}}), "has no urlRewrite"},
		{"unknown filter", nil, bad(config.RouteRule{Filters: []config.Filter{{Type: "Nope"}}}), `unknown filter type "Nope"`},
		{"unknown listener", nil, []config.Route{{Name: "x", Listeners: []string{"ghost"}}}, `unknown listener "default/switchyard.ghost"`},
		{"duplicate listener hostname", []lis{{name: "a", port: 80}, {name: "b", port: 80}}, nil, "same hostname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := tt.ls
			if ls == nil {
				ls = web
			}
			_, err := Compile(snapOf(t, ls, tt.routes))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestCompileSkipsDisabledAndTCP(t *testing.T) {
	s := snapOf(t, web, []config.Route{route("off", nil, config.RouteRule{BackendRefs: []config.BackendRef{{Name: "missing"}}})})
	s.Routes[0].Disabled = true
	s.Listeners = append(s.Listeners, config.ListenerInfo{Key: listenerKey("tcp"), Listener: &config.Listener{Name: "tcp", Port: 9000, Protocol: config.ProtocolTCP}})
	s.Routes = append(s.Routes, config.RouteInfo{Key: "default/t", Listeners: []string{listenerKey("tcp")}, Route: &config.Route{Name: "default/t", Rules: []config.RouteRule{{}}}})
	tb := compile(t, s)
	if key, _ := lookup(t, tb, request{uri: "/"}); key != "" {
		t.Errorf("disabled route matched: %s", key)
	}
	if key, _ := lookup(t, tb, request{port: 9000, uri: "/"}); key != "" {
		t.Errorf("TCP listener served HTTP: %s", key)
	}
	if _, err := Compile(nil); err == nil {
		t.Errorf("Compile(nil) succeeded")
	}
}

// TestCompileFromLoadBytes checks the table against the config loader's output.
func TestCompileFromLoadBytes(t *testing.T) {
	yaml := `
listeners:
  - name: web
    port: 8080
    protocol: HTTP
routes:
  - name: api
    rules:
      - matches:
          - path: {type: PathPrefix, value: /v1}
            method: POST
        backendRefs: [{name: openai}]
        policies: {cors: {allowOrigins: ["https://app.example.com"], maxAge: 1h}}
      - backendRefs: [{name: app}]
backends:
  - name: app
    static:
      endpoints: [{host: 127.0.0.1, port: 9000}]
  - name: openai
    ai: {provider: openai, auth: {apiKey: "k"}}
`
	snap, err := config.LoadBytes("test.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	tb := compile(t, snap)
	key, m := lookup(t, tb, request{method: "POST", uri: "/v1/chat/completions"})
	if key != "default.api.0.0" || m.Rule.Kind != KindAI || m.ListenerKey != "default/switchyard.web" {
		t.Fatalf("POST /v1: key %q match %+v", key, m)
	}
	if m.Rule.cors == nil || m.Rule.cors.maxAge != "3600" {
		t.Errorf("cors policy not compiled: %+v", m.Rule.cors)
	}
	if key, m = lookup(t, tb, request{uri: "/v1/models"}); key != "default.api.1.0" || m.Rule.Kind == KindAI {
		t.Fatalf("GET /v1/models: key %q", key)
	}
}
