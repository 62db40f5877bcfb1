package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// k8sKindsManifests are a Gateway with an HTTP and a TCP listener, a
// GRPCRoute (the HTTP listener gets h2c), an HTTPRoute to an InferencePool
// whose ready Pod is the simulator (the not-ready one must not be picked),
// a TCPRoute and a TLSRoute on a Passthrough listener. {{GRPC}}, {{SIM}},
// {{ECHO}}, {{TCP}}, {{TLS}} and {{TLSECHO}} are ports.
const k8sKindsManifests = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: switchyard}
spec: {controllerName: switchyard.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: kinds, namespace: default}
spec:
  gatewayClassName: switchyard
  listeners:
  - {name: http, port: 65000, protocol: HTTP}
  - {name: tcp, port: {{TCP}}, protocol: TCP}
  - {name: tls, port: {{TLS}}, protocol: TLS, hostname: "*.example.com", tls: {mode: Passthrough}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: site, namespace: default}
spec:
  parentRefs: [{name: kinds, sectionName: tls}]
  hostnames: [a.example.com, other.org]
  rules: [{backendRefs: [{name: tls-echo, port: 443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: tls-echo, namespace: default}
spec: {ports: [{name: tls, port: 443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: tls-echo-1, namespace: default, labels: {kubernetes.io/service-name: tls-echo}}
addressType: IPv4
ports: [{name: tls, port: {{TLSECHO}}}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: rpc, namespace: default}
spec:
  parentRefs: [{name: kinds, sectionName: http}]
  rules:
  - matches: [{method: {service: grpc.testing.TestService, method: UnaryCall}}]
    backendRefs: [{name: grpc-backend, port: 9000}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: llm, namespace: default}
spec:
  parentRefs: [{name: kinds, sectionName: http}]
  rules:
  - matches: [{path: {value: /v1}}]
    backendRefs: [{group: inference.networking.k8s.io, kind: InferencePool, name: llama}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llama, namespace: default}
spec:
  selector: {matchLabels: {app: llama}}
  targetPorts: [{number: {{SIM}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: llama-0, namespace: default, labels: {app: llama}}
spec: {containers: [{name: vllm, image: vllm}]}
status: {podIP: 127.0.0.1, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: llama-1, namespace: default, labels: {app: llama}}
spec: {containers: [{name: vllm, image: vllm}]}
status: {podIP: 127.0.0.9, conditions: [{type: Ready, status: "False"}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: echo, namespace: default}
spec:
  parentRefs: [{name: kinds, sectionName: tcp}]
  rules: [{backendRefs: [{name: echo, port: 7000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: grpc-backend, namespace: default}
spec: {ports: [{name: grpc, port: 9000}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: grpc-backend-1, namespace: default, labels: {kubernetes.io/service-name: grpc-backend}}
addressType: IPv4
ports: [{name: grpc, port: {{GRPC}}}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec: {ports: [{name: tcp, port: 7000}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-1, namespace: default, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: tcp, port: {{ECHO}}}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
`

// TestKubernetesRouteKindsServed translates a GRPCRoute, a TCPRoute and an
// HTTPRoute to an InferencePool with `switchyard translate` and serves the
// result with the real binary: a grpc-go client reaches the gRPC backend
// over h2c on the HTTP listener, an OpenAI chat request on the same
// listener reaches the simulator (the pool's ready Pod), and a TCP client
// reaches the echo server.
func TestKubernetesRouteKindsServed(t *testing.T) {
	grpcAddr, calls := grpcBackend(t, nil, 0)
	sim := startSim(t, "127.0.0.1", 0, "--mode", "echo")
	echo := echoServer(t, "E", nil)
	tcpPort, tlsPort := testutil.FreePort(t), testutil.FreePort(t)
	certFile, keyFile := writeCert(t, t.TempDir(), "a.example.com", "21")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	roots.AppendCertsFromPEM(pem)
	tlsEcho := echoServer(t, "T", func(c net.Conn) net.Conn { return tls.Server(c, &tls.Config{Certificates: []tls.Certificate{pair}}) })
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	manifests := strings.NewReplacer("{{GRPC}}", port(grpcAddr), "{{SIM}}", port(sim), "{{ECHO}}", port(echo),
		"{{TCP}}", fmt.Sprint(tcpPort), "{{TLS}}", fmt.Sprint(tlsPort), "{{TLSECHO}}", port(tlsEcho)).Replace(k8sKindsManifests)
	cfg, problems := translateManifests(t, t.TempDir(), manifests)
	if problems != "" {
		t.Errorf("translate reported problems:\n%s", problems)
	}
	for _, want := range []string{"h2c: true", "grpcRoutes:", "tcpRoutes:", "tlsRoutes:", "inferencePool:"} {
		if !strings.Contains(cfg, want) {
			t.Fatalf("translated configuration lacks %q:\n%s", want, cfg)
		}
	}
	g := startAIGateway(t, strings.ReplaceAll(cfg, "port: 65000", "port: {{PORT}}"))

	t.Run("gRPC over h2c", func(t *testing.T) {
		client := dialGRPC(t, g.Addr(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 10}); err != nil {
			t.Fatalf("unary call: %v", err)
		}
		if calls.Load() != 1 {
			t.Fatalf("backend calls = %d, want 1", calls.Load())
		}
	})
	t.Run("InferencePool", func(t *testing.T) {
		for i := range 3 {
			status, served, _, body := poolChat(t, g, fmt.Sprintf("hello %d", i))
			if status != 200 || served != sim {
				t.Fatalf("status %d, served by %q (want %s): %s", status, served, sim, body)
			}
		}
	})
	t.Run("TCP", func(t *testing.T) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := echoOnce(t, c, "ping"); got != "E:ping" {
			t.Fatalf("echo = %q, want E:ping", got)
		}
	})
	t.Run("TLS passthrough by SNI", func(t *testing.T) {
		addr := fmt.Sprintf("127.0.0.1:%d", tlsPort)
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "a.example.com", RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := echoOnce(t, c, "hi"); got != "T:hi" {
			t.Fatalf("echo = %q, want T:hi", got)
		}
		// other.org is outside the listener's *.example.com: not served.
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		o := tls.Client(raw, &tls.Config{ServerName: "other.org", InsecureSkipVerify: true}) //nolint:gosec // the handshake must fail before any verification
		_ = o.SetDeadline(time.Now().Add(5 * time.Second))
		if err := o.Handshake(); err == nil {
			t.Fatal("SNI other.org: handshake succeeded")
		}
	})
}
