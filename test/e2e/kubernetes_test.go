package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// k8sManifests are Gateway API resources in the shape of the Gateway API
// conformance cases (matching, filters, redirect, rewrite, weights, hostname
// intersection, invalid backend refs, ReferenceGrant). {{PORT}}, {{V1}} and
// {{V2}} are the listener port and the two echo upstreams' ports.
var k8sManifests = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: switchyard}
spec: {controllerName: switchyard.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: same-namespace, namespace: gateway-conformance-infra}
spec:
  gatewayClassName: switchyard
  listeners:
  - {name: http, port: {{PORT}}, protocol: HTTP, hostname: "*.example.com", allowedRoutes: {namespaces: {from: All}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: matching, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  hostnames: [foo.example.com]
  rules:
  - matches: [{path: {type: Exact, value: /exact}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /v2}}, {headers: [{name: version, value: two}]}]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /modify}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Header-Set, value: set-overwrites}], add: [{name: X-Header-Add, value: added}], remove: [X-Header-Remove]}
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /redirect}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: example.org, statusCode: 301}
  - matches: [{path: {type: PathPrefix, value: /prefix/one}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /one}}
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /weighted}}]
    backendRefs: [{name: infra-backend-v1, port: 8080, weight: 0}, {name: infra-backend-v2, port: 8080, weight: 1}]
  - matches: [{path: {type: PathPrefix, value: /missing}}]
    backendRefs: [{name: does-not-exist, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /granted}}]
    backendRefs: [{name: app-backend-v1, namespace: gateway-conformance-app-backend, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /not-granted}}]
    backendRefs: [{name: web-backend, namespace: gateway-conformance-web-backend, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: reference-grant, namespace: gateway-conformance-app-backend}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gateway-conformance-infra}]
  to: [{group: "", kind: Service}]
` + k8sService("infra-backend-v1", "gateway-conformance-infra", "{{V1}}") +
	k8sService("infra-backend-v2", "gateway-conformance-infra", "{{V2}}") +
	k8sService("app-backend-v1", "gateway-conformance-app-backend", "{{V2}}") +
	k8sService("web-backend", "gateway-conformance-web-backend", "{{V2}}")

// k8sService is a Service with an EndpointSlice whose one ready endpoint is
// 127.0.0.1:port.
func k8sService(name, ns, port string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: %[2]s}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-1, namespace: %[2]s, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: http, port: %[3]s}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
`, name, ns, port)
}

