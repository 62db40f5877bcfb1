package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"k8s.io/apimachinery/pkg/types"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/lwepp/datastore"
	"sigs.k8s.io/gateway-api-inference-extension/pkg/lwepp/handlers"

	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// inferenceConformanceModule holds the Gateway API Inference Extension
// conformance suite's manifests; .ci/run downloads it into the module cache.
const inferenceConformanceModule = "sigs.k8s.io/gateway-api-inference-extension/conformance@v1.6.0"

// inferenceConformanceFile reads a file of the suite (tests/<case>.yaml),
// skipping the test when the module is not in the module cache.
func inferenceConformanceFile(t *testing.T, rel string) string {
	t.Helper()
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(modcache)), inferenceConformanceModule, rel))
	if err != nil {
		t.Skipf("inference conformance manifests not in the module cache: go mod download %s (.ci/run does)", inferenceConformanceModule)
	}
	return string(b)
}

// echoPodReply is what an echo pod answers: the request as it arrived, and
// where it arrived (the fields of the suite's echo-basic that its
// assertions read).
type echoPodReply struct {
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Method    string              `json:"method"`
	Proto     string              `json:"proto"`
	Headers   map[string][]string `json:"headers"`
	HTTPPort  string              `json:"httpPort"`
	Namespace string              `json:"namespace"`
	Pod       string              `json:"pod"`
}

// startEchoPod serves, on host:port, what the suite's model server pods run
// (gateway-api's echo-basic): any method and path answered with the request
// in JSON and the pod's name, the response headers X-Echo-Set-Header asks
// for set. h2c: HTTP/2 cleartext with prior knowledge only.
func startEchoPod(t *testing.T, host string, port int, namespace, pod string, h2c bool) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for _, kvs := range r.Header.Values("X-Echo-Set-Header") {
			for kv := range strings.SplitSeq(kvs, ",") {
				name, value, _ := strings.Cut(strings.TrimSpace(kv), ":")
				w.Header().Set(name, value)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoPodReply{Path: r.RequestURI, Host: r.Host, Method: r.Method, Proto: r.Proto,
			Headers: r.Header, HTTPPort: strconv.Itoa(port), Namespace: namespace, Pod: pod})
	})}
	if h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// lweppPods is a pool's endpoints as the lightweight endpoint picker's
// datastore: in a cluster its controller fills them from the pool's Pods.
type lweppPods []*datastore.Endpoint

func (p lweppPods) PoolGet() (*datastore.EndpointPool, error) { return &datastore.EndpointPool{}, nil }

func (p lweppPods) PodList(keep func(*datastore.Endpoint) bool) []*datastore.Endpoint {
	var out []*datastore.Endpoint
	for _, e := range p {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

var quietControllerLog sync.Once

// startLWEPP runs the suite's endpoint picker, the Inference Extension's
// lwepp (its ext_proc server, in process), over TLS with a self-signed
// certificate as the suite deploys it, for the pods (name, ip) on ports; it
// returns the picker's port and what stops it. lwepp picks round robin
// among the pods that test-epp-endpoint-selection names, and answers the
// served report with x-conformance-test-served-endpoint.
func startLWEPP(t *testing.T, ports []int, pods ...[2]string) (string, func()) {
	t.Helper()
	quietControllerLog.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	var eps lweppPods
	for _, p := range pods {
		for i, port := range ports {
			eps = append(eps, &datastore.Endpoint{NamespacedName: types.NamespacedName{Namespace: "inference-conformance-app-backend",
				Name: fmt.Sprintf("%s-rank-%d", p[0], i)}, PodName: p[0], Address: p[1], Port: strconv.Itoa(port)})
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*eppfake.SelfSigned(t)},
		MinVersion: tls.VersionTLS12})))
	extprocv3.RegisterExternalProcessorServer(srv, handlers.NewStreamingServer(eps))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p, srv.Stop
}

