package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// appProtocolManifests are what the Inference Extension conformance case
// inferencepool_appprotocol needs of the suite's base manifests, on
// loopback; the test adds three HTTPRoutes and InferencePools
// (appProtocolRoute, appProtocolPool) like the case's. The dedicated
// appProtocol model server Pods (127.0.0.1, 127.0.0.2) serve HTTP/1.1 on
// {{HTTP}} and only h2c on {{H2C}}, as the suite's echo server does on 3000
// and 3001; the primary pool's Pod is 127.0.0.3 on {{HTTP}}. Each pool has
// its own picker Service ({{EPP_*}}, TLS with a self-signed certificate, as
// the suite deploys them). The routes match /v1: this test sends the OpenAI
// API over each appProtocol (translated, streamed, metered); the case itself,
// with its own routes and paths and the suite's picker, is
// TestInferenceConformance.
var appProtocolManifests = conformanceGateways("conformance-primary", 65000) + `---
apiVersion: v1
kind: Pod
metadata: {name: appprotocol-0, namespace: inference-conformance-app-backend, labels: {app: appprotocol-inference-model-server}}
spec: {containers: [{name: echoserver, image: echo-basic}]}
status: {podIP: 127.0.0.1, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: appprotocol-1, namespace: inference-conformance-app-backend, labels: {app: appprotocol-inference-model-server}}
spec: {containers: [{name: echoserver, image: echo-basic}]}
status: {podIP: 127.0.0.2, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: primary-0, namespace: inference-conformance-app-backend, labels: {app: primary-inference-model-server}}
spec: {containers: [{name: echoserver, image: echo-basic}]}
status: {podIP: 127.0.0.3, conditions: [{type: Ready, status: "True"}]}
`

// appProtocolRoute is the case's HTTPRoute for one pool ({{SUFFIX}}: h2c,
// http, default; {{POOL}} its pool).
const appProtocolRoute = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: httproute-for-inferencepool-appprotocol-{{SUFFIX}}, namespace: inference-conformance-app-backend}
spec:
  parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: conformance-primary, namespace: inference-conformance-infra, sectionName: http}]
  hostnames: ["appprotocol-{{SUFFIX}}.example.com"]
  rules:
  - backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: {{POOL}}}]
    matches: [{path: {type: PathPrefix, value: /v1}}]`

// appProtocolPool is one InferencePool ({{POOL}}) and its picker Service
// ({{EPP}}); {{SPEC}} is the rest of its spec.
const appProtocolPool = `---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: {{POOL}}, namespace: inference-conformance-app-backend}
spec:
  {{SPEC}}
  endpointPickerRef: {name: {{POOL}}-epp, port: {number: {{EPP}}}}
