package route

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// lis is a listener for test snapshots: name, port, hostname.
type lis struct {
	name string
	port int
	host string
}

// web is the default test listener: port 8080, no hostname.
var web = []lis{{name: "web", port: 8080}}

func listenerKey(name string) string { return "default/switchyard." + name }

// snapOf builds a snapshot by hand the way config compiles one. Backend names
// starting with "ai:" become AI backends; route names are qualified with "default/".
func snapOf(t testing.TB, ls []lis, routes []config.Route, backends ...string) *config.Snapshot {
	t.Helper()
	s := &config.Snapshot{Config: &config.Config{}, Backends: map[string]*config.Backend{}}
	for _, l := range ls {
		cl := &config.Listener{Name: l.name, Namespace: "default", Gateway: "switchyard", Port: l.port, Protocol: config.ProtocolHTTP, Hostname: l.host}
		s.Listeners = append(s.Listeners, config.ListenerInfo{Key: listenerKey(l.name), Listener: cl})
	}
	for _, b := range backends {
		name, isAI := strings.CutPrefix(b, "ai:")
		be := &config.Backend{Name: "default/" + name}
		if isAI {
			be.AI = &config.AIBackend{Provider: config.ProviderSim}
		} else {
			be.Static = &config.StaticBackend{Endpoints: []config.Endpoint{{Host: "127.0.0.1", Port: 9000}}}
		}
		s.Backends[be.Name] = be
	}
	for i := range routes {
		r := routes[i]
		if !strings.Contains(r.Name, "/") {
			r.Name = "default/" + r.Name
		}
		info := config.RouteInfo{Key: r.Name, Route: &r}
		for _, l := range r.Listeners {
			info.Listeners = append(info.Listeners, listenerKey(l))
		}
		s.Routes = append(s.Routes, info)
	}
	return s
}

// compile builds a table or fails the test.
func compile(t testing.TB, s *config.Snapshot) *Table {
	t.Helper()
	tb, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return tb
}

// rule is a shorthand for a rule with one match.
func rule(m config.RouteMatch) config.RouteRule {
	return config.RouteRule{Matches: []config.RouteMatch{m}}
}

func prefix(v string) *config.PathMatch { return &config.PathMatch{Type: config.PathPrefix, Value: v} }
func exact(v string) *config.PathMatch  { return &config.PathMatch{Type: config.PathExact, Value: v} }
func regex(v string) *config.PathMatch {
	return &config.PathMatch{Type: config.PathRegularExpression, Value: v}
}

// hdrs turns "name=value" pairs into Exact value matches.
func hdrs(pairs ...string) []config.ValueMatch {
	var out []config.ValueMatch
	for _, p := range pairs {
		n, v, _ := strings.Cut(p, "=")
		out = append(out, config.ValueMatch{Name: n, Value: v})
	}
	return out
}

// route is a shorthand for a route with the given rules on listener "web".
func route(name string, hosts []string, rules ...config.RouteRule) config.Route {
	return config.Route{Name: name, Listeners: []string{"web"}, Hostnames: hosts, Rules: rules}
}

// request is one request for lookup tests.
type request struct {
	port    int
	method  string
	host    string
	uri     string // path?query
	headers []string
}

// lookup runs a request through the table and returns the match key ("" for none)
// and the match.
func lookup(t testing.TB, tb *Table, r request) (string, *Match) {
	t.Helper()
	var req fasthttp.Request
	if r.method == "" {
		r.method = "GET"
	}
	if r.port == 0 {
		r.port = 8080
	}
	if r.host == "" {
		r.host = "gw.local"
	}
	req.Header.SetMethod(r.method)
	req.Header.SetHost(r.host)
	req.SetRequestURI(r.uri)
	for _, h := range r.headers {
		n, v, _ := strings.Cut(h, "=")
		req.Header.Add(n, v)
	}
	raw, _, _ := strings.Cut(r.uri, "?")
	path, err := NormalizePath([]byte(raw))
	if err != nil {
		t.Fatalf("NormalizePath(%q): %v", raw, err)
	}
	m := tb.Lookup(r.port, []byte(r.host), []byte(r.method), path, &req)
	if m == nil {
		return "", nil
	}
	return m.Key, m
}