// conformanceCluster is what the suite's base manifests deploy, on
// loopback: the primary gateway, the primary model server's three pods
// (127.0.0.1-3, echo on {{HTTP}}), the appProtocol model server's two
// (127.0.0.4-5, echo on {{HTTP}} and h2c only on {{H2C}}, as echo-basic
// serves 3000 and 3001), the secondary model server's three (127.0.0.6-8)
// and the data-parallel model server's three (127.0.0.9-11, echo on each of
// {{DP1}}, {{DP2}}, {{DP3}}: its ranks), their InferencePools, and each
// pool's picker Service
// ({{EPP_*}}: an lwepp each); the secondary pool fails open, and has a
// gateway of its own, conformance-secondary, as in the suite.
var conformanceCluster = conformanceGateways("conformance-primary", 65000, "conformance-secondary", 65001) + `
{{PODS}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: primary-inference-pool, namespace: inference-conformance-app-backend}
spec:
  selector: {matchLabels: {app: primary-inference-model-server}}
  targetPorts: [{number: {{HTTP}}}]
  endpointPickerRef: {name: primary-endpoint-picker-svc, port: {number: {{EPP_PRIMARY}}}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: secondary-inference-pool, namespace: inference-conformance-app-backend}
spec:
  selector: {matchLabels: {app: secondary-inference-model-server}}
  targetPorts: [{number: {{HTTP}}}]
  endpointPickerRef: {name: secondary-endpoint-picker-svc, failureMode: FailOpen, port: {number: {{EPP_SECONDARY}}}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: dp-inference-pool, namespace: inference-conformance-app-backend}
spec:
  selector: {matchLabels: {app: dp-inference-model-server}}
  targetPorts: [{number: {{DP1}}}, {number: {{DP2}}}, {number: {{DP3}}}]
  endpointPickerRef: {name: dp-endpoint-picker-svc, port: {number: {{EPP_DP}}}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: appprotocol-h2c-inference-pool, namespace: inference-conformance-app-backend}
spec:
  selector: {matchLabels: {app: appprotocol-inference-model-server}}
  targetPorts: [{number: {{H2C}}}]
  appProtocol: kubernetes.io/h2c
  endpointPickerRef: {name: appprotocol-h2c-endpoint-picker-svc, port: {number: {{EPP_H2C}}}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: appprotocol-http-inference-pool, namespace: inference-conformance-app-backend}
spec:
  selector: {matchLabels: {app: appprotocol-inference-model-server}}
  targetPorts: [{number: {{HTTP}}}]
  appProtocol: http
  endpointPickerRef: {name: appprotocol-http-endpoint-picker-svc, port: {number: {{EPP_HTTP}}}}
` + conformancePicker("primary-endpoint-picker-svc", "{{EPP_PRIMARY}}") +
	conformancePicker("secondary-endpoint-picker-svc", "{{EPP_SECONDARY}}") +
	conformancePicker("dp-endpoint-picker-svc", "{{EPP_DP}}") +
	conformancePicker("appprotocol-h2c-endpoint-picker-svc", "{{EPP_H2C}}") +
	conformancePicker("appprotocol-http-endpoint-picker-svc", "{{EPP_HTTP}}")

// conformanceGateways is the GatewayClass and, for each name and port, a
// Gateway of the suite's infra namespace with one HTTP listener, "http",
// that takes HTTPRoutes from every namespace.
func conformanceGateways(nameAndPort ...any) string {
	var b strings.Builder
	b.WriteString(`---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: switchyard}
spec: {controllerName: switchyard.dev/gateway-controller}
`)
	for i := 0; i+1 < len(nameAndPort); i += 2 {
		fmt.Fprintf(&b, `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: %s, namespace: inference-conformance-infra}
spec:
  gatewayClassName: switchyard
  listeners:
  - name: http
    port: %d
    protocol: HTTP
    allowedRoutes:
      namespaces: {from: All}
      kinds: [{group: gateway.networking.k8s.io, kind: HTTPRoute}]
`, nameAndPort[i], nameAndPort[i+1])
	}
	return b.String()
}

