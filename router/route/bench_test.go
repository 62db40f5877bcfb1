package route

import (
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// benchTable builds n routes: route i matches PathPrefix /svc<i>/v1 (POST) and
// Exact /svc<i>/health; every other route is restricted to a host; plus a
// regex rule in the generic list, tried after the segment-indexed rules.
func benchTable(b testing.TB, n int) *Table {
	b.Helper()
	routes := make([]config.Route, 0, n+1)
	for i := range n {
		r := config.Route{Name: fmt.Sprintf("r%d", i), Listeners: []string{"web"}, Rules: []config.RouteRule{
			{Matches: []config.RouteMatch{{Path: prefix(fmt.Sprintf("/svc%d/v1", i)), Method: "POST", Headers: hdrs("x-team=blue")}}},
			{Matches: []config.RouteMatch{{Path: exact(fmt.Sprintf("/svc%d/health", i))}}},
		}}
		if i%2 == 1 {
			r.Hostnames = []string{fmt.Sprintf("h%d.example.com", i%50)}
		}
		routes = append(routes, r)
	}
	routes = append(routes, config.Route{Name: "fallback", Listeners: []string{"web"}, Rules: []config.RouteRule{
		{Matches: []config.RouteMatch{{Path: regex("/models/[a-z0-9-]+")}}},
	}})
	return compile(b, snapOf(b, web, routes))
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			tb := benchTable(b, n)
			last := n - 1 // an odd index has a hostname when n > 1
			host := "gw.local"
			if last%2 == 1 {
				host = fmt.Sprintf("h%d.example.com", last%50)
			}
			var req fasthttp.Request
			req.Header.SetMethod("POST")
			req.Header.SetHost(host)
			req.Header.Set("x-team", "blue")
			req.SetRequestURI(fmt.Sprintf("/svc%d/v1/chat/completions", last))
			path := []byte(fmt.Sprintf("/svc%d/v1/chat/completions", last))
			hostB, method := []byte(host), []byte("POST")
			want := fmt.Sprintf("default.r%d.0.0", last)
			if m := tb.Lookup(8080, hostB, method, path, &req); m == nil || m.Key != want {
				b.Fatalf("lookup: %+v, want %s", m, want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if tb.Lookup(8080, hostB, method, path, &req) == nil {
					b.Fatal("no match")
				}
			}
		})
	}
}

func BenchmarkLookupFallback(b *testing.B) {
	tb := benchTable(b, 10000)
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/models/gpt-4o")
	path, host, method := []byte("/models/gpt-4o"), []byte("Other.Example.COM:8080"), []byte("GET")
	if m := tb.Lookup(8080, host, method, path, &req); m == nil || m.Key != "default.fallback.0.0" {
		b.Fatalf("lookup: %+v", m)
	}
	b.ReportAllocs()
	for b.Loop() {
		tb.Lookup(8080, host, method, path, &req)
	}
}

func BenchmarkNormalizePath(b *testing.B) {
	raw := []byte("/v1/./chat//completions/%7Euser/../x")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendNormalizedPath(buf[:0], raw); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tb := benchTable(t, 100)
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.Header.Set("x-team", "blue")
	req.SetRequestURI("/svc98/v1/x?a=1")
	path, host, method := []byte("/svc98/v1/x"), []byte("GW.local:8080"), []byte("POST")
	allocs := testing.AllocsPerRun(100, func() {
		if tb.Lookup(8080, host, method, path, &req) == nil {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Fatalf("Lookup allocates %.1f times per call", allocs)
	}
}
