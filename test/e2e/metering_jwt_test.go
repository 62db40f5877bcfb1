package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// TestMeteringJWT checks JWT client auth through the binary: a token signed
// by the JWKS's key is admitted and charged to its team; forged, expired,
// wrong-issuer, wrong-audience and alg none tokens are 401s that say why.
func TestMeteringJWT(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jwks := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwks, testutil.RSAJWKS(t, map[string]*rsa.PublicKey{"k1": &key.PublicKey}), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startAIGateway(t, `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    policies:
      clientAuth:
        jwt: {issuer: https://idp.example, audiences: [switchyard], jwks: {file: `+jwks+`}}
    rules: [{backendRefs: [{name: sim}]}]
backends: [{name: sim, ai: {provider: sim, models: [gpt-4o-mini]}}]
access:
  teams: [{name: research, limits: [{requests: 2, per: minute}]}]
`, "SWITCHYARD_DATA_DIR="+dir)
	now := time.Now().Unix()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": "https://idp.example", "aud": "switchyard", "sub": "carol", "team": "research",
			"exp": now + 600, "iat": now}
		if edit != nil {
			edit(c)
		}
		return c
	}
	good := testutil.SignJWT(t, "RS256", "k1", key, claims(nil))
	tests := []struct {
		name, token string
		status      int
		want        string
	}{
		{"valid", good, 200, ""},
		{"alg none", testutil.SignJWT(t, "none", "k1", nil, claims(nil)), 401, "algorithm not allowed"},
		{"HS256 with the public key", testutil.SignJWT(t, "HS256", "k1", key.PublicKey.N.Bytes(), claims(nil)), 401, "algorithm not allowed"},
		{"wrong key", testutil.SignJWT(t, "RS256", "k1", other, claims(nil)), 401, "signature invalid"},
		{"expired", testutil.SignJWT(t, "RS256", "k1", key, claims(func(c map[string]any) { c["exp"] = now - 3600 })), 401, "expired"},
		{"wrong issuer", testutil.SignJWT(t, "RS256", "k1", key, claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), 401, "issuer"},
		{"wrong audience", testutil.SignJWT(t, "RS256", "k1", key, claims(func(c map[string]any) { c["aud"] = "other" })), 401, "audience"},
		{"malformed", "eyJhbGciOiJSUzI1NiJ9.!!!.x", 401, "Invalid token"},
		{"two parts", "eyJhbGciOiJSUzI1NiJ9.e30", 401, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := chat(t, g, tc.token, 5, false)
			body := drain(resp)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s; want %d with %q", resp.StatusCode, body, tc.status, tc.want)
			}
			if tc.status == 401 && strings.Contains(body, tc.token) {
				t.Fatalf("the error quotes the token: %s", body)
			}
		})
	}
	// The team's limit of 2 requests a minute applies to its members' tokens.
	resp := chat(t, g, good, 5, false)
	drain(resp)
	if resp.StatusCode != 200 {
		t.Fatalf("second request: %d", resp.StatusCode)
	}
	resp = chat(t, g, good, 5, false)
	body := drain(resp)
	if resp.StatusCode != 429 || !strings.Contains(body, "team research") {
		t.Fatalf("third request: %d %s", resp.StatusCode, body)
	}
	// The usage records name the JWT's consumer and team.
	var usage struct {
		Usage []struct {
			Group    map[string]string
			Requests int64
		}
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		getJSON(t, "http://"+g.Admin+"/usage?groupBy=consumer,team", &usage)
		return len(usage.Usage) == 1 && usage.Usage[0].Requests >= 2
	}, "usage records of the JWT's consumer")
	if got := usage.Usage[0].Group; got["consumer"] != "carol" || got["team"] != "research" {
		b, _ := json.Marshal(usage)
		t.Fatalf("usage: %s", b)
	}
}