// translateManifests writes manifests into dir and runs `switchyard
// translate` on it: the configuration (stdout) and the problems (stderr).
func translateManifests(t *testing.T, dir, manifests string) (cfg, problems string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "manifests.yaml"), manifests)
	cmd := exec.Command(binary, "translate", "-f", dir, "--bind-address", "127.0.0.1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("translate: %v\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// TestKubernetesManifestsServed translates Gateway API manifests with
// `switchyard translate`, serves the result with the real binary and checks
// the answers the Gateway API conformance suite expects for those cases.
func TestKubernetesManifestsServed(t *testing.T) {
	v1, v2 := newEcho(t, "infra-backend-v1"), newEcho(t, "infra-backend-v2")
	_, p1 := v1.HostPort()
	_, p2 := v2.HostPort()
	dir := t.TempDir()
	manifests := strings.NewReplacer("{{V1}}", fmt.Sprint(p1), "{{V2}}", fmt.Sprint(p2)).Replace(k8sManifests)
	// The listener port is filled in by startGateway: translate keeps {{PORT}}
	// as a placeholder port first, then it is substituted in the output.
	cfg, problems := translateManifests(t, dir, strings.ReplaceAll(manifests, "{{PORT}}", "65000"))
	// Problems are reported on stderr: the missing Service and the ungranted reference.
	for _, want := range []string{"Service gateway-conformance-infra/does-not-exist not found", "no ReferenceGrant in gateway-conformance-web-backend"} {
		if !strings.Contains(problems, want) {
			t.Errorf("translate stderr lacks %q:\n%s", want, problems)
		}
	}
	if !strings.Contains(cfg, "port: 65000") {
		t.Fatalf("translated configuration has no listener on the placeholder port:\n%s", cfg)
	}
	// The translated configuration is a configuration file.
	cfgFile := filepath.Join(dir, "switchyard.yaml")
	writeFile(t, cfgFile, cfg)
	if out, err := exec.Command(binary, "validate", "-c", cfgFile).CombinedOutput(); err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	g := startGateway(t, strings.ReplaceAll(cfg, "port: 65000", "port: {{PORT}}"))

	type want struct {
		status   int
		upstream string
		path     string
		location string
	}
	cases := []struct {
		name    string
		host    string
		path    string
		headers map[string]string
		want    want
	}{
		{"exact path", "foo.example.com", "/exact", nil, want{200, "infra-backend-v1", "/exact", ""}},
		{"exact path is exact", "foo.example.com", "/exact/more", nil, want{200, "infra-backend-v1", "/exact/more", ""}},
		{"prefix", "foo.example.com", "/v2/x", nil, want{200, "infra-backend-v2", "/v2/x", ""}},
		{"header match", "foo.example.com", "/other", map[string]string{"version": "two"}, want{200, "infra-backend-v2", "/other", ""}},
		{"redirect", "foo.example.com", "/redirect/a", nil, want{301, "", "", "http://example.org:PORT/redirect/a"}},
		{"rewrite prefix", "foo.example.com", "/prefix/one/two", nil, want{200, "infra-backend-v1", "/one/two", ""}},
		{"weight 0 gets nothing", "foo.example.com", "/weighted", nil, want{200, "infra-backend-v2", "/weighted", ""}},
		{"missing backend answers 500", "foo.example.com", "/missing", nil, want{500, "", "", ""}},
		{"granted cross-namespace", "foo.example.com", "/granted", nil, want{200, "infra-backend-v2", "/granted", ""}},
		{"ungranted cross-namespace answers 500", "foo.example.com", "/not-granted", nil, want{500, "", "", ""}},
		{"hostname outside the route", "bar.example.com", "/exact", nil, want{404, "", "", ""}},
		{"hostname outside the listener", "foo.example.net", "/exact", nil, want{404, "", "", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := newRequest(t, http.MethodGet, g.URL(c.path), nil)
			req.Host = c.host
			for k, v := range c.headers {
				req.Header.Set(k, v)
			}
			resp, echo := do(t, req)
			if resp.StatusCode != c.want.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, c.want.status)
			}
			if c.want.upstream != "" && (echo == nil || echo.Upstream != c.want.upstream || echo.Path != c.want.path) {
				t.Fatalf("echo = %+v, want upstream %s path %s", echo, c.want.upstream, c.want.path)
			}
			if c.want.location != "" {
				if got, w := resp.Header.Get("Location"), strings.ReplaceAll(c.want.location, "PORT", fmt.Sprint(g.Port)); got != w {
					t.Fatalf("Location = %q, want %q", got, w)
				}
			}
		})
	}
	t.Run("request header modifier", func(t *testing.T) {
		req := newRequest(t, http.MethodGet, g.URL("/modify"), nil)
		req.Host = "foo.example.com"
		req.Header.Set("X-Header-Set", "original")
		req.Header.Set("X-Header-Remove", "gone")
		_, echo := do(t, req)
		if echo == nil {
			t.Fatal("no echo")
		}
		h := http.Header(echo.Header)
		if h.Get("X-Header-Set") != "set-overwrites" || h.Get("X-Header-Add") != "added" || h.Get("X-Header-Remove") != "" {
			t.Fatalf("headers = %v", echo.Header)
		}
	})
	_ = os.Remove(cfgFile)
}

// TestHTTPSCertificateFromPEM serves HTTPS from certificates given as PEM in
// the configuration (as the Kubernetes controller delivers Secrets, in
// memory), chosen by SNI.
func TestHTTPSCertificateFromPEM(t *testing.T) {
	dir := t.TempDir()
	apiCert, apiKey := writeCert(t, dir, "api.example.com", "4004")
	otherCert, otherKey := writeCert(t, dir, "other.example.com", "5005")
	indent := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n          ")
	}
	api := newEcho(t, "api")
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: https
    address: 127.0.0.1
    port: {{PORT}}
    protocol: HTTPS
    tls:
      certificates:
      - certPEM: |
          %s
        keyPEM: |
          %s
      - certPEM: |
          %s
        keyPEM: |
          %s
routes:
  - {name: api, rules: [{backendRefs: [{name: api}]}]}
backends:
  - {name: api, static: {endpoints: [%s]}}
`, indent(apiCert), indent(apiKey), indent(otherCert), indent(otherKey), api.endpointYAML(1)))
	for sni, want := range map[string]string{"api.example.com": "4004", "other.example.com": "5005"} {
		serial, body := servedCert(t, g.Addr(), sni)
		if serial != want || !strings.Contains(body, `"upstream":"api"`) {
			t.Fatalf("SNI %s: certificate %s (want %s), body %s", sni, serial, want, body)
		}
	}
	// /config shows the PEM redacted.
	resp, err := http.Get("http://" + g.Admin + "/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), "PRIVATE KEY") {
		t.Fatal("/config shows a private key")
	}
}
