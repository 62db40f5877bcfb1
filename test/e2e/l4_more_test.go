package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// proxyEcho answers each connection with its first line (the PROXY header) and closes.
func proxyEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, line)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestTLSTerminateProxyProtocolAndConfig: a terminating TLS listener
// relays plaintext to a TCP backend, with a PROXY v1 header naming the
// client; /config lists the TCP and TLS routes with their keys.
func TestTLSTerminateProxyProtocolAndConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "db.example.com", "31")
	backend := proxyEcho(t)
	tcpBackend := echoServer(t, "T", nil)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: tls
    port: {{PORT}}
    protocol: TLS
    tls: {mode: Terminate, certificates: [{certFile: %s, keyFile: %s}]}
  - {name: raw, port: %d, protocol: TCP}
tlsRoutes:
  - {name: db, hostnames: [db.example.com], rules: [{backendRefs: [{name: db}], proxyProtocol: v1}]}
tcpRoutes:
  - {name: raw, listeners: [raw], rules: [{backendRefs: [{name: echo}]}]}
backends:
  - {name: db, static: {endpoints: ['%s']}}
  - {name: echo, static: {endpoints: ['%s']}}
`, certFile, keyFile, freeTCPPort(t), backend, tcpBackend))
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	roots.AppendCertsFromPEM(pem)
	c, err := tls.Dial("tcp", g.Addr(), &tls.Config{ServerName: "db.example.com", RootCAs: roots})
	if err != nil {
		t.Fatalf("the gateway's own certificate did not verify: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	local := c.LocalAddr().(*net.TCPAddr)
	want := fmt.Sprintf("PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n", local.Port, g.Port)
	if line != want {
		t.Errorf("backend saw %q, want %q", line, want)
	}

	resp, err := http.Get("http://" + g.Admin + "/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Snapshot struct {
			TCPRoutes, TLSRoutes []struct {
				Key       string
				RuleKeys  []string
				Listeners []string
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	tr, sr := out.Snapshot.TCPRoutes, out.Snapshot.TLSRoutes
	if len(tr) != 1 || tr[0].Key != "default/raw" || tr[0].RuleKeys[0] != "default.raw.0.0" || tr[0].Listeners[0] != "default/switchyard.raw" {
		t.Errorf("/config tcpRoutes = %+v", tr)
	}
	if len(sr) != 1 || sr[0].Key != "default/db" || sr[0].Listeners[0] != "default/switchyard.tls" {
		t.Errorf("/config tlsRoutes = %+v", sr)
	}
}

// freeTCPPort is a free loopback port for a second listener.
func freeTCPPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestGRPCRoutePolicies: a GRPCRoute runs the same client-auth policy as
// HTTP routes; a refusal is a gRPC status.
func TestGRPCRoutePolicies(t *testing.T) {
	backend, _ := grpcBackend(t, nil, 0)
	const key = "sk-grpc-e2e-0123456789abcdef"
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: web, port: {{PORT}}, h2c: true}
grpcRoutes:
  - name: test
    policies: {clientAuth: {apiKeys: {}}}
    rules: [{backendRefs: [{name: grpc}]}]
backends:
  - {name: grpc, static: {endpoints: ['%s']}}
access:
  consumers:
    - name: alice
      keys: [{id: alice, value: %s}]
`, backend, key), "SWITCHYARD_DATA_DIR="+t.TempDir())
	cc, err := grpc.NewClient(g.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := testpb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("without a key: %v, want UNAUTHENTICATED", err)
	}
	_, err = client.UnaryCall(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer wrong-key-0123456789"), &testpb.SimpleRequest{ResponseSize: 1})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("with a wrong key: %v, want UNAUTHENTICATED", err)
	}
	if _, err := client.UnaryCall(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key), &testpb.SimpleRequest{ResponseSize: 1}); err != nil {
		t.Errorf("with alice's key: %v", err)
	}
	if strings.Contains(g.Logs(), key) {
		t.Error("the key is in the logs")
	}
}

// TestTCPHealthCheck: an endpoint whose connect probe fails is taken out
// by the active check alone (no outlier detection): later connections are
// never dialed to it.
func TestTCPHealthCheck(t *testing.T) {
	a := echoServer(t, "A", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := ln.Addr().String()
	_ = ln.Close() // B goes away before the gateway starts: its probes fail
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: raw, port: {{PORT}}, protocol: TCP}]
tcpRoutes: [{name: echo, rules: [{backendRefs: [{name: echo}]}]}]
backends:
  - name: echo
    static:
      endpoints: ['%s', '%s']
      healthCheck: {interval: 100ms, timeout: 200ms, unhealthyThreshold: 1}
`, a, b))
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(g.Logs(), `"msg":"upstream: unhealthy"`)
	}, "B's health check to fail")
	for i := range 20 {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if got := echoOnce(t, c, "x"); got != "A:x" {
			t.Fatalf("connection %d: %q", i, got)
		}
		_ = c.Close()
	}
	if n := g.metric(`switchyard_l4_connections_total{result="ok",route="default.echo.0.0"}`); n != 20 {
		testutil.Eventually(t, 5*time.Second, func() bool {
			return g.metric(`switchyard_l4_connections_total{result="ok",route="default.echo.0.0"}`) == 20
		}, "20 connections counted")
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return strings.Count(g.Logs(), `"kind":"tcp"`) == 20 }, "20 access lines")
	if strings.Contains(g.Logs(), `"attempts":2`) {
		t.Error("a connection dialed the endpoint the health check took out")
	}
}

// TestGRPCRouteReload: a reload that removes a GRPCRoute makes new calls
// UNIMPLEMENTED on the same connection; one that adds it back serves them.
func TestGRPCRouteReload(t *testing.T) {
	backend, _ := grpcBackend(t, nil, 0)
	cfg := `
listeners: [{name: web, port: {{PORT}}, h2c: true}]
%s
backends: [{name: grpc, static: {endpoints: ['` + backend + `']}}]
`
	route := "grpcRoutes: [{name: test, rules: [{backendRefs: [{name: grpc}]}]}]"
	g := startGateway(t, fmt.Sprintf(cfg, route))
	cc, err := grpc.NewClient(g.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := testpb.NewTestServiceClient(cc)
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1})
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("before the reload: %v", err)
	}
	g.rewrite(fmt.Sprintf(cfg, ""))
	if err := call(); status.Code(err) != codes.Unimplemented {
		t.Errorf("after removing the route: %v, want UNIMPLEMENTED", err)
	}
	g.rewrite(fmt.Sprintf(cfg, route))
	if err := call(); err != nil {
		t.Errorf("after adding it back: %v", err)
	}
}
