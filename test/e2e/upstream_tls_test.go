package e2e

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// tlsEcho is an HTTPS upstream on loopback (httptest's certificate, valid for
// 127.0.0.1 and example.com) that answers with an echoReply and the SNI it saw.
type tlsEcho struct {
	*httptest.Server
	hits atomic.Int32
}

func newTLSEcho(t *testing.T, name string) *tlsEcho {
	t.Helper()
	e := &tlsEcho{}
	e.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream-SNI", r.TLS.ServerName)
		_ = json.NewEncoder(w).Encode(echoReply{Upstream: name, Method: r.Method, Path: r.URL.Path,
			Query: r.URL.RawQuery, Host: r.Host, Header: r.Header, Body: string(b)})
	}))
	e.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	e.StartTLS()
	t.Cleanup(e.Close)
	return e
}

// writeCAFile writes the PEM of srv's certificate to path.
func writeCAFile(t *testing.T, path string, srv *httptest.Server) {
	t.Helper()
	writeFile(t, path, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
}

// TestStaticBackendOverHTTPS runs the binary with static backends reached over
// HTTPS: trusted through a caFile given relative to the configuration file, with a
// serverName override, and refused (502, the upstream never sees a request) when
// the caFile holds another certificate.
func TestStaticBackendOverHTTPS(t *testing.T) {
	secure := newTLSEcho(t, "secure")
	host, port, err := net.SplitHostPort(secure.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	// The configuration and CA files share a directory; the caFile paths are relative.
	dir := t.TempDir()
	writeCAFile(t, filepath.Join(dir, "upstream-ca.pem"), secure.Server)
	writeCert(t, dir, "other-ca.example", "3003") // a self-signed certificate that did not sign the upstream's
	gwPort := testutil.FreePort(t)
	cfg := fmt.Sprintf(`
listeners:
  - name: web
    address: 127.0.0.1
    port: %d
    protocol: HTTP
routes:
  - name: default/tls
    rules:
      - matches: [{path: {type: PathPrefix, value: /trusted}}]
        backendRefs: [{name: trusted}]
      - matches: [{path: {type: PathPrefix, value: /sni}}]
        backendRefs: [{name: sni}]
      - matches: [{path: {type: PathPrefix, value: /untrusted}}]
        backendRefs: [{name: untrusted}]
backends:
  - name: trusted
    static:
      endpoints: [{host: %[2]s, port: %[3]s}]
      tls: {caFile: upstream-ca.pem}
  - name: sni
    static:
      endpoints: [{host: %[2]s, port: %[3]s}]
      tls: {caFile: upstream-ca.pem, serverName: example.com}
  - name: untrusted
    static:
      endpoints: [{host: %[2]s, port: %[3]s}]
      tls: {caFile: other-ca.example.crt}
`, gwPort, host, port)
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := runGateway(t, []string{"run", "-c", path}, nil)
	g.Port, g.Config = gwPort, path

	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantSNI    string // "" for an IP endpoint without serverName: IPs are not sent as SNI
		wantHits   int32  // upstream requests this case adds
	}{
		{name: "caFile trusts the upstream", method: "GET", path: "/trusted/a?x=1", wantStatus: 200, wantHits: 1},
		{name: "a second request with a body", method: "POST", path: "/trusted/b", wantStatus: 200, wantHits: 1},
		{name: "HEAD over TLS", method: "HEAD", path: "/trusted/h", wantStatus: 200, wantHits: 1},
		{name: "serverName is sent as SNI and verified", method: "GET", path: "/sni/c", wantStatus: 200, wantSNI: "example.com", wantHits: 1},
		{name: "a caFile that does not sign the certificate is refused", method: "GET", path: "/untrusted/d", wantStatus: 502},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := secure.hits.Load()
			resp, echo := do(t, newRequest(t, tc.method, g.URL(tc.path), bodyFor(tc.method)))
			if resp.StatusCode != tc.wantStatus {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.wantStatus)
			}
			if got := secure.hits.Load() - before; got != tc.wantHits {
				t.Fatalf("the upstream served %d requests, want %d", got, tc.wantHits)
			}
			if tc.wantStatus != 200 {
				return
			}
			if got := resp.Header.Get("X-Upstream-SNI"); got != tc.wantSNI {
				t.Errorf("upstream saw SNI %q, want %q", got, tc.wantSNI)
			}
			if tc.method == "HEAD" {
				if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
					t.Errorf("HEAD answered with a body %q", b)
				}
				return
			}
			if echo == nil {
				t.Fatal("no echo reply")
			}
			if echo.Method != tc.method || echo.Path+queryOf(echo) != tc.path {
				t.Errorf("upstream got %s %s%s, want %s %s", echo.Method, echo.Path, queryOf(echo), tc.method, tc.path)
			}
			if tc.method == "POST" && echo.Body != `{"over":"tls"}` {
				t.Errorf("upstream got body %q", echo.Body)
			}
			if p := echo.Header["X-Forwarded-Proto"]; len(p) != 1 || p[0] != "http" {
				t.Errorf("X-Forwarded-Proto %v, want [http] (the client's scheme)", p)
			}
		})
	}
}

func queryOf(e *echoReply) string {
	if e.Query == "" {
		return ""
	}
	return "?" + e.Query
}

// bodyFor is a small request body for POST, none otherwise.
func bodyFor(method string) io.Reader {
	if method == "POST" {
		return strings.NewReader(`{"over":"tls"}`)
	}
	return nil
}
