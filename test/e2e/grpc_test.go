package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/interop"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// grpcBackend runs grpc-go's interop TestService and the health service;
// a non-nil failFirst fails that many calls with UNAVAILABLE first. It
// returns the address and a counter of calls received.
func grpcBackend(t *testing.T, creds credentials.TransportCredentials, failFirst int64) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	calls := &atomic.Int64{}
	count := func() error {
		if calls.Add(1) <= failFirst {
			return status.Error(codes.Unavailable, "backend warming up")
		}
		return nil
	}
	opts := []grpc.ServerOption{
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := count(); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := count(); err != nil {
				return err
			}
			return h(srv, ss)
		}),
		grpc.MaxRecvMsgSize(16 << 20),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	s := grpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(s, interop.NewTestServer())
	healthpb.RegisterHealthServer(s, health.NewServer())
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return ln.Addr().String(), calls
}

// dialGRPC connects a grpc-go client to the gateway.
func dialGRPC(t *testing.T, addr string, creds credentials.TransportCredentials) testpb.TestServiceClient {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds), grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return testpb.NewTestServiceClient(cc)
}

// exerciseGRPC makes the four kinds of call through client and checks
// messages, headers and trailers arrive as the backend sent them.
func exerciseGRPC(t *testing.T, client testpb.TestServiceClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Unary, with initial and trailing metadata echoed by the backend.
	var header, trailer metadata.MD
	mctx := metadata.AppendToOutgoingContext(ctx, "x-grpc-test-echo-initial", "hello", "x-grpc-test-echo-trailing-bin", "\x01\x02")
	resp, err := client.UnaryCall(mctx, &testpb.SimpleRequest{ResponseSize: 1000}, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatalf("unary: %v", err)
	}
	if len(resp.GetPayload().GetBody()) != 1000 {
		t.Errorf("unary payload %d bytes", len(resp.GetPayload().GetBody()))
	}
	if got := header.Get("x-grpc-test-echo-initial"); len(got) != 1 || got[0] != "hello" {
		t.Errorf("initial metadata %v", header)
	}
	if got := trailer.Get("x-grpc-test-echo-trailing-bin"); len(got) != 1 || got[0] != "\x01\x02" {
		t.Errorf("trailing metadata %v", trailer)
	}
	// Server streaming.
	ss, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 10}, {Size: 20}, {Size: 30}}})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for {
		m, err := ss.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("server stream: %v", err)
		}
		sizes = append(sizes, len(m.GetPayload().GetBody()))
	}
	if fmt.Sprint(sizes) != "[10 20 30]" {
		t.Errorf("server stream sizes %v", sizes)
	}
	// Client streaming.
	cs, err := client.StreamingInputCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{100, 200, 300} {
		if err := cs.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := cs.CloseAndRecv()
	if err != nil || sum.GetAggregatedPayloadSize() != 600 {
		t.Errorf("client stream: %v %v", sum, err)
	}
	// Bidirectional: each request answered before the next is sent.
	bs, err := client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := bs.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: int32(i)}}}); err != nil {
			t.Fatal(err)
		}
		m, err := bs.Recv()
		if err != nil || len(m.GetPayload().GetBody()) != i {
			t.Fatalf("bidi message %d: %v %v", i, m, err)
		}
	}
	if err := bs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("bidi end: %v", err)
	}
	// A deadline shorter than the backend's answer: DEADLINE_EXCEEDED.
	dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer dcancel()
	slow, err := client.StreamingOutputCall(dctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 1, IntervalUs: 3_000_000}}})
	if err == nil {
		_, err = slow.Recv()
	}
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("deadline: %v", err)
	}
}

