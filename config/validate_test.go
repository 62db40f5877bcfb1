package config

import (
	"strings"
	"testing"
)

// Shared tails appended to error cases that need a valid listener and backend.
const (
	okListener = "listeners:\n  - {name: web, port: 8080}\n"
	okBackend  = "backends:\n  - name: app\n    static: {endpoints: [{host: 127.0.0.1, port: 9000}]}\n"
)

func TestLoadErrors(t *testing.T) {
	certs := testCerts(t)
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // every problem, in order, as Errors.Error lines
	}{
		{
			name: "unknown top-level field",
			yaml: "listner: []\n",
			want: []string{`t.yaml:1: unknown field "listner"`},
		},
		{
			name: "unknown field in route and in backend, all reported",
			yaml: okListener + "routes:\n  - name: r\n    foo: 1\n    rules: [{backendRefs: [{name: app}]}]\n" +
				"backends:\n  - name: app\n    static: {endpoints: [{host: h, port: 1, wieght: 2}]}\n",
			want: []string{
				`t.yaml:5: routes[0]: unknown field "foo"`,
				`t.yaml:9: backends[0].static.endpoints[0]: unknown field "wieght"`,
			},
		},
		{
			name: "wrong type",
			yaml: "listeners:\n  - name: web\n    port: eighty\n",
			want: []string{`t.yaml:3: listeners[0].port: expected an integer, got "eighty"`},
		},
		{
			name: "wrong type list for mapping",
			yaml: "listeners:\n  name: web\n",
			want: []string{`t.yaml:2: listeners: expected a list, got a mapping`},
		},
		{
			name: "bad duration and bad type reported together",
			yaml: "server:\n  readTimeout: soon\n  idleTimeout: 5\n  maxBodyBytes: lots\n",
			want: []string{
				`t.yaml:2: server.readTimeout: invalid duration "soon" (use a form like 500ms, 30s, 1h)`,
				`t.yaml:3: server.idleTimeout: invalid duration "5" (use a form like 500ms, 30s, 1h)`,
				`t.yaml:4: server.maxBodyBytes: expected an integer, got "lots"`,
			},
		},
		{
			name: "negative duration",
			yaml: "server:\n  drainTimeout: -5s\n",
			want: []string{`t.yaml:2: server.drainTimeout: duration "-5s" must not be negative`},
		},
		{
			name: "negative stream write timeout",
			yaml: "server:\n  streamWriteTimeout: -1s\n",
			want: []string{`t.yaml:2: server.streamWriteTimeout: duration "-1s" must not be negative`},
		},
		{
			name: "duplicate key",
			yaml: "listeners:\n  - name: web\n    port: 80\n    port: 81\n",
			want: []string{`t.yaml:4: listeners[0]: duplicate key "port" (first at line 3)`},
		},
		{
			name: "yaml syntax",
			yaml: "server:\n  maxBodyBytes: 1\nlisteners:\n\t- name: x\n",
			want: []string{`t.yaml:4: invalid YAML: found character that cannot start any token`},
		},
		{
			name: "yaml syntax mapping in scalar",
			yaml: "server:\n  maxBodyBytes: 1\n  readTimeout: a: b\n",
			want: []string{`t.yaml:3: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "two documents",
			yaml: okListener + "---\n" + okListener,
			want: []string{`t.yaml:3: only one YAML document is supported (found a "---" separator)`},
		},
		{
			name: "empty file",
			yaml: "# nothing here\n",
			want: []string{`t.yaml: configuration is empty`},
		},
		{
			name: "listener name required and port range",
			yaml: "listeners:\n  - port: 0\n  - name: b\n    port: 70000\n",
			want: []string{
				`t.yaml:2: listeners[0].name: listener name is required`,
				`t.yaml:2: listeners[0].port: port 0 must be between 1 and 65535`,
				`t.yaml:4: listeners[1].port: port 70000 must be between 1 and 65535`,
			},
		},
		{
			name: "duplicate listener in one gateway, same name in another gateway is fine",
			yaml: "listeners:\n  - {name: web, port: 8080}\n  - {name: web, port: 8081}\n  - {name: web, gateway: other, port: 8082}\n",
			want: []string{`t.yaml:3: listeners[1].name: duplicate listener name "web" in gateway default/switchyard (also listeners[0])`},
		},
		{
			name: "tcp listener takes no tls",
			yaml: "listeners:\n  - name: raw\n    port: 5432\n    protocol: TCP\n    tls: {mode: Passthrough}\n",
			want: []string{`t.yaml:5: listeners[0].tls: tls is only allowed on HTTPS and TLS listeners`},
		},
		{
			name: "tls listener needs a mode",
			yaml: "listeners:\n  - {name: sni, port: 443, protocol: TLS}\n",
			want: []string{`t.yaml:2: listeners[0].tls: TLS listener needs tls.mode (Passthrough, or Terminate with certificates)`},
		},
		{
			name: "unknown protocol",
			yaml: "listeners:\n  - {name: web, port: 80, protocol: http}\n",
			want: []string{`t.yaml:2: listeners[0].protocol: unknown protocol "http" (use HTTP, HTTPS, TCP or TLS)`},
		},
		{
			name: "https needs certificates",
			yaml: "listeners:\n  - name: secure\n    port: 8443\n    protocol: HTTPS\n",
			want: []string{`t.yaml:2: listeners[0]: HTTPS listener needs tls.certificates`},
		},
		{
			name: "https cert missing fields and files",
			yaml: "listeners:\n  - name: secure\n    port: 8443\n    protocol: HTTPS\n    tls:\n      certificates:\n" +
				"        - {keyFile: ${KEY}}\n        - certFile: ${MISSING}\n          keyFile: ${KEY}\n",
			env: certs,
			want: []string{
				`t.yaml:7: listeners[0].tls.certificates[0].certFile: certFile is required`,
				`t.yaml:8: listeners[0].tls.certificates[1].certFile: certFile "` + certs["MISSING"] + `" does not exist`,
			},
		},
		{
			name: "https key does not match certificate",
			yaml: "listeners:\n  - name: secure\n    port: 8443\n    protocol: HTTPS\n    tls:\n      certificates:\n" +
				"        - certFile: ${CERT}\n          keyFile: ${OTHERKEY}\n",
			env: certs,
			want: []string{
				`t.yaml:7: listeners[0].tls.certificates[0]: certFile "` + certs["CERT"] + `" and keyFile "` + certs["OTHERKEY"] +
					`" are not a valid key pair: tls: private key does not match public key`,
			},
		},
		{
			name: "key file is not a key",
			yaml: "listeners:\n  - name: secure\n    port: 8443\n    protocol: HTTPS\n    tls:\n      certificates:\n" +
				"        - certFile: ${CERT}\n          keyFile: ${CERT}\n",
			env: certs,
			want: []string{
				`t.yaml:7: listeners[0].tls.certificates[0]: certFile "` + certs["CERT"] + `" and keyFile "` + certs["CERT"] +
					`" are not a valid key pair: tls: found a certificate rather than a key in the PEM for the private key`,
			},
		},
		{
			name: "port shared by HTTP and HTTPS",
			yaml: "listeners:\n  - {name: a, port: 8080}\n  - name: b\n    port: 8080\n    protocol: HTTPS\n    tls: {certificates: [{certFile: ${CERT}, keyFile: ${KEY}}]}\n",
			env:  certs,
			want: []string{`t.yaml:5: listeners[1].protocol: port 8080 is already used by listeners[0] ("a") with protocol HTTP; listeners on one port must share a protocol`},
		},
		{
			name: "tls on an HTTP listener",
			yaml: "listeners:\n  - name: a\n    port: 8080\n    tls: {certificates: []}\n",
			want: []string{`t.yaml:4: listeners[0].tls: tls is only allowed on HTTPS and TLS listeners`},
		},
		{
			name: "backend caFile missing or not PEM",
			yaml: "backends:\n  - name: a\n    static:\n      endpoints: [{host: h, port: 443}]\n      tls: {caFile: ${MISSING}}\n" +
				"  - name: b\n    static:\n      endpoints: [{host: h, port: 443}]\n      tls: {caFile: ${KEY}}\n",
			env: certs,
			want: []string{
				`t.yaml:5: backends[0].static.tls.caFile: caFile "` + certs["MISSING"] + `" does not exist`,
				`t.yaml:9: backends[1].static.tls.caFile: caFile "` + certs["KEY"] + `" holds no PEM certificate`,
			},
		},
		{
			name: "backendRef weight and priority bounds",
			yaml: "routes:\n  - name: r\n    rules:\n      - backendRefs:\n          - {name: a, weight: 1000001, priority: -1}\n" +
				"backends:\n  - name: a\n    ai: {provider: sim}\n",
			want: []string{
				`t.yaml:5: routes[0].rules[0].backendRefs[0].weight: weight must be between 0 and 1000000`,
				`t.yaml:5: routes[0].rules[0].backendRefs[0].priority: priority must be between 0 and 1000000`,
			},
		},
		{
			name: "ai backend tls where it does not apply",
			yaml: "backends:\n  - name: a\n    ai: {provider: sim, tls: {caFile: ${KEY}}}\n" +
				"  - name: b\n    ai:\n      provider: openai-compatible\n      baseURL: http://vllm:8000\n      tls: {serverName: vllm}\n",
			env: certs,
			want: []string{
				`t.yaml:3: backends[0].ai.tls: tls does not apply to provider sim`,
				`t.yaml:8: backends[1].ai.tls: tls applies to an https baseURL, not "http://vllm:8000"`,
			},
		},
		{
			name: "ai backend health check",
			yaml: "backends:\n  - name: a\n    ai: {provider: openai, healthCheck: {path: /v1/models}}\n" +
				"  - name: b\n    ai: {provider: sim, healthCheck: {}}\n" +
				"  - name: c\n    ai: {provider: openai-compatible, baseURL: \"http://vllm:8000\", healthCheck: {path: health}}\n",
			want: []string{
				`t.yaml:3: backends[0].ai.healthCheck: healthCheck needs baseURL: it probes baseURL+path`,
				`t.yaml:5: backends[1].ai.healthCheck: healthCheck does not apply to provider sim`,
				`t.yaml:7: backends[2].ai.healthCheck.path: health check path "health" must begin with "/"`,
			},
		},
		{
			name: "ai backend caFile missing or not PEM",
			yaml: "backends:\n  - name: a\n    ai:\n      provider: openai-compatible\n      baseURL: https://vllm.internal:8443\n" +
				"      tls: {caFile: ${MISSING}}\n  - name: b\n    ai: {provider: openai-compatible, baseURL: \"https://h\", tls: {caFile: ${KEY}}}\n",
			env: certs,
			want: []string{
				`t.yaml:6: backends[0].ai.tls.caFile: caFile "` + certs["MISSING"] + `" does not exist`,
				`t.yaml:8: backends[1].ai.tls.caFile: caFile "` + certs["KEY"] + `" holds no PEM certificate`,
			},
		},
		{
			name: "backend kinds",
			yaml: "backends:\n  - name: none\n  - name: both\n    static: {endpoints: [{host: h, port: 1}]}\n    ai: {provider: sim}\n",
			want: []string{
				`t.yaml:2: backends[0]: backend must set exactly one of static, ai, inferencePool, mcp or a2a`,
				`t.yaml:3: backends[1]: backend must set exactly one of static, ai, inferencePool, mcp or a2a, not several`,
			},
		},
		{
			name: "duplicate backend names after namespacing",
			yaml: "backends:\n  - {name: app, ai: {provider: sim}}\n  - {name: default/app, ai: {provider: sim}}\n",
			want: []string{`t.yaml:3: backends[1].name: duplicate backend name "default/app" (also backends[0])`},
		},
		{
			name: "static endpoints",
			yaml: "backends:\n  - name: a\n    static:\n      endpoints:\n        - {port: 80}\n        - {host: h}\n  - name: b\n    static: {endpoints: []}\n",
			want: []string{
				`t.yaml:5: backends[0].static.endpoints[0].host: endpoint host is required`,
				`t.yaml:6: backends[0].static.endpoints[1].port: endpoint port 0 must be between 1 and 65535`,
				`t.yaml:8: backends[1].static.endpoints: static backend needs at least one endpoint`,
			},
		},
		{
			name: "load balancer type and percent",
			yaml: "backends:\n  - name: a\n    static:\n      endpoints: [{host: h, port: 1}]\n      loadBalancer: {type: Fastest}\n" +
				"      outlierDetection:\n        maxEjectionPercent: 150\n",
			want: []string{
				`t.yaml:5: backends[0].static.loadBalancer.type: unknown load balancer type "Fastest" (use RoundRobin, Random or LeastRequest)`,
				`t.yaml:7: backends[0].static.outlierDetection.maxEjectionPercent: percent 150 must be between 0 and 100`,
			},
		},
		{
			name: "unknown provider and bad baseURL",
			yaml: "backends:\n  - name: a\n    ai: {provider: openia}\n  - name: b\n    ai:\n      provider: openai\n      baseURL: ftp://x\n" +
				"  - name: c\n    ai:\n      provider: openai-compatible\n      baseURL: localhost:8000\n",
			want: []string{
				`t.yaml:3: backends[0].ai.provider: unknown provider "openia" (use one of openai, azure, openai-compatible, sim, bedrock, vertex, gemini, anthropic)`,
				`t.yaml:7: backends[1].ai.baseURL: baseURL "ftp://x" must start with http:// or https://`,
				`t.yaml:11: backends[2].ai.baseURL: baseURL "localhost:8000" must start with http:// or https://`,
			},
		},
		{
			name: "provider requirements",
			yaml: "backends:\n  - name: az\n    ai: {provider: azure}\n  - name: br\n    ai: {provider: bedrock}\n  - name: vx\n    ai:\n      provider: vertex\n",
			want: []string{
				`t.yaml:3: backends[0].ai.baseURL: provider azure needs baseURL (https://<resource>.openai.azure.com)`,
				`t.yaml:5: backends[1].ai.region: provider bedrock needs region`,
				`t.yaml:7: backends[2].ai.project: provider vertex needs project`,
				`t.yaml:7: backends[2].ai.region: provider vertex needs region (the location, e.g. us-central1)`,
			},
		},
		{
			name: "at most one auth mode",
			yaml: "backends:\n  - name: br\n    ai:\n      provider: bedrock\n      region: us-east-1\n      auth:\n        apiKey: k\n        aws: {}\n",
			want: []string{`t.yaml:6: backends[0].ai.auth: at most one auth mode may be set, found apiKey, aws`},
		},
		{
			name: "sim settings",
			yaml: "backends:\n  - name: s\n    ai:\n      provider: sim\n      sim: {mode: poetry, maxRunning: -1}\n",
			want: []string{
				`t.yaml:5: backends[0].ai.sim.maxRunning: must not be negative`,
				`t.yaml:5: backends[0].ai.sim.mode: unknown sim mode "poetry" (use lorem or echo)`,
			},
		},
		{
			name: "route name unique and rules required",
			yaml: okListener + "routes:\n  - name: r\n    rules: [{backendRefs: [{name: app}]}]\n  - name: default/r\n" + okBackend,
			want: []string{
				`t.yaml:6: routes[1].name: duplicate route name "default/r" (also routes[0])`,
				`t.yaml:6: routes[1].rules: route needs at least one rule`,
			},
		},
		{
			name: "path match values",
			yaml: okListener + "routes:\n  - name: r\n    rules:\n      - matches:\n          - path: {value: v1}\n          - path: {type: RegularExpression, value: \"/v1/(\"}\n" +
				"          - path: {type: Glob, value: /x}\n        backendRefs: [{name: app}]\n" + okBackend,
			want: []string{
				`t.yaml:7: routes[0].rules[0].matches[0].path.value: path "v1" must begin with "/"`,
				"t.yaml:8: routes[0].rules[0].matches[1].path.value: invalid regular expression: error parsing regexp: missing closing ): `/v1/(`",
				`t.yaml:9: routes[0].rules[0].matches[2].path.type: unknown path match type "Glob" (use Exact, PathPrefix or RegularExpression)`,
			},
		},
		{
			name: "header names and method",
			yaml: okListener + "routes:\n  - name: r\n    rules:\n      - matches:\n          - headers:\n              - {name: \"x team\", value: a}\n" +
				"              - {name: x-re, type: RegularExpression, value: \"[\"}\n            method: FETCH\n        backendRefs: [{name: app}]\n" + okBackend,
			want: []string{
				`t.yaml:8: routes[0].rules[0].matches[0].headers[0].name: invalid header name "x team"`,
				"t.yaml:9: routes[0].rules[0].matches[0].headers[1].value: invalid regular expression: error parsing regexp: missing closing ]: `[`",
				`t.yaml:10: routes[0].rules[0].matches[0].method: unknown method "FETCH" (use GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH)`,
			},
		},
		{
			name: "filters",
			yaml: okListener + "routes:\n  - name: r\n    rules:\n      - filters:\n          - type: Rewrite\n          - type: URLRewrite\n" +
				"          - type: RequestRedirect\n            requestRedirect: {statusCode: 304}\n            urlRewrite: {hostname: x}\n" +
				"          - type: RequestHeaderModifier\n            requestHeaderModifier: {remove: [\"bad header\"]}\n" +
				"          - type: RequestMirror\n            requestMirror: {backendRef: {name: app}, percent: 101}\n        backendRefs: [{name: app}]\n" + okBackend,
			want: []string{
				`t.yaml:7: routes[0].rules[0].filters[0].type: unknown filter type "Rewrite" (use RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite or RequestMirror)`,
				`t.yaml:8: routes[0].rules[0].filters[1]: filter of type URLRewrite needs urlRewrite`,
				`t.yaml:10: routes[0].rules[0].filters[2].requestRedirect.statusCode: redirect statusCode 304 must be 301, 302, 303, 307 or 308`,
				`t.yaml:11: routes[0].rules[0].filters[2].urlRewrite: filter of type RequestRedirect must not set urlRewrite`,
				`t.yaml:13: routes[0].rules[0].filters[3].requestHeaderModifier.remove[0]: invalid header name "bad header"`,
				`t.yaml:15: routes[0].rules[0].filters[4].requestMirror.percent: percent 101 must be between 0 and 100`,
			},
		},
		{
			name: "path modifier",
			yaml: okListener + "routes:\n  - name: r\n    rules:\n      - filters:\n          - type: URLRewrite\n            urlRewrite:\n              path: {type: ReplacePrefixMatch, replacePrefixMatch: api}\n" +
				"        backendRefs: [{name: app}]\n" + okBackend,
			want: []string{`t.yaml:9: routes[0].rules[0].filters[0].urlRewrite.path.replacePrefixMatch: path "api" must begin with "/"`},
		},
		{
			name: "retry attempts and codes",
			yaml: okListener + "routes:\n  - name: r\n    rules:\n      - backendRefs: [{name: app}]\n        retry:\n          attempts: 11\n          codes: [502, 700]\n" + okBackend,
			want: []string{
				`t.yaml:8: routes[0].rules[0].retry.attempts: retry attempts 11 must be between 0 and 10`,
				`t.yaml:9: routes[0].rules[0].retry.codes[1]: status code 700 must be between 100 and 599`,
			},
		},
		{
			name: "fatal errors also list route problems",
			yaml: "listeners:\n  - {name: web, port: 0}\nroutes:\n  - name: r\n    rules: [{backendRefs: [{name: missing}]}]\n",
			want: []string{
				`t.yaml:2: listeners[0].port: port 0 must be between 1 and 65535`,
				`t.yaml:5: routes[0].rules[0].backendRefs[0]: unknown backend "default/missing"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := LoadBytes("t.yaml", []byte(tt.yaml), envOf(tt.env))
			if err == nil {
				t.Fatalf("loaded without error; want %q (problems: %v)", tt.want, snap.Problems)
			}
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			if got := strings.Split(errs.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