// conformancePicker is a picker Service on loopback.
func conformancePicker(name, port string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: %s, namespace: inference-conformance-app-backend}
spec: {clusterIP: 127.0.0.1, ports: [{protocol: TCP, port: %s, appProtocol: http2}]}
`, name, port)
}

// eppPort is a picker's port (its stop function is the test's cleanup's).
func eppPort(port string, _ func()) string { return port }

// conformancePod is a ready Pod of the suite's namespace.
func conformancePod(name, app, ip string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: inference-conformance-app-backend, labels: {app: %s}}
spec: {containers: [{name: echoserver, image: echo-basic}]}
status: {podIP: %s, conditions: [{type: Ready, status: "True"}]}
`, name, app, ip)
}

// conformancePods are the pods of the cluster: name, app label, IP.
var conformancePods = [][3]string{
	{"primary-inference-model-server-0", "primary-inference-model-server", "127.0.0.1"},
	{"primary-inference-model-server-1", "primary-inference-model-server", "127.0.0.2"},
	{"primary-inference-model-server-2", "primary-inference-model-server", "127.0.0.3"},
	{"appprotocol-inference-model-server-0", "appprotocol-inference-model-server", "127.0.0.4"},
	{"appprotocol-inference-model-server-1", "appprotocol-inference-model-server", "127.0.0.5"},
	{"secondary-inference-model-server-0", "secondary-inference-model-server", "127.0.0.6"},
	{"secondary-inference-model-server-1", "secondary-inference-model-server", "127.0.0.7"},
	{"secondary-inference-model-server-2", "secondary-inference-model-server", "127.0.0.8"},
	{"dp-inference-model-server-0", "dp-inference-model-server", "127.0.0.9"},
	{"dp-inference-model-server-1", "dp-inference-model-server", "127.0.0.10"},
	{"dp-inference-model-server-2", "dp-inference-model-server", "127.0.0.11"},
}

// podsOf returns the (name, ip) of the pods labelled app.
func podsOf(app string) [][2]string {
	var out [][2]string
	for _, p := range conformancePods {
		if p[1] == app {
			out = append(out, [2]string{p[0], p[2]})
		}
	}
	return out
}

// conformanceAnswer is one request's answer as the suite's assertions read it.
type conformanceAnswer struct {
	status int
	served string // x-conformance-test-served-endpoint, which the picker sets
	echo   echoPodReply
	body   string
}

