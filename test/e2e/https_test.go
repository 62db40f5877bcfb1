package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for host into dir and returns its paths.
func writeCert(t *testing.T, dir, host, serial string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := new(big.Int).SetString(serial, 10)
	tmpl := &x509.Certificate{
		SerialNumber: n,
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, host+".crt"), filepath.Join(dir, host+".key")
	// Write to temporary names and rename, as a certificate manager does.
	writeFile(t, certFile+".tmp", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile+".tmp", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	if err := os.Rename(keyFile+".tmp", keyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certFile+".tmp", certFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// servedCert connects with SNI host and returns the leaf certificate's serial and the body of GET /.
func servedCert(t *testing.T, addr, host string) (string, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{ServerName: host, InsecureSkipVerify: true}, //nolint:gosec // self-signed test certificates; the serial is checked
	}}
	req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET https://%s (SNI %s): %v", addr, host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.TLS.PeerCertificates[0].SerialNumber.String(), string(b)
}

func TestHTTPSCertificateBySNIAndReload(t *testing.T) {
	dir := t.TempDir()
	apiCert, apiKey := writeCert(t, dir, "api.example.com", "1001")
	adminCert, adminKey := writeCert(t, dir, "admin.example.com", "2002")
	api, admin := newEcho(t, "api"), newEcho(t, "admin")
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: https
    address: 127.0.0.1
    port: {{PORT}}
    protocol: HTTPS
    tls: {certificates: [{certFile: %s, keyFile: %s}, {certFile: %s, keyFile: %s}]}
routes:
  - {name: api, hostnames: [api.example.com], rules: [{backendRefs: [{name: api}]}]}
  - {name: admin, hostnames: [admin.example.com], rules: [{backendRefs: [{name: admin}]}]}
backends:
  - {name: api, static: {endpoints: [%s]}}
  - {name: admin, static: {endpoints: [%s]}}
`, apiCert, apiKey, adminCert, adminKey, api.endpointYAML(1), admin.endpointYAML(1)))

	tests := []struct{ sni, wantSerial, wantUpstream string }{
		{"api.example.com", "1001", `"upstream":"api"`},
		{"admin.example.com", "2002", `"upstream":"admin"`},
		{"other.example.com", "1001", ""}, // the first certificate is the default
	}
	for _, tt := range tests {
		serial, body := servedCert(t, g.Addr(), tt.sni)
		if serial != tt.wantSerial {
			t.Fatalf("SNI %s: served certificate %s, want %s", tt.sni, serial, tt.wantSerial)
		}
		if tt.wantUpstream != "" && !strings.Contains(body, tt.wantUpstream) {
			t.Fatalf("SNI %s: body %s", tt.sni, body)
		}
	}

	// Replace the api certificate on disk: the gateway must pick up the new one.
	writeCert(t, dir, "api.example.com", "3003")
	testutil.Eventually(t, 10*time.Second, func() bool {
		serial, _ := servedCert(t, g.Addr(), "api.example.com")
		return serial == "3003"
	})
}