---
apiVersion: v1
kind: Service
metadata: {name: {{POOL}}-epp, namespace: inference-conformance-app-backend}
spec: {clusterIP: 127.0.0.1, ports: [{protocol: TCP, port: {{EPP}}, appProtocol: http2}]}`

// startH2CSim runs `switchyard sim --h2c` (HTTP/2 cleartext with prior
// knowledge only) on host:port and returns its host:port once it answers
// over h2c.
func startH2CSim(t *testing.T, host string, port int) string {
	t.Helper()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	cmd := exec.Command(binary, "sim", "--h2c", "--host", host, "--port", strconv.Itoa(port), "--model", "llama", "--output-tokens", "3")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	client := h2cClient()
	testutil.Eventually(t, 20*time.Second, func() bool {
		resp, err := client.Get("http://" + addr + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 && resp.ProtoMajor == 2
	}, "the h2c sim never answered: "+out.String())
	return addr
}

// TestInferencePoolAppProtocolOpenAI is the Inference Extension conformance
// case inferencepool_appprotocol for the OpenAI API, through the real
// binary: manifests like the case's translated by `switchyard translate`,
// then served. For each pool (explicit kubernetes.io/h2c, explicit http,
// appProtocol omitted) and each of its Pods, the request names that Pod's
// endpoint in test-epp-endpoint-selection, the picker selects it (as the
// suite's picker does) and the completion answers 200 from it. The h2c
// pool's target port serves nothing but h2c, so its 200s (buffered and
// streamed) prove the gateway spoke HTTP/2 cleartext; the http pools'
// target port serves HTTP/1.1.
func TestInferencePoolAppProtocolOpenAI(t *testing.T) {
	httpPort, h2cPort := testutil.FreePort(t), testutil.FreePort(t)
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		startSim(t, host, httpPort)
	}
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		startH2CSim(t, host, h2cPort)
	}
	// The h2c target port really refuses HTTP/1.1.
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/health", h2cPort)); err == nil {
		resp.Body.Close()
		t.Fatalf("the h2c-only sim answered HTTP/1.1: %s", resp.Status)
	}
	var endpoints []string
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		for _, port := range []int{httpPort, h2cPort} {
			endpoints = append(endpoints, net.JoinHostPort(host, strconv.Itoa(port)))
		}
	}
	picker := func() string {
		_, port, _ := net.SplitHostPort(eppfake.Start(t, &eppfake.Picker{Pool: endpoints}, eppfake.SelfSigned(t)))
		return port
	}
	pool := func(name, spec string) string {
		return strings.NewReplacer("{{POOL}}", name, "{{SPEC}}", spec, "{{EPP}}", picker()).Replace(appProtocolPool)
	}
	route := func(suffix, pool string) string {
		return strings.NewReplacer("{{SUFFIX}}", suffix, "{{POOL}}", pool).Replace(appProtocolRoute)
	}
	sel := "selector: {matchLabels: {app: appprotocol-inference-model-server}}\n  "
	manifests := appProtocolManifests +
		route("h2c", "appprotocol-h2c-inference-pool") + "\n" +
		route("http", "appprotocol-http-inference-pool") + "\n" +
		route("default", "primary-inference-pool") + "\n" +
		pool("appprotocol-h2c-inference-pool", sel+fmt.Sprintf("targetPorts: [{number: %d}]\n  appProtocol: kubernetes.io/h2c", h2cPort)) + "\n" +
		pool("appprotocol-http-inference-pool", sel+fmt.Sprintf("targetPorts: [{number: %d}]\n  appProtocol: http", httpPort)) + "\n" +
		pool("primary-inference-pool", fmt.Sprintf("selector: {matchLabels: {app: primary-inference-model-server}}\n  targetPorts: [{number: %d}]", httpPort)) + "\n"
	cfg, problems := translateManifests(t, t.TempDir(), manifests)
	if problems != "" {
		t.Errorf("translate reported problems:\n%s", problems)
	}
	if !strings.Contains(cfg, "appProtocol: kubernetes.io/h2c") || strings.Contains(cfg, "invalid:") {
		t.Fatalf("translation lacks the h2c pool or refuses a backend:\n%s", cfg)
	}
	g := startAIGateway(t, strings.ReplaceAll(cfg, "port: 65000", "port: {{PORT}}"))

	for _, tc := range []struct {
		name, host string
		pods       []string
		port       int
	}{
		{"explicit cleartext HTTP/2 appProtocol", "appprotocol-h2c.example.com", []string{"127.0.0.1", "127.0.0.2"}, h2cPort},
		{"explicit HTTP/1.1 appProtocol", "appprotocol-http.example.com", []string{"127.0.0.1", "127.0.0.2"}, httpPort},
		{"omitted appProtocol defaults to HTTP/1.1", "appprotocol-default.example.com", []string{"127.0.0.3"}, httpPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pod := range tc.pods {
				endpoint := net.JoinHostPort(pod, strconv.Itoa(tc.port))
				for _, stream := range []bool{false, true} {
					body := fmt.Sprintf(`{"model":"conformance-fake-model","prompt":"Describe San Francisco in one sentence.","stream":%v}`, stream)
					req := newRequest(t, http.MethodPost, g.URL("/v1/completions"), strings.NewReader(body))
					req.Host = tc.host
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(eppfake.HeaderTestSelection, endpoint)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					served := resp.Header.Get("x-gateway-destination-endpoint-served")
					if resp.StatusCode != 200 || served != endpoint {
						t.Fatalf("stream %v to %s: %d served by %q, want 200 from %s: %s", stream, endpoint, resp.StatusCode, served, endpoint, got)
					}
					if stream && !sseDone(got) || !stream && !bytes.Contains(got, []byte(`"text_completion"`)) {
						t.Fatalf("stream %v to %s: not a completion: %s", stream, endpoint, got)
					}
				}
			}
		})
	}
}

// sseDone reports whether body is an SSE stream of data events ending in [DONE].
func sseDone(body []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(body))
	events, done := 0, false
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events++
			done = d == "[DONE]"
		}
	}
	return events > 1 && done
}