// TestExampleGRPC runs examples/grpc.yaml (h2c in front, h2c to the
// backend) with a real grpc-go client and server: the four kinds of call,
// metadata and trailers, health, a deadline, and gateway failures as gRPC
// status; HTTP/1.1 still served on the same port.
func TestExampleGRPC(t *testing.T) {
	backend, _ := grpcBackend(t, nil, 0)
	g := startExample(t, "grpc.yaml", "GRPC_BACKEND="+backend)
	client := dialGRPC(t, g.Addr(), nil)
	exerciseGRPC(t, client)
	cc, _ := grpc.NewClient(g.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	hr, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health: %v %v", hr, err)
	}
	// HTTP/1.1 on the same port: no HTTP route, a 404 in OpenAI's format.
	resp, err := http.Get(g.URL("/v1/models"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Proto != "HTTP/1.1" {
		t.Errorf("HTTP/1.1 on the h2c port: %s %d", resp.Proto, resp.StatusCode)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return strings.Contains(g.Logs(), `"grpc_status":0`) },
		"a gRPC access log line")
}

// TestGRPCRouteMatchingRetryAndLimits: service/method matching (exact and
// regular expression), a retry on UNAVAILABLE, an unmatched method and an
// oversized message answered by the gateway with gRPC status.
func TestGRPCRouteMatchingRetryAndLimits(t *testing.T) {
	flaky, flakyCalls := grpcBackend(t, nil, 1<<40) // always UNAVAILABLE
	good, goodCalls := grpcBackend(t, nil, 0)
	g := startGateway(t, fmt.Sprintf(`
server: {maxBodyBytes: 1048576}
listeners:
  - {name: web, port: {{PORT}}, h2c: true}
grpcRoutes:
  - name: test
    rules:
      - matches: [{method: {service: grpc.testing.TestService, method: UnaryCall}}]
        backendRefs: [{name: pair}]
        retry: {attempts: 3, backoff: 10ms, codes: [UNAVAILABLE]}
      - matches: [{method: {type: RegularExpression, service: 'grpc\.testing\.Test.*', method: '(Streaming|FullDuplex).*'}}]
        backendRefs: [{name: good}]
  - name: health
    rules:
      - matches: [{method: {service: grpc.health.v1.Health}, headers: [{name: x-team, value: blue}]}]
        backendRefs: [{name: good}]
backends:
  - {name: pair, static: {endpoints: ['%s', '%s']}}
  - {name: good, static: {endpoints: ['%s']}}
`, flaky, good, good))
	client := dialGRPC(t, g.Addr(), nil)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1}); err != nil {
			t.Fatalf("unary %d with a retry: %v", i, err)
		}
	}
	if flakyCalls.Load() == 0 || goodCalls.Load() < 10 {
		t.Errorf("calls: flaky %d, good %d; want the flaky endpoint tried and every call retried onto the good one", flakyCalls.Load(), goodCalls.Load())
	}
	// EmptyCall matches no rule: the gateway says UNIMPLEMENTED.
	if _, err := client.EmptyCall(ctx, &testpb.Empty{}); status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "no GRPCRoute") {
		t.Errorf("unmatched method: %v", err)
	}
	// The health rule needs a header.
	cc, _ := grpc.NewClient(g.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("health without x-team: %v", err)
	}
	if _, err := hc.Check(metadata.AppendToOutgoingContext(ctx, "x-team", "blue"), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("health with x-team: %v", err)
	}
	// A message over the gateway's limit (1 MiB): RESOURCE_EXHAUSTED, and the gateway keeps serving.
	_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 2<<20)}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized message: %v", err)
	}
	if _, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 1}); err != nil {
		t.Errorf("after the oversized message: %v", err)
	}
}

// TestGRPCOverTLSAndH2WithHTTP1 serves gRPC on an HTTPS listener (h2 by
// ALPN) to a TLS backend, and HTTP/2 and HTTP/1.1 clients of an HTTP route
// on the same listener.
func TestGRPCOverTLSAndH2WithHTTP1(t *testing.T) {
	dir := t.TempDir()
	gwCert, gwKey := writeCert(t, dir, "gw.example.com", "21")
	beCert, beKey := writeCert(t, dir, "backend.example.com", "22")
	pair, err := tls.LoadX509KeyPair(beCert, beKey)
	if err != nil {
		t.Fatal(err)
	}
	backend, _ := grpcBackend(t, credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}}), 0)
	web := httpBackend(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: https
    port: {{PORT}}
    protocol: HTTPS
    tls: {certificates: [{certFile: %s, keyFile: %s}]}
routes:
  - {name: web, rules: [{backendRefs: [{name: web}]}]}
grpcRoutes:
  - name: test
    rules: [{backendRefs: [{name: grpc}]}]
backends:
  - {name: web, static: {endpoints: ['%s']}}
  - name: grpc
    static:
      endpoints: ['%s']
      tls: {serverName: backend.example.com, caFile: %s}
`, gwCert, gwKey, web, backend, beCert))
	roots := x509.NewCertPool()
	pem, _ := os.ReadFile(gwCert)
	roots.AppendCertsFromPEM(pem)
	tlsConf := &tls.Config{ServerName: "gw.example.com", RootCAs: roots}
	exerciseGRPC(t, dialGRPC(t, g.Addr(), credentials.NewTLS(tlsConf)))
	for _, tc := range []struct {
		name  string
		h2    bool
		proto string
	}{{"h2", true, "HTTP/2.0"}, {"http/1.1", false, "HTTP/1.1"}} {
		tr := &http.Transport{TLSClientConfig: tlsConf.Clone(), ForceAttemptHTTP2: tc.h2}
		if !tc.h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Post("https://"+g.Addr()+"/echo?x=1", "text/plain", strings.NewReader("ping"))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Proto != tc.proto || resp.StatusCode != 200 || string(body) != "POST /echo?x=1 ping" {
			t.Errorf("%s: %s %d %q", tc.name, resp.Proto, resp.StatusCode, body)
		}
		if p := resp.Header.Get("X-Seen-Proto"); p != "https" {
			t.Errorf("%s: the backend saw X-Forwarded-Proto %q, want https", tc.name, p)
		}
		tr.CloseIdleConnections()
	}
}

// httpBackend answers "METHOD URI BODY".
func httpBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			w.Header().Set("X-Seen-Proto", p)
		}
		fmt.Fprintf(w, "%s %s %s", r.Method, r.RequestURI, b)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
