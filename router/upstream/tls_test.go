package upstream

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// tlsUpstream is an HTTPS upstream on loopback that counts the requests it serves
// and records the SNI of the last one.
type tlsUpstream struct {
	srv  *httptest.Server
	ep   config.Endpoint
	hits atomic.Int32
	sni  atomic.Value // string
}

// newTLSUpstream starts an HTTPS server answering 200 and name. With a nil cert it
// serves httptest's certificate (valid for 127.0.0.1, ::1 and example.com).
func newTLSUpstream(t testing.TB, name string, cert *tls.Certificate) *tlsUpstream {
	t.Helper()
	u := &tlsUpstream{}
	u.sni.Store("")
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if r.TLS != nil {
			u.sni.Store(r.TLS.ServerName)
		}
		w.Header().Set("X-Endpoint", name)
		_, _ = io.WriteString(w, name)
	}))
	// Keep the handshake errors the tests provoke out of the test log.
	u.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cert != nil {
		u.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	u.ep = endpointOf(t, u.srv.Listener.Addr().String())
	return u
}

// caFileOf writes the server's certificate as PEM into a temporary file.
func caFileOf(t testing.TB, cert *x509.Certificate) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSigned makes a self-signed certificate for 127.0.0.1 that nothing trusts.
func selfSigned(t testing.TB) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "untrusted.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestBackendTLS(t *testing.T) {
	other := selfSigned(t)
	tests := []struct {
		name string
		// tls builds the backend's TLS settings; caFile is the server's certificate as PEM.
		tls func(caFile, otherCA string) *config.BackendTLS
		// wantStatus is the upstream status (200) or the StatusError's status.
		wantStatus int
		wantSNI    string
	}{
		{
			name:       "caFile trusts the server",
			tls:        func(ca, _ string) *config.BackendTLS { return &config.BackendTLS{CAFile: ca} },
			wantStatus: 200,
			wantSNI:    "", // an IP address is verified but never sent as SNI
		},
		{
			name:       "system roots reject a test certificate",
			tls:        func(string, string) *config.BackendTLS { return &config.BackendTLS{} },
			wantStatus: 502,
		},
		{
			name:       "caFile of another CA rejects",
			tls:        func(_, o string) *config.BackendTLS { return &config.BackendTLS{CAFile: o} },
			wantStatus: 502,
		},
		{
			name: "serverName overrides SNI and verification name",
			tls: func(ca, _ string) *config.BackendTLS {
				return &config.BackendTLS{CAFile: ca, ServerName: "example.com"}
			},
			wantStatus: 200,
			wantSNI:    "example.com",
		},
		{
			name: "serverName the certificate does not cover rejects",
			tls: func(ca, _ string) *config.BackendTLS {
				return &config.BackendTLS{CAFile: ca, ServerName: "wrong.test"}
			},
			wantStatus: 502,
		},
		{
			name:       "insecureSkipVerify accepts an untrusted certificate",
			tls:        func(string, string) *config.BackendTLS { return &config.BackendTLS{InsecureSkipVerify: true} },
			wantStatus: 200,
		},
		{
			name: "insecureSkipVerify ignores a wrong serverName but still sends it",
			tls: func(string, string) *config.BackendTLS {
				return &config.BackendTLS{InsecureSkipVerify: true, ServerName: "anything.test"}
			},
			wantStatus: 200,
			wantSNI:    "anything.test",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newTLSUpstream(t, "secure", nil)
			s := static(u.ep)
			s.TLS = tc.tls(caFileOf(t, u.srv.Certificate()), caFileOf(t, other.Leaf))
			// A short connect timeout, no request timeout: a failed handshake must end
			// the attempt by itself.
			s.ConnectionPool.ConnectTimeout = dur(2 * time.Second)
			p := newTestPool(t, s, nil)

			for i := range 2 { // the second request reuses the connection (or fails again)
				ctx, res, err := forwardOnce(p, Options{}, "GET", "/x")
				if tc.wantStatus != 200 {
					if got := statusOf(err); got != tc.wantStatus {
						t.Fatalf("request %d: err %v (status %d), want status %d", i, err, got, tc.wantStatus)
					}
					if res.Status != 0 {
						t.Fatalf("request %d: upstream status %d, want none", i, res.Status)
					}
					continue
				}
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if body := finish(ctx); res.Status != 200 || string(body) != "secure" {
					t.Fatalf("request %d: status %d body %q", i, res.Status, body)
				}
			}
			wantHits := int32(0)
			if tc.wantStatus == 200 {
				wantHits = 2
			}
			if got := u.hits.Load(); got != wantHits {
				t.Fatalf("upstream served %d requests, want %d", got, wantHits)
			}
			if tc.wantStatus == 200 {
				if got := u.sni.Load().(string); got != tc.wantSNI {
					t.Fatalf("upstream saw SNI %q, want %q", got, tc.wantSNI)
				}
			}
		})
	}
}

// TestBackendTLSFailureRetriesElsewhere: a certificate that does not verify is a
// connect error (the request never reached the endpoint): it is retried on another
// endpoint even when the retry codes do not list 502, and counts toward ejection.
func TestBackendTLSFailureRetriesElsewhere(t *testing.T) {
	good := newTLSUpstream(t, "good", nil)
	bad := newTLSUpstream(t, "bad", selfSigned(t))
	s := static(bad.ep, good.ep)
	s.TLS = &config.BackendTLS{CAFile: caFileOf(t, good.srv.Certificate())}
	s.OutlierDetection = &config.OutlierDetection{Consecutive5xx: 2, BaseEjectionTime: dur(time.Minute), MaxEjectionPercent: 50}
	p := newTestPool(t, s, nil)
	opts := Options{Retry: &config.Retry{Attempts: 1, Codes: []int{503}, Backoff: dur(time.Millisecond)}}

	for i := range 4 {
		ctx, res, err := forwardOnce(p, opts, "GET", "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if body := finish(ctx); res.Status != 200 || string(body) != "good" {
			t.Fatalf("request %d: status %d body %q", i, res.Status, body)
		}
	}
	if got := bad.hits.Load(); got != 0 {
		t.Fatalf("the untrusted endpoint served %d requests", got)
	}
	if st := p.Status()["b"]; !st[0].Ejected || st[1].Ejected {
		t.Fatalf("status %+v, want the untrusted endpoint ejected", st)
	}
}

