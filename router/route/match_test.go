package route

import (
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

type expect struct {
	req  request
	want string // match key, "" for no match
}

func TestLookupPrecedence(t *testing.T) {
	m := func(p *config.PathMatch) config.RouteMatch { return config.RouteMatch{Path: p} }
	tests := []struct {
		name   string
		ls     []lis
		routes []config.Route
		cases  []expect
	}{
		{
			name: "exact beats prefix",
			routes: []config.Route{
				route("a", nil, rule(m(prefix("/v1/chat")))),
				route("b", nil, rule(m(exact("/v1/chat")))),
			},
			cases: []expect{
				{request{uri: "/v1/chat"}, "default.b.0.0"},
				{request{uri: "/v1/chat/x"}, "default.a.0.0"},
				{request{uri: "/v1/chat/"}, "default.a.0.0"},
			},
		},
		{
			name: "longer prefix wins",
			routes: []config.Route{
				route("a", nil, rule(m(prefix("/v1")))),
				route("b", nil, rule(m(prefix("/v1/chat")))),
				route("c", nil, rule(m(prefix("/")))),
			},
			cases: []expect{
				{request{uri: "/v1/chat/completions"}, "default.b.0.0"},
				{request{uri: "/v1/models"}, "default.a.0.0"},
				{request{uri: "/v2"}, "default.c.0.0"},
				{request{uri: "/"}, "default.c.0.0"},
			},
		},
		{
			name: "prefix beats regex; regex is a full match",
			routes: []config.Route{
				route("a", nil, rule(m(regex("/v1/.*")))),
				route("b", nil, rule(m(prefix("/v1")))),
				route("c", nil, rule(m(regex("/v2")))),
				route("d", nil, rule(m(regex("/models/[a-z]+")))),
			},
			cases: []expect{
				{request{uri: "/v1/x"}, "default.b.0.0"},
				{request{uri: "/v2"}, "default.c.0.0"},
				{request{uri: "/v2/x"}, ""},
				{request{uri: "/models/gpt"}, "default.d.0.0"},
				{request{uri: "/models/gpt4"}, ""},
				{request{uri: "/x/models/gpt"}, ""},
			},
		},
		{
			name: "method match beats no method",
			routes: []config.Route{
				route("a", nil, rule(m(prefix("/v1")))),
				route("b", nil, rule(config.RouteMatch{Path: prefix("/v1"), Method: "POST"})),
			},
			cases: []expect{
				{request{method: "POST", uri: "/v1"}, "default.b.0.0"},
				{request{method: "GET", uri: "/v1"}, "default.a.0.0"},
			},
		},
		{
			name: "longer prefix beats method",
			routes: []config.Route{
				route("a", nil, rule(config.RouteMatch{Path: prefix("/v1"), Method: "POST"})),
				route("b", nil, rule(m(prefix("/v1/chat")))),
			},
			cases: []expect{{request{method: "POST", uri: "/v1/chat"}, "default.b.0.0"}},
		},
		{
			name: "more headers win; names case-insensitive, values case-sensitive",
			routes: []config.Route{
				route("a", nil, rule(config.RouteMatch{Headers: hdrs("X-Team=blue")})),
				route("b", nil, rule(config.RouteMatch{Headers: hdrs("x-team=blue", "x-env=prod")})),
				route("c", nil, rule(m(prefix("/")))),
			},
			cases: []expect{
				{request{uri: "/", headers: []string{"x-team=blue", "X-Env=prod"}}, "default.b.0.0"},
				{request{uri: "/", headers: []string{"x-team=blue"}}, "default.a.0.0"},
				{request{uri: "/", headers: []string{"x-team=Blue"}}, "default.c.0.0"},
				{request{uri: "/"}, "default.c.0.0"},
			},
		},
		{
			name: "method beats header count",
			routes: []config.Route{
				route("a", nil, rule(config.RouteMatch{Headers: hdrs("x-a=1", "x-b=2")})),
				route("b", nil, rule(config.RouteMatch{Method: "GET"})),
			},
			cases: []expect{{request{uri: "/", headers: []string{"x-a=1", "x-b=2"}}, "default.b.0.0"}},
		},
		{
			name: "header regex is a full match",
			routes: []config.Route{
				route("a", nil, rule(config.RouteMatch{Headers: []config.ValueMatch{{Type: config.MatchRegularExpression, Name: "x-v", Value: "v[0-9]+"}}})),
			},
			cases: []expect{
				{request{uri: "/", headers: []string{"x-v=v12"}}, "default.a.0.0"},
				{request{uri: "/", headers: []string{"x-v=v12x"}}, ""},
				{request{uri: "/"}, ""},
			},
		},
		{
			name: "more query params win; regex query",
			routes: []config.Route{
				route("a", nil, rule(config.RouteMatch{QueryParams: hdrs("debug=1")})),
				route("b", nil, rule(config.RouteMatch{QueryParams: append(hdrs("debug=1"), config.ValueMatch{Type: config.MatchRegularExpression, Name: "v", Value: "[0-9]+"})})),
				route("c", nil, rule(m(prefix("/")))),
			},
			cases: []expect{
				{request{uri: "/x?debug=1&v=42"}, "default.b.0.0"},
				{request{uri: "/x?debug=1&v=x"}, "default.a.0.0"},
				{request{uri: "/x?debug=2"}, "default.c.0.0"},
				{request{uri: "/x?Debug=1"}, "default.c.0.0"},
			},
		},
		{
			name: "header count beats query count",
			routes: []config.Route{
				route("a", nil, rule(config.RouteMatch{QueryParams: hdrs("a=1", "b=2")})),
				route("b", nil, rule(config.RouteMatch{Headers: hdrs("x-a=1")})),
			},
			cases: []expect{{request{uri: "/?a=1&b=2", headers: []string{"x-a=1"}}, "default.b.0.0"}},
		},
		{
			name: "ties: config order, then rule order, then match order",
			routes: []config.Route{
				route("z", nil, rule(m(prefix("/v1")))),
				route("a", nil, rule(m(prefix("/v1")))),
				route("r", nil,
					config.RouteRule{Matches: []config.RouteMatch{m(prefix("/v2")), m(prefix("/v2"))}},
					rule(m(prefix("/v2")))),
			},
			cases: []expect{
				{request{uri: "/v1/a"}, "default.z.0.0"},
				{request{uri: "/v2/a"}, "default.r.0.0"},
			},
		},
		{
			name: "prefix matches on segment boundaries; trailing slash ignored",
			routes: []config.Route{
				route("a", nil, rule(m(prefix("/v1")))),
				route("b", nil, rule(m(prefix("/v2/")))),
			},
			cases: []expect{
				{request{uri: "/v1"}, "default.a.0.0"},
				{request{uri: "/v1/"}, "default.a.0.0"},
				{request{uri: "/v1/x"}, "default.a.0.0"},
				{request{uri: "/v1x"}, ""},
				{request{uri: "/v2"}, "default.b.0.0"},
				{request{uri: "/v2/y"}, "default.b.0.0"},
				{request{uri: "/v2y"}, ""},
				{request{uri: "/v"}, ""},
			},
		},
		{
			name:   "rule without matches is PathPrefix /",
			routes: []config.Route{route("a", nil, config.RouteRule{})},
			cases: []expect{
				{request{uri: "/anything/at/all"}, "default.a.0.0"},
			},
		},
		{
			name: "route hostnames: exact, longer wildcard, shorter wildcard, none; fallthrough",
			routes: []config.Route{
				route("none", nil, rule(m(prefix("/")))),
				route("wild", []string{"*.example.com"}, rule(m(prefix("/")))),
				route("wild2", []string{"*.b.example.com"}, rule(m(prefix("/")))),
				route("exact", []string{"API.example.com"}, rule(m(prefix("/v1")))),
			},
			cases: []expect{
				{request{host: "api.example.com", uri: "/v1/x"}, "default.exact.0.0"},
				{request{host: "API.Example.COM:8080", uri: "/v1"}, "default.exact.0.0"},
				{request{host: "api.example.com.", uri: "/v1"}, "default.exact.0.0"},
				{request{host: "api.example.com", uri: "/other"}, "default.wild.0.0"},
				{request{host: "x.example.com", uri: "/v1"}, "default.wild.0.0"},
				{request{host: "a.x.example.com", uri: "/v1"}, "default.wild.0.0"},
				{request{host: "x.b.example.com", uri: "/"}, "default.wild2.0.0"},
				{request{host: "b.example.com", uri: "/"}, "default.wild.0.0"},
				{request{host: "example.com", uri: "/"}, "default.none.0.0"},
				{request{host: "other.org", uri: "/"}, "default.none.0.0"},
				{request{host: "[::1]:8080", uri: "/"}, "default.none.0.0"},
			},
		},
		{
			name: "listener chosen by host: exact, longest wildcard, no hostname",
			ls: []lis{
				{name: "any", port: 8080},
				{name: "wild", port: 8080, host: "*.example.com"},
				{name: "deep", port: 8080, host: "*.eu.example.com"},
				{name: "api", port: 8080, host: "api.example.com"},
				{name: "other", port: 9090, host: "api.example.com"},
			},
			routes: []config.Route{
				{Name: "r-any", Listeners: []string{"any"}, Rules: []config.RouteRule{{}}},
				{Name: "r-wild", Listeners: []string{"wild"}, Rules: []config.RouteRule{{}}},
				{Name: "r-deep", Listeners: []string{"deep"}, Rules: []config.RouteRule{{}}},
				{Name: "r-api", Listeners: []string{"api"}, Rules: []config.RouteRule{rule(m(prefix("/v1")))}},
				// hostnames outside the listener's: never attached
				{Name: "r-off", Listeners: []string{"wild"}, Hostnames: []string{"x.other.org"}, Rules: []config.RouteRule{rule(m(exact("/off")))}},
				// a wildcard route narrowed by an exact listener
				{Name: "r-9090", Listeners: []string{"other"}, Hostnames: []string{"*.example.com"}, Rules: []config.RouteRule{{}}},
			},
			cases: []expect{
				{request{host: "api.example.com", uri: "/v1"}, "default.r-api.0.0"},
				{request{host: "api.example.com", uri: "/v2"}, ""}, // no fallthrough across listeners
				{request{host: "www.example.com", uri: "/"}, "default.r-wild.0.0"},
				{request{host: "x.eu.example.com", uri: "/"}, "default.r-deep.0.0"},
				{request{host: "example.com", uri: "/"}, "default.r-any.0.0"},
				{request{host: "x.other.org", uri: "/off"}, "default.r-any.0.0"},
				{request{port: 9090, host: "api.example.com", uri: "/"}, "default.r-9090.0.0"},
				{request{port: 9090, host: "www.example.com", uri: "/"}, ""},
				{request{port: 7070, host: "api.example.com", uri: "/"}, ""},
			},
		},
		{
			name: "route with empty listeners attaches to every HTTP listener",
			ls:   []lis{{name: "a", port: 8080}, {name: "b", port: 8081}},
			routes: []config.Route{
				{Name: "all", Rules: []config.RouteRule{{}}},
			},
			cases: []expect{
				{request{port: 8080, uri: "/"}, "default.all.0.0"},
				{request{port: 8081, uri: "/"}, "default.all.0.0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := tt.ls
			if ls == nil {
				ls = web
			}
			tb := compile(t, snapOf(t, ls, tt.routes))
			for _, c := range tt.cases {
				got, _ := lookup(t, tb, c.req)
				if got != c.want {
					t.Errorf("%s %s%s %v: got %q, want %q", c.req.method, c.req.host, c.req.uri, c.req.headers, got, c.want)
				}
			}
		})
	}
}

func TestLookupMatchFields(t *testing.T) {
	ls := []lis{{name: "web", port: 8080}, {name: "tls", port: 8443, host: "*.example.com"}}
	r := config.Route{
		Name:      "team/api",
		Listeners: []string{"web", "tls"},
		Rules: []config.RouteRule{
			{Matches: []config.RouteMatch{{Path: exact("/x")}, {Path: prefix("/v1/")}}},
			{Matches: []config.RouteMatch{{Path: regex("/r.*")}}},
		},
	}
	tb := compile(t, snapOf(t, ls, []config.Route{r}))
	tests := []struct {
		name      string
		req       request
		key       string
		rule      string
		pathType  string
		prefixLen int
		listener  string
		port      int
	}{
		{"exact", request{uri: "/x"}, "team.api.0.0", "team.api.0", config.PathExact, 0, listenerKey("web"), 8080},
		{"prefix", request{uri: "/v1/chat"}, "team.api.0.1", "team.api.0", config.PathPrefix, 3, listenerKey("web"), 8080},
		{"regex", request{uri: "/rr"}, "team.api.1.0", "team.api.1", config.PathRegularExpression, 0, listenerKey("web"), 8080},
		{"other listener", request{port: 8443, host: "a.example.com", uri: "/v1"}, "team.api.0.1", "team.api.0", config.PathPrefix, 3, listenerKey("tls"), 8443},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, m := lookup(t, tb, tt.req)
			if m == nil {
				t.Fatalf("no match")
			}
			if key != tt.key || m.Rule.Key != tt.rule || m.PathType != tt.pathType || m.PrefixLen != tt.prefixLen ||
				m.ListenerKey != tt.listener || m.Port != tt.port || m.Rule.Route != "team/api" {
				t.Errorf("got %+v (rule %s route %s)", *m, m.Rule.Key, m.Rule.Route)
			}
		})
	}
}

func TestLookupNilSafety(t *testing.T) {
	var tb *Table
	if m := tb.Lookup(8080, []byte("h"), []byte("GET"), []byte("/"), nil); m != nil {
		t.Fatalf("nil table matched")
	}
	tb = compile(t, snapOf(t, web, []config.Route{route("h", nil, rule(config.RouteMatch{Headers: hdrs("x=1")})), route("p", nil, rule(config.RouteMatch{Path: prefix("/p")}))}))
	if m := tb.Lookup(8080, nil, []byte("GET"), []byte("/"), nil); m != nil {
		t.Fatalf("header rule matched without a request")
	}
	if m := tb.Lookup(8080, nil, []byte("GET"), []byte("/p"), nil); m == nil {
		t.Fatalf("path rule did not match without a request")
	}
}
