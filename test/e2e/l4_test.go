package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// echoServer answers every line on a connection with name:line. It
// returns its address; it stops with the test.
func echoServer(t *testing.T, name string, wrap func(net.Conn) net.Conn) string {
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
			if wrap != nil {
				c = wrap(c)
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := fmt.Fprintf(c, "%s:%s", name, line); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
}

// echoOnce sends one line over c and returns the answer.
func echoOnce(t *testing.T, c net.Conn, line string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", line); err != nil {
		t.Fatalf("write: %v", err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(got, "\n")
}

// TestTCPRouteWeightsAndEjection proxies TCP echo connections through a
// TCPRoute over three endpoints, one dead: every connection is answered,
// by both live endpoints in proportion to their weights, the dead one is
// ejected after its first failed connect, and bytes are counted.
func TestTCPRouteWeightsAndEjection(t *testing.T) {
	a, b, dead := echoServer(t, "A", nil), echoServer(t, "B", nil), deadAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: raw, port: {{PORT}}, protocol: TCP}
tcpRoutes:
  - name: echo
    rules:
      - backendRefs: [{name: echo}]
        timeouts: {connect: 1s, idle: 10s}
backends:
  - name: echo
    static:
      endpoints: ['%s', {host: 127.0.0.1, port: %s, weight: 3}, '%s']
      outlierDetection: {consecutive5xx: 1, baseEjectionTime: 60s, maxEjectionPercent: 50}
`, dead, strings.Split(a, ":")[1], b))
	counts := map[string]int{}
	const n = 60
	for i := range n {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		got := echoOnce(t, c, fmt.Sprintf("hello %d", i))
		_ = c.Close()
		name, rest, _ := strings.Cut(got, ":")
		if rest != fmt.Sprintf("hello %d", i) {
			t.Fatalf("connection %d: got %q", i, got)
		}
		counts[name]++
	}
	if counts["A"]+counts["B"] != n || counts["A"] <= counts["B"] || counts["B"] == 0 {
		t.Errorf("answers by endpoint = %v; want all answered, A (weight 3) more than B (weight 1), B some", counts)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		return g.metric(`switchyard_l4_connections_total{result="ok",route="default.echo.0.0"}`) == n
	}, "every connection counted ok")
	// The dead endpoint failed once, then was ejected: no later connection tried it.
	failed := 0
	for _, line := range strings.Split(g.Logs(), "\n") {
		if strings.Contains(line, `"msg":"access"`) && strings.Contains(line, `"endpoint":"`+dead+`"`) {
			failed++
		}
	}
	if failed != 0 {
		t.Errorf("%d connections ended on the dead endpoint", failed)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(g.Logs(), "endpoint ejected after connect failures")
	}, "the dead endpoint ejected")
	if retried := strings.Count(g.Logs(), `"attempts":2`); retried > 1 {
		t.Errorf("%d connections needed a second attempt; the dead endpoint should be ejected after the first", retried)
	}
	if in := g.metric(`switchyard_l4_bytes_total{direction="in",route="default.echo.0.0"}`); in < float64(n*len("hello 0\n")) {
		t.Errorf("bytes in = %v", in)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(g.Logs(), `"kind":"tcp"`) && strings.Contains(g.Logs(), `"bytes_out":`)
	}, "a TCP access log line with byte counts")
}

// TestTLSPassthroughBySNI routes TLS connections by SNI to two backends
// that terminate TLS themselves: the client verifies the backend's own
// certificate, so a gateway that terminated would fail the test. Unknown
// and missing names are closed and counted.
func TestTLSPassthroughBySNI(t *testing.T) {
	dir := t.TempDir()
	roots := x509.NewCertPool()
	tlsEcho := func(host, serial string) string {
		certFile, keyFile := writeCert(t, dir, host, serial)
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		pem, _ := os.ReadFile(certFile)
		roots.AppendCertsFromPEM(pem)
		cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
		return echoServer(t, host, func(c net.Conn) net.Conn { return tls.Server(c, cfg) })
	}
	a, b := tlsEcho("a.example.com", "11"), tlsEcho("b.example.com", "12")
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: sni, port: {{PORT}}, protocol: TLS, tls: {mode: Passthrough}}
tlsRoutes:
  - {name: a, hostnames: [a.example.com], rules: [{backendRefs: [{name: a}]}]}
  - {name: b, hostnames: ['*.example.com'], rules: [{backendRefs: [{name: b}], timeouts: {handshake: 1s}}]}
backends:
  - {name: a, static: {endpoints: ['%s']}}
  - {name: b, static: {endpoints: ['%s']}}
`, a, b))
	for _, tc := range []struct{ sni, backend string }{
		{"a.example.com", "a.example.com"},
		{"b.example.com", "b.example.com"},
	} {
		c, err := tls.Dial("tcp", g.Addr(), &tls.Config{ServerName: tc.sni, RootCAs: roots})
		if err != nil {
			t.Fatalf("SNI %s: %v", tc.sni, err)
		}
		if got := echoOnce(t, c, "hi"); got != tc.backend+":hi" {
			t.Errorf("SNI %s: got %q, want the answer of %s", tc.sni, got, tc.backend)
		}
		if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != tc.backend {
			t.Errorf("SNI %s: certificate of %s", tc.sni, cn)
		}
		_ = c.Close()
	}
	// *.example.com matches c.example.com, but backend b's certificate does not: verification must fail.
	if c, err := tls.Dial("tcp", g.Addr(), &tls.Config{ServerName: "c.example.com", RootCAs: roots}); err == nil {
		_ = c.Close()
		t.Error("c.example.com verified against b's certificate")
	}
	for _, sni := range []string{"other.test", ""} {
		raw, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c := tls.Client(raw, &tls.Config{ServerName: sni, InsecureSkipVerify: true}) //nolint:gosec // the handshake must fail before any verification
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.Handshake(); err == nil {
			t.Errorf("SNI %q: handshake succeeded", sni)
		}
		_ = c.Close()
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		return g.metric(`switchyard_l4_connections_total{result="unknown_sni",route="none"}`) == 1 &&
			g.metric(`switchyard_l4_connections_total{result="no_sni",route="none"}`) == 1
	}, "unknown and missing SNI counted")

	// Hostile input: garbage instead of TLS is closed at once; a ClientHello
	// that never completes is cut off by the handshake timeout (1s here).
	for _, tc := range []struct {
		name, result string
		send         []byte
		max          time.Duration
	}{
		{"garbage", "bad_client_hello", []byte("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n"), 2 * time.Second},
		{"incomplete hello", "handshake_timeout", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}, 4 * time.Second},
	} {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, _ = c.Write(tc.send)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(make([]byte, 64))
		if err == nil || n > 0 {
			t.Errorf("%s: the gateway answered %d bytes", tc.name, n)
		}
		if d := time.Since(start); d > tc.max {
			t.Errorf("%s: closed after %v", tc.name, d)
		}
		_ = c.Close()
		testutil.Eventually(t, 5*time.Second, func() bool {
			return g.metric(`switchyard_l4_connections_total{result="`+tc.result+`",route="none"}`) == 1
		}, tc.name+" counted as "+tc.result)
	}
}

