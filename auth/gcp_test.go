package auth

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/vertexfake"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func newFake(t *testing.T) *vertexfake.Server {
	t.Helper()
	f, err := vertexfake.New(vertexfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func TestGCPSignerServiceAccount(t *testing.T) {
	f := newFake(t)
	path, err := f.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewGCPSigner(context.Background(), &config.GCPAuth{CredentialsFile: path})
	if err != nil {
		t.Fatalf("NewGCPSigner: %v", err)
	}
	if n := f.Count("token"); n != 0 {
		t.Fatalf("token fetched at construction: %d requests", n)
	}
	var first string
	for i := 0; i < 5; i++ {
		req := &schema.Upstream{URL: f.URL + "/v1/x"}
		if err := s.Sign(context.Background(), req, ClientCredentials{}); err != nil {
			t.Fatalf("Sign: %v", err)
		}
		got := req.GetHeader("Authorization")
		if !strings.HasPrefix(got, "Bearer ya29.fake-") {
			t.Fatalf("Authorization = %q", got)
		}
		if first == "" {
			first = got
		} else if got != first {
			t.Fatalf("token changed between requests: not cached")
		}
	}
	if n := f.Count("token"); n != 1 {
		t.Fatalf("token endpoint called %d times for 5 requests, want 1", n)
	}
}

func TestGCPSignerADCFromEnv(t *testing.T) {
	f := newFake(t)
	path, err := f.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	s, err := NewGCPSigner(context.Background(), &config.GCPAuth{})
	if err != nil {
		t.Fatalf("NewGCPSigner: %v", err)
	}
	if err := s.Prefetch(context.Background()); err != nil {
		t.Fatalf("Prefetch: %v", err)
	}
	req := &schema.Upstream{}
	if err := s.Sign(context.Background(), req, ClientCredentials{}); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if f.Count("token") != 1 || req.GetHeader("Authorization") == "" {
		t.Fatalf("token requests %d, header %q", f.Count("token"), req.GetHeader("Authorization"))
	}
}

func TestGCPSignerWrongKeyRejected(t *testing.T) {
	f, other := newFake(t), newFake(t)
	// other's key, but f's token endpoint: f must reject the signature.
	b, err := other.CredentialsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	own, err := f.CredentialsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var fm map[string]string
	if err := json.Unmarshal(own, &fm); err != nil {
		t.Fatal(err)
	}
	m["token_uri"], m["private_key_id"] = f.TokenURL(), fm["private_key_id"]
	b, _ = json.Marshal(m)
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewGCPSigner(context.Background(), &config.GCPAuth{CredentialsFile: path})
	if err != nil {
		t.Fatalf("NewGCPSigner: %v", err)
	}
	req := &schema.Upstream{}
	err = s.Sign(context.Background(), req, ClientCredentials{})
	var se *schema.Error
	if err == nil || !errors.As(err, &se) || se.Status != 502 {
		t.Fatalf("Sign with a wrong key: err = %v, want a 502 *schema.Error", err)
	}
	if strings.Contains(se.Message, "PRIVATE KEY") || req.GetHeader("Authorization") != "" {
		t.Fatalf("unexpected: message %q, header %q", se.Message, req.GetHeader("Authorization"))
	}
	if !strings.Contains(err.Error(), "invalid JWT signature") {
		t.Fatalf("cause not kept for logs: %v", err)
	}
	if err := s.Prefetch(context.Background()); err == nil {
		t.Fatal("Prefetch with a wrong key succeeded")
	}
}

func TestGCPSignerLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(dir, "nope.json"), "read credentialsFile"},
		{"not json", write("bad.json", "not json"), "is not JSON"},
		{"unknown type", write("type.json", `{"type":"mystery"}`), `unsupported type "mystery"`},
		{"broken service account", write("sa.json", `{"type":"service_account","private_key":"x"}`), "load credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewGCPSigner(context.Background(), &config.GCPAuth{CredentialsFile: tt.file})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
