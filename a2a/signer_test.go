package a2a

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

// TestSigningKeyInlineOrFile loads the resign key from keyPEM (as the
// Kubernetes controller delivers a Secret's) and from keyFile, and refuses
// what is not a usable key, never echoing the key in the error.
func TestSigningKeyInlineOrFile(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	good := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	file := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(file, good, 0o600); err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der384, _ := x509.MarshalECPrivateKey(p384)
	tests := []struct {
		name    string
		keyFile string
		keyPEM  string
		want    string // "" when the agent is made
	}{
		{"inline", "", string(good), ""},
		{"file", file, "", ""},
		{"inline not a key", "", "-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END EC PRIVATE KEY-----\n", "a2a: signing key keyPEM:"},
		{"inline wrong curve", "", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der384})), "P-256"},
		{"inline no block", "", "secret-bytes", "holds no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.A2ABackend{URL: "http://agent.example", Signing: config.A2ASigningResign, KeyFile: tt.keyFile, KeyPEM: config.Secret(tt.keyPEM)}
			a, err := New("ns/agent", cfg, slog.New(slog.DiscardHandler))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want == "" && a.signer == nil:
				t.Fatal("no signer")
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			case err != nil && (strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "secret-bytes")):
				t.Fatalf("the key leaked into the error: %v", err)
			}
		})
	}
}