// startExample runs examples/<name> as it is, with PORT set to a free port
// and env, and returns the gateway.
func startExample(t *testing.T, name string, env ...string) *gateway {
	t.Helper()
	port := testutil.FreePort(t)
	g := runGateway(t, []string{"run", "-c", mustAbs(t, "../../examples/"+name)}, append(env, fmt.Sprintf("PORT=%d", port)))
	g.Port = port
	return g
}

// TestExampleTCP runs examples/tcp.yaml over two echo servers.
func TestExampleTCP(t *testing.T) {
	a, b := echoServer(t, "A", nil), echoServer(t, "B", nil)
	g := startExample(t, "tcp.yaml", "TCP_BACKENDS="+a+","+b)
	seen := map[string]bool{}
	for i := 0; i < 40 && len(seen) < 2; i++ {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(echoOnce(t, c, "x"), ":")
		seen[name] = true
		_ = c.Close()
	}
	if !seen["A"] || !seen["B"] {
		t.Errorf("answered by %v; want both backends", seen)
	}
}

// TestExampleTLSPassthrough runs examples/tls-passthrough.yaml.
func TestExampleTLSPassthrough(t *testing.T) {
	dir := t.TempDir()
	roots := x509.NewCertPool()
	backend := func(host string) string {
		certFile, keyFile := writeCert(t, dir, host, "7")
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		pem, _ := os.ReadFile(certFile)
		roots.AppendCertsFromPEM(pem)
		return echoServer(t, host, func(c net.Conn) net.Conn { return tls.Server(c, &tls.Config{Certificates: []tls.Certificate{pair}}) })
	}
	g := startExample(t, "tls-passthrough.yaml", "TLS_BACKEND_A="+backend("a.example.com"), "TLS_BACKEND_B="+backend("b.example.com"))
	for _, host := range []string{"a.example.com", "b.example.com"} {
		c, err := tls.Dial("tcp", g.Addr(), &tls.Config{ServerName: host, RootCAs: roots})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if got := echoOnce(t, c, "x"); got != host+":x" {
			t.Errorf("%s: got %q", host, got)
		}
		_ = c.Close()
	}
	if c, err := tls.Dial("tcp", g.Addr(), &tls.Config{ServerName: "c.example.com", RootCAs: roots}); err == nil {
		_ = c.Close()
		t.Error("c.example.com was not refused")
	}
}

// TestTCPReloadDrains removes a TCP route by a hot reload: the connection
// open on it keeps working for the drain time and is closed after it; a
// new connection finds no route.
func TestTCPReloadDrains(t *testing.T) {
	a := echoServer(t, "A", nil)
	cfg := `
server: {drainTimeout: 2s}
listeners:
  - {name: raw, port: {{PORT}}, protocol: TCP}
%s
backends:
  - {name: echo, static: {endpoints: ['` + a + `']}}
`
	g := startGateway(t, fmt.Sprintf(cfg, "tcpRoutes: [{name: echo, rules: [{backendRefs: [{name: echo}]}]}]"))
	c, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	ask := func() (string, error) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintf(c, "ping\n"); err != nil {
			return "", err
		}
		return r.ReadString('\n')
	}
	if got, err := ask(); err != nil || got != "A:ping\n" {
		t.Fatalf("before reload: %q %v", got, err)
	}
	g.rewrite(fmt.Sprintf(cfg, ""))
	reloaded := time.Now()
	if got, err := ask(); err != nil || got != "A:ping\n" {
		t.Fatalf("open connection during the drain: %q %v", got, err)
	}
	n, err := net.Dial("tcp", g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = n.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := n.Read(make([]byte, 1)); err == nil {
		t.Error("a new connection was served after its route was removed")
	}
	_ = n.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("the drained connection got data")
	}
	if d := time.Since(reloaded); d < 1500*time.Millisecond || d > 6*time.Second {
		t.Errorf("the open connection was closed %v after the reload; want about the 2s drain", d)
	}
}
