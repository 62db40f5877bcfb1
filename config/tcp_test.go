package config

import (
	"strings"
	"testing"
)

// TestL4AndGRPCErrors checks that every new field of TCP, TLS and gRPC
// routes reports file:line and the field, fatal or as a route problem.
func TestL4AndGRPCErrors(t *testing.T) {
	const listeners = "listeners:\n  - {name: raw, port: 5432, protocol: TCP}\n  - {name: sni, port: 8443, protocol: TLS, tls: {mode: Passthrough}}\n  - {name: web, port: 8080}\n"
	const backends = "backends:\n  - {name: db, static: {endpoints: ['127.0.0.1:5433']}}\n"
	tests := []struct {
		name  string
		yaml  string
		fatal bool
		want  []string
	}{{
		name:  "tcp route rules and proxy protocol",
		yaml:  listeners + "tcpRoutes:\n  - name: pg\n    rules:\n      - backendRefs: [{name: db}]\n        proxyProtocol: v3\n        timeouts: {idle: -1s}\n" + backends,
		fatal: true,
		want: []string{
			`t.yaml:10: tcpRoutes[0].rules[0].timeouts.idle: duration "-1s" must not be negative`,
		},
	}, {
		name:  "proxy protocol version",
		yaml:  listeners + "tcpRoutes:\n  - name: pg\n    rules:\n      - backendRefs: [{name: db}]\n        proxyProtocol: v3\n" + backends,
		fatal: true,
		want:  []string{`t.yaml:9: tcpRoutes[0].rules[0].proxyProtocol: unknown PROXY protocol version "v3" (use v1 or v2)`},
	}, {
		name:  "two rules",
		yaml:  listeners + "tcpRoutes:\n  - name: pg\n    rules:\n      - backendRefs: [{name: db}]\n      - backendRefs: [{name: db}]\n" + backends,
		fatal: true,
		want:  []string{`t.yaml:7: tcpRoutes[0].rules: a TCP or TLS route has exactly one rule, found 2`},
	}, {
		name:  "tls route needs hostnames",
		yaml:  listeners + "tlsRoutes:\n  - name: sni\n    rules: [{backendRefs: [{name: db}]}]\n" + backends,
		fatal: true,
		want:  []string{`t.yaml:6: tlsRoutes[0].hostnames: a TLSRoute needs at least one hostname (the SNI it serves)`},
	}, {
		name: "tcp route on an http listener, unknown backend",
		yaml: listeners + "tcpRoutes:\n  - name: pg\n    listeners: [web]\n    rules: [{backendRefs: [{name: nope}]}]\n" + backends,
		want: []string{
			`t.yaml:7: tcpRoutes[0].listeners[0]: listener "web" has protocol HTTP; this route attaches to TCP listeners`,
			`t.yaml:8: tcpRoutes[0].rules[0].backendRefs[0]: unknown backend "default/nope"`,
		},
	}, {
		name: "second tcp route on one listener",
		yaml: listeners + "tcpRoutes:\n  - name: a\n    rules: [{backendRefs: [{name: db}]}]\n  - name: b\n    rules: [{backendRefs: [{name: db}]}]\n" + backends,
		want: []string{`t.yaml:8: tcpRoutes[1].listeners: listener default/switchyard.raw already serves TCPRoute default/a; a TCP listener serves one TCPRoute`},
	}, {
		name: "same sni twice",
		yaml: listeners + "tlsRoutes:\n  - name: a\n    hostnames: [a.example.com]\n    rules: [{backendRefs: [{name: db}]}]\n  - name: b\n    hostnames: [A.example.com]\n    rules: [{backendRefs: [{name: db}]}]\n" + backends,
		want: []string{`t.yaml:10: tlsRoutes[1].hostnames[0]: hostname A.example.com on listener default/switchyard.sni is already served by TLSRoute default/a`},
	}, {
		name:  "bad endpoint string",
		yaml:  listeners + "backends:\n  - {name: db, static: {endpoints: ['nohost']}}\n",
		fatal: true,
		want:  []string{`t.yaml:6: backends[0].static.endpoints[0]: endpoint "nohost" must be host:port or a mapping {host, port, weight}`},
	}, {
		name:  "grpc match, filter and retry codes",
		yaml:  listeners + "grpcRoutes:\n  - name: g\n    rules:\n      - matches: [{method: {type: RegularExpression, service: 'a(('}}]\n        filters: [{type: URLRewrite, urlRewrite: {hostname: x}}]\n        retry: {attempts: 2, codes: [UNAVAILABLE, NOPE]}\n        backendRefs: [{name: db}]\n" + backends,
		fatal: true,
		want: []string{
			`t.yaml:6: grpcRoutes[0]: no listener speaks HTTP/2: a GRPCRoute needs an HTTPS listener or an HTTP listener with h2c: true`,
			"t.yaml:8: grpcRoutes[0].rules[0].matches[0].method.service: invalid regular expression \"a((\": error parsing regexp: missing closing ): `a((`",
			`t.yaml:9: grpcRoutes[0].rules[0].filters[0].type: filter type "URLRewrite" is not supported on a GRPCRoute (use RequestHeaderModifier or ResponseHeaderModifier)`,
			`t.yaml:10: grpcRoutes[0].rules[0].retry.codes[1]: unknown gRPC status "NOPE" (use a name such as UNAVAILABLE or RESOURCE_EXHAUSTED)`,
		},
	}, {
		name: "grpc route on an http listener without h2c",
		yaml: listeners + "grpcRoutes:\n  - name: g\n    listeners: [web]\n    rules: [{backendRefs: [{name: db}]}]\n" + backends,
		want: []string{`t.yaml:7: grpcRoutes[0].listeners[0]: listener "web" does not accept HTTP/2: set h2c: true on it`},
	}, {
		name:  "h2c on a tcp listener",
		yaml:  "listeners:\n  - {name: raw, port: 5432, protocol: TCP, h2c: true}\n",
		fatal: true,
		want:  []string{`t.yaml:2: listeners[0].h2c: h2c applies to HTTP listeners (HTTPS listeners offer h2 by ALPN)`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := LoadBytes("t.yaml", []byte(tt.yaml), envOf(nil))
			var got Errors
			switch {
			case tt.fatal && err == nil:
				t.Fatalf("loaded without error; want %q", tt.want)
			case tt.fatal:
				got = err.(Errors)
			case err != nil:
				t.Fatalf("load: %v", err)
			default:
				got = snap.Problems
			}
			if g := strings.Split(got.Error(), "\n"); strings.Join(g, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(g, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestL4RoutesResolve checks keys, listeners and defaults of a good file.
func TestL4RoutesResolve(t *testing.T) {
	y := "listeners:\n  - {name: raw, port: 5432, protocol: TCP}\n  - {name: g, port: 8080, h2c: true}\n" +
		"tcpRoutes:\n  - name: pg\n    rules: [{backendRefs: [{name: db}], proxyProtocol: v2}]\n" +
		"grpcRoutes:\n  - name: ns/g\n    rules: [{matches: [{method: {service: a.B}}, {method: {method: M}}], backendRefs: [{name: db}]}]\n" +
		"backends:\n  - {name: db, static: {endpoints: ['127.0.0.1:5433', {host: '::1', port: 5434, weight: 3}]}}\n  - {name: ns/db, static: {endpoints: ['[::1]:1']}}\n"
	snap, err := LoadBytes("t.yaml", []byte(y), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Problems) > 0 {
		t.Fatal(snap.Problems)
	}
	tcp := snap.TCPRoutes[0]
	if tcp.Key != "default/pg" || tcp.RuleKeys[0] != "default.pg.0.0" || tcp.Listeners[0] != "default/switchyard.raw" {
		t.Errorf("tcp route status = %+v", tcp)
	}
	if to := snap.Config.TCPRoutes[0].Rules[0].Timeouts; to.Idle != DefaultL4Idle {
		t.Errorf("idle default = %v", to.Idle.D())
	}
	g := snap.GRPCRoutes[0]
	if g.Key != "ns/g" || strings.Join(g.RuleKeys, ",") != "ns.g.0.0,ns.g.0.1" || g.Listeners[0] != "default/switchyard.g" {
		t.Errorf("grpc route status = %+v", g)
	}
	eps := snap.Backends["default/db"].Static.Endpoints
	if eps[0].Host != "127.0.0.1" || eps[0].Port != 5433 || eps[0].Weight != 1 || eps[1].Host != "::1" || eps[1].Weight != 3 {
		t.Errorf("endpoints = %+v", eps)
	}
}