// conformanceRequest sends the suite's request: POST path on host to the
// gateway at base with its JSON body and the picker's selection header
// (none when empty).
func conformanceRequest(t *testing.T, base, host, path, selection string) conformanceAnswer {
	t.Helper()
	req := newRequest(t, http.MethodPost, base+path,
		strings.NewReader(`{"model": "conformance-fake-model", "prompt": "Write as if you were a critic: San Francisco"}`))
	req.Host = host
	if selection != "" {
		req.Header.Set(eppfake.HeaderTestSelection, selection)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := conformanceAnswer{status: resp.StatusCode, served: resp.Header.Get(eppfake.HeaderTestServed), body: string(b)}
	_ = json.Unmarshal(b, &a.echo)
	return a
}

// TestInferenceConformance serves the HTTPRoutes of the Inference Extension
// conformance cases gateway_destination_endpoint_served,
// gateway_following_epp_routing, inferencepool_appprotocol,
// gateway_following_epp_routing_dp, gateway_weighted_two_pools,
// epp_unavailable_fail_open and inferencepool_multiple_rules_different_pools
// as the suite
// ships them (read from its module, unmodified: their own paths, which are
// not OpenAI operations), translated by `switchyard translate` with the
// suite's base resources on loopback, through the real binary, with the
// suite's own endpoint picker (lwepp) choosing by the request header
// test-epp-endpoint-selection, and checks what the suite's assertions
// check: 200, the served endpoint the picker reports in
// x-conformance-test-served-endpoint, and the echo of the pod that served
// (its name, the request's path, host and method).
func TestInferenceConformance(t *testing.T) {
	var routes []string
	for _, c := range []string{"gateway_destination_endpoint_served", "gateway_following_epp_routing", "inferencepool_appprotocol",
		"gateway_weighted_two_pools", "epp_unavailable_fail_open", "inferencepool_multiple_rules_different_pools",
		"gateway_following_epp_routing_dp"} {
		routes = append(routes, "---\n"+inferenceConformanceFile(t, "tests/"+c+".yaml"))
	}
	httpPort, h2cPort := testutil.FreePort(t), testutil.FreePort(t)
	dpPorts := []int{testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)}
	var pods strings.Builder
	for _, p := range conformancePods {
		pods.WriteString(conformancePod(p[0], p[1], p[2]))
		if p[1] == "dp-inference-model-server" {
			for _, port := range dpPorts {
				startEchoPod(t, p[2], port, "inference-conformance-app-backend", p[0], false)
			}
			continue
		}
		startEchoPod(t, p[2], httpPort, "inference-conformance-app-backend", p[0], false)
		if p[1] == "appprotocol-inference-model-server" {
			startEchoPod(t, p[2], h2cPort, "inference-conformance-app-backend", p[0], true)
		}
	}
	primary, appprotocol := podsOf("primary-inference-model-server"), podsOf("appprotocol-inference-model-server")
	secondary, dp := podsOf("secondary-inference-model-server"), podsOf("dp-inference-model-server")
	secondaryEPP, stopSecondaryEPP := startLWEPP(t, []int{httpPort}, secondary...)
	manifests := strings.NewReplacer("{{PODS}}", strings.TrimSuffix(pods.String(), "\n"),
		"{{HTTP}}", strconv.Itoa(httpPort), "{{H2C}}", strconv.Itoa(h2cPort),
		"{{EPP_PRIMARY}}", eppPort(startLWEPP(t, []int{httpPort}, primary...)),
		"{{EPP_SECONDARY}}", secondaryEPP,
		"{{EPP_H2C}}", eppPort(startLWEPP(t, []int{h2cPort}, appprotocol...)),
		"{{DP1}}", strconv.Itoa(dpPorts[0]), "{{DP2}}", strconv.Itoa(dpPorts[1]), "{{DP3}}", strconv.Itoa(dpPorts[2]),
		"{{EPP_DP}}", eppPort(startLWEPP(t, dpPorts, dp...)),
		"{{EPP_HTTP}}", eppPort(startLWEPP(t, []int{httpPort}, appprotocol...))).Replace(conformanceCluster) + strings.Join(routes, "\n")
	cfg, problems := translateManifests(t, t.TempDir(), manifests)
	if problems != "" {
		t.Errorf("translate reported problems:\n%s", problems)
	}
	secondaryPort := testutil.FreePort(t)
	g := startAIGateway(t, strings.NewReplacer("port: 65000", "port: {{PORT}}", "port: 65001", "port: "+strconv.Itoa(secondaryPort)).Replace(cfg))
	primaryGW, secondaryGW := g.URL(""), fmt.Sprintf("http://127.0.0.1:%d", secondaryPort)
	const ns = "inference-conformance-app-backend"

	// check asserts the suite's expectations of one answer.
	check := func(t *testing.T, a conformanceAnswer, host, path, servedEndpoint string, pods []string, proto string) {
		t.Helper()
		if a.status != 200 || !slices.Contains(pods, a.echo.Pod) || a.echo.Namespace != ns {
			t.Fatalf("%d from pod %q of %q, want 200 from one of %v of %s: %s", a.status, a.echo.Pod, a.echo.Namespace, pods, ns, a.body)
		}
		if servedEndpoint != "" && a.served != servedEndpoint {
			t.Errorf("x-conformance-test-served-endpoint %q, want %s", a.served, servedEndpoint)
		}
		if a.echo.Path != path || a.echo.Host != host || a.echo.Method != http.MethodPost || a.echo.Proto != proto {
			t.Errorf("the pod got %s %s (host %s) over %s, want POST %s (host %s) over %s", a.echo.Method, a.echo.Path, a.echo.Host,
				a.echo.Proto, path, host, proto)
		}
	}

	t.Run("GatewayDestinationEndpointServed", func(t *testing.T) {
		for _, p := range primary {
			a := conformanceRequest(t, primaryGW, "primary.example.com", "/destination-endpoint-served-test", p[1])
			check(t, a, "primary.example.com", "/destination-endpoint-served-test", net.JoinHostPort(p[1], strconv.Itoa(httpPort)),
				[]string{p[0]}, "HTTP/1.1")
		}
	})
	t.Run("GatewayFollowingEPPRouting", func(t *testing.T) {
		for _, sel := range [][]int{{2}, {0, 1}, {0, 1, 2}} {
			var ips, names []string
			for _, i := range sel {
				ips, names = append(ips, primary[i][1]), append(names, primary[i][0])
			}
			t.Run(strings.Join(names, ","), func(t *testing.T) {
				hit := map[string]bool{}
				for range 12 {
					a := conformanceRequest(t, primaryGW, "primary.example.com", "/primary-gateway-test", strings.Join(ips, ","))
					check(t, a, "primary.example.com", "/primary-gateway-test", "", names, "HTTP/1.1")
					hit[a.echo.Pod] = true
				}
				if len(hit) != len(names) {
					t.Errorf("requests reached %v, want each of %v (the picker's round robin)", hit, names)
				}
			})
		}
	})
	t.Run("GatewayWeightedAcrossTwoInferencePools", func(t *testing.T) {
		const host, path = "primary.example.com", "/weighted-two-pools-test"
		var all, primaryNames, secondaryNames []string
		// Each pod alone first, as the suite warms up: a secondary pod is
		// reached when the weights draw the primary pool (its picker finds
		// none of its pods and fails closed, and the request fails over to
		// the secondary pool); a primary pod may take a few tries (the
		// secondary pool fails open and answers from its own pods).
		for _, p := range append(append([][2]string{}, primary...), secondary...) {
			endpoint := net.JoinHostPort(p[1], strconv.Itoa(httpPort))
			var a conformanceAnswer
			for range 30 {
				if a = conformanceRequest(t, primaryGW, host, path, endpoint); a.echo.Pod == p[0] {
					break
				}
			}
			check(t, a, host, path, endpoint, []string{p[0]}, "HTTP/1.1")
			all = append(all, p[1])
		}
		for _, p := range primary {
			primaryNames = append(primaryNames, p[0])
		}
		for _, p := range secondary {
			secondaryNames = append(secondaryNames, p[0])
		}
		const total = 200
		hits := 0
		for range total {
			a := conformanceRequest(t, primaryGW, host, path, strings.Join(all, ","))
			check(t, a, host, path, "", append(append([]string{}, primaryNames...), secondaryNames...), "HTTP/1.1")
			if slices.Contains(primaryNames, a.echo.Pod) {
				hits++
			}
		}
		// The suite's bound: 4.5 sigma, at least 0.10, around the weights' 70/30.
		observed, want := float64(hits)/total, 0.7
		if tol := max(0.10, 4.5*math.Sqrt(want*(1-want)/total)); math.Abs(observed-want) > tol {
			t.Errorf("primary pool share %.3f, want %.2f±%.3f", observed, want, tol)
		}
	})
	t.Run("InferencePoolAppProtocol", func(t *testing.T) {
		for _, tc := range []struct {
			name, host, path, proto string
			pods                    [][2]string
			port                    int
		}{
			{"explicit cleartext HTTP/2 appProtocol", "appprotocol-h2c.example.com", "/inferencepool-app-protocol-h2c", "HTTP/2.0", appprotocol, h2cPort},
			{"explicit HTTP/1.1 appProtocol", "appprotocol-http.example.com", "/inferencepool-app-protocol-http", "HTTP/1.1", appprotocol, httpPort},
			{"omitted appProtocol defaults to HTTP/1.1", "appprotocol-default.example.com", "/inferencepool-app-protocol-default", "HTTP/1.1", primary, httpPort},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, p := range tc.pods {
					endpoint := net.JoinHostPort(p[1], strconv.Itoa(tc.port))
					a := conformanceRequest(t, primaryGW, tc.host, tc.path, endpoint)
					check(t, a, tc.host, tc.path, endpoint, []string{p[0]}, tc.proto)
				}
			})
		}
	})
	t.Run("GatewayFollowingEPPRoutingWithDataParallelism", func(t *testing.T) {
		const host, path = "primary.example.com", "/primary-gateway-dp-test"
		p := func(i int) string { return strconv.Itoa(dpPorts[i]) }
		for _, tc := range []struct {
			name    string
			allowed map[int][]string // pod index: allowed ports (none: any rank)
		}{
			{"one designated pod, any rank", map[int][]string{1: nil}},
			{"two designated pods, one with a fixed rank", map[int][]string{0: nil, 2: {p(1)}}},
			{"all pods, one restricted to two ranks", map[int][]string{0: nil, 1: {p(0), p(2)}, 2: nil}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var sel, names []string
				for i := range dp {
					ports, ok := tc.allowed[i]
					if !ok {
						continue
					}
					names = append(names, dp[i][0])
					if len(ports) == 0 {
						sel = append(sel, dp[i][1])
					}
					for _, port := range ports {
						sel = append(sel, net.JoinHostPort(dp[i][1], port))
					}
				}
				for range 12 {
					a := conformanceRequest(t, primaryGW, host, path, strings.Join(sel, ","))
					check(t, a, host, path, "", names, "HTTP/1.1")
					i := slices.IndexFunc(dp, func(d [2]string) bool { return d[0] == a.echo.Pod })
					if ports := tc.allowed[i]; len(ports) > 0 && !slices.Contains(ports, a.echo.HTTPPort) {
						t.Fatalf("%s answered on rank port %s, want one of %v", a.echo.Pod, a.echo.HTTPPort, ports)
					}
					if want := net.JoinHostPort(dp[i][1], a.echo.HTTPPort); a.served != want {
						t.Errorf("x-conformance-test-served-endpoint %q, want %s", a.served, want)
					}
				}
			})
		}
	})
	t.Run("InferencePoolMultipleRulesDifferentPools", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			pods [][2]string
		}{{"/primary", primary}, {"/secondary", secondary}} {
			var names []string
			for _, p := range tc.pods {
				names = append(names, p[0])
			}
			for range 3 { // the suite's GET: no body, no Host of its own, no selection
				resp, err := http.Get(primaryGW + tc.path)
				if err != nil {
					t.Fatal(err)
				}
				var echo echoPodReply
				err = json.NewDecoder(resp.Body).Decode(&echo)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !slices.Contains(names, echo.Pod) || echo.Path != tc.path || echo.Method != http.MethodGet {
					t.Fatalf("GET %s: %d from %q (%s %s, %v), want 200 from one of %v", tc.path, resp.StatusCode, echo.Pod, echo.Method,
						echo.Path, err, names)
				}
			}
		}
	})
	// Last: it stops the secondary pool's picker.
	t.Run("EppUnAvailableFailOpen", func(t *testing.T) {
		const host, path = "secondary.example.com", "/failopen-pool-test"
		var names []string
		for _, p := range secondary {
			names = append(names, p[0])
		}
		a := conformanceRequest(t, secondaryGW, host, path, secondary[0][1])
		check(t, a, host, path, net.JoinHostPort(secondary[0][1], strconv.Itoa(httpPort)), names[:1], "HTTP/1.1")
		stopSecondaryEPP()
		for range 6 {
			a := conformanceRequest(t, secondaryGW, host, path, secondary[0][1])
			check(t, a, host, path, "", names, "HTTP/1.1")
		}
	})
}