// TestBackendTLSHandshakeTimeout: an endpoint that accepts the connection but never
// answers the TLS handshake is bounded by connectTimeout, even without a request
// timeout.
func TestBackendTLSHandshakeTimeout(t *testing.T) {
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
			t.Cleanup(func() { _ = c.Close() }) // accept, then say nothing
		}
	}()
	s := static(endpointOf(t, ln.Addr().String()))
	s.TLS = &config.BackendTLS{InsecureSkipVerify: true}
	s.ConnectionPool.ConnectTimeout = dur(200 * time.Millisecond)
	p := newTestPool(t, s, nil)

	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, _, err := forwardOnce(p, Options{}, "GET", "/")
		done <- err
	}()
	select {
	case err := <-done:
		if got := statusOf(err); got != 502 {
			t.Fatalf("err %v (status %d), want 502", err, got)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("took %v, want about the connect timeout", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request hangs on a silent TLS endpoint")
	}
}

// TestBackendTLSSetupErrors: a CA file that cannot be used disables the endpoint
// (503, never a plaintext or unverified connection).
func TestBackendTLSSetupErrors(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		caFile string
	}{
		{name: "missing CA file", caFile: filepath.Join(t.TempDir(), "absent.pem")},
		{name: "CA file without PEM", caFile: notPEM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newTLSUpstream(t, "secure", nil)
			s := static(u.ep)
			s.TLS = &config.BackendTLS{CAFile: tc.caFile}
			p := newTestPool(t, s, nil)
			if _, _, err := forwardOnce(p, Options{}, "GET", "/"); statusOf(err) != 503 {
				t.Fatalf("err %v, want status 503", err)
			}
			if got := u.hits.Load(); got != 0 {
				t.Fatalf("upstream served %d requests", got)
			}
		})
	}
}

// TestBackendTLSHealthCheck: active health checks use the backend's TLS settings:
// a trusted endpoint stays healthy, one whose certificate does not verify is marked
// down.
func TestBackendTLSHealthCheck(t *testing.T) {
	tests := []struct {
		name        string
		cert        *tls.Certificate
		wantHealthy bool
	}{
		{name: "trusted endpoint stays healthy", wantHealthy: true},
		{name: "untrusted endpoint is marked down", cert: selfSigned(t), wantHealthy: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trusted := newTLSUpstream(t, "trusted", nil)
			u := trusted
			if tc.cert != nil {
				u = newTLSUpstream(t, "checked", tc.cert)
			}
			s := static(u.ep)
			s.TLS = &config.BackendTLS{CAFile: caFileOf(t, trusted.srv.Certificate())}
			s.HealthCheck = &config.HealthCheck{Path: "/healthz", Interval: dur(20 * time.Millisecond),
				Timeout: dur(time.Second), UnhealthyThreshold: 1, HealthyThreshold: 1}
			p := newTestPool(t, s, nil)
			if tc.wantHealthy {
				testutil.Eventually(t, 2*time.Second, func() bool { return u.hits.Load() >= 2 }, "health checks to succeed")
				if !p.Status()["b"][0].Healthy {
					t.Fatal("trusted endpoint marked down")
				}
				return
			}
			testutil.Eventually(t, 2*time.Second, func() bool { return !p.Status()["b"][0].Healthy }, "endpoint marked down")
			if got := u.hits.Load(); got != 0 {
				t.Fatalf("untrusted endpoint served %d checks", got)
			}
		})
	}
}

// TestBackendTLSRebuildRereadsCAFile: Rebuild keeps an endpoint's connections only
// while its CA file is unchanged; a CA replaced at the same path is used by the new
// Pool.
func TestBackendTLSRebuildRereadsCAFile(t *testing.T) {
	u := newTLSUpstream(t, "secure", nil)
	caFile := caFileOf(t, selfSigned(t).Leaf) // not the server's CA yet
	s := static(u.ep)
	s.TLS = &config.BackendTLS{CAFile: caFile}
	backends := map[string]*config.Backend{"b": {Name: "default/b", Static: s}}
	state := NewState()
	t.Cleanup(state.Close)
	rebuild := func() *Pool {
		gen := state.Begin()
		p := BuildPool(gen, backends, nil)
		gen.Commit()
		return p
	}
	p := rebuild()
	if _, _, err := forwardOnce(p, Options{}, "GET", "/"); statusOf(err) != 502 {
		t.Fatalf("before: err %v, want status 502", err)
	}

	// Unchanged file: the endpoint state is kept.
	same := rebuild()
	if same.backends["b"].members[0].st != p.backends["b"].members[0].st {
		t.Fatal("Rebuild with an unchanged CA file replaced the endpoint state")
	}

	// The CA is replaced at the same path: the next Pool trusts the new one.
	data, err := os.ReadFile(caFileOf(t, u.srv.Certificate()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	next := rebuild()
	ctx, res, err := forwardOnce(next, Options{}, "GET", "/")
	if err != nil || res.Status != 200 || string(finish(ctx)) != "secure" {
		t.Fatalf("after the CA changed: %v %d", err, res.Status)
	}
}
