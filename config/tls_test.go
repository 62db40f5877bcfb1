package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCerts writes a self-signed certificate, its key, and an unrelated key into a temp
// dir and returns their paths as environment variables CERT, KEY and OTHERKEY.
func testCerts(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"CERT":     filepath.Join(dir, "cert.pem"),
		"KEY":      filepath.Join(dir, "key.pem"),
		"OTHERKEY": filepath.Join(dir, "other.pem"),
		"MISSING":  filepath.Join(dir, "missing.pem"),
	}
	writePEM(t, env["CERT"], "CERTIFICATE", der)
	writeKey(t, env["KEY"], key)
	writeKey(t, env["OTHERKEY"], newKey(t))
	return env
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeKey(t *testing.T, path string, k *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "EC PRIVATE KEY", der)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCertificatePEM checks certificates given as PEM in memory (how the
// Kubernetes controller delivers Secrets): a valid pair compiles, a bad pair
// or a mix of files and PEM is refused, and the PEM is redacted in JSON.
func TestCertificatePEM(t *testing.T) {
	env := testCerts(t)
	read := func(k string) Secret {
		b, err := os.ReadFile(env[k])
		if err != nil {
			t.Fatal(err)
		}
		return Secret(b)
	}
	cases := []struct {
		name string
		cert Certificate
		want string // "" = compiles
	}{
		{"pem pair", Certificate{CertPEM: read("CERT"), KeyPEM: read("KEY")}, ""},
		{"mismatched key", Certificate{CertPEM: read("CERT"), KeyPEM: read("OTHERKEY")}, "not a valid key pair"},
		{"pem and file", Certificate{CertPEM: read("CERT"), KeyPEM: read("KEY"), CertFile: env["CERT"]}, "not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{Listeners: []Listener{{Name: "https", Port: 8443, Protocol: ProtocolHTTPS,
				TLS: &ListenerTLS{Certificates: []Certificate{c.cert}}}}}
			snap, err := Compile("pem", cfg)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err = %v, want %q", err, c.want)
			case c.want == "":
				b, _ := json.Marshal(snap.Config.Listeners[0].TLS)
				if strings.Contains(string(b), "PRIVATE KEY") || !strings.Contains(string(b), `"certPEM":"\u003credacted\u003e"`) {
					t.Fatalf("PEM not redacted: %s", b)
				}
			}
		})
	}
}
