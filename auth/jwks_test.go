package auth

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/switchyard-ai/switchyard/config"
)

func TestJWTUnknownKidRefetchIsRateLimited(t *testing.T) {
	keys := genKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa}))
	v := newURLVerifier(t, baseConfig(), srv, clk)
	forge := func(i int) string {
		return signJWT(t, "RS256", "forged-"+strings.Repeat("x", i%7), keys.other, claimsAt(clk.Now(), nil))
	}
	verifyMany := func() {
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				if _, err := v.Verify(t.Context(), forge(i)); !errors.Is(err, ErrSigningKeyUnknown) {
					t.Errorf("Verify = %v, want %v", err, ErrSigningKeyUnknown)
				}
			})
		}
		wg.Wait()
	}
	verifyMany()
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("after forged kids inside the window: %d fetches, want 1", n)
	}
	clk.Advance(jwksRefetchWindow + time.Second)
	verifyMany()
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("after forged kids past the window: %d fetches, want 2", n)
	}
	// The known key still works throughout.
	if _, err := v.Verify(t.Context(), signJWT(t, "RS256", "rsa1", keys.rsa, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatal(err)
	}
}

func TestJWTRotation(t *testing.T) {
	keys := genKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa}))
	v := newURLVerifier(t, baseConfig(), srv, clk)

	// A new kid: unknown until the refetch window allows a fetch, then known.
	srv.set(jwksJSON(t, map[string]crypto.Signer{"rsa2": keys.rsa2}))
	newTok := func() string { return signJWT(t, "RS256", "rsa2", keys.rsa2, claimsAt(clk.Now(), nil)) }
	if _, err := v.Verify(t.Context(), newTok()); !errors.Is(err, ErrSigningKeyUnknown) {
		t.Fatalf("new kid inside the window: %v", err)
	}
	clk.Advance(jwksRefetchWindow)
	if _, err := v.Verify(t.Context(), newTok()); err != nil {
		t.Fatalf("new kid after the window: %v", err)
	}
	if _, err := v.Verify(t.Context(), signJWT(t, "RS256", "rsa1", keys.rsa, claimsAt(clk.Now(), nil))); !errors.Is(err, ErrSigningKeyUnknown) {
		t.Fatalf("retired kid: %v", err)
	}

	// The same kid, a new key: the periodic refresh picks it up.
	srv.set(jwksJSON(t, map[string]crypto.Signer{"rsa2": keys.other}))
	if err := v.src.fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), signJWT(t, "RS256", "rsa2", keys.other, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if _, err := v.Verify(t.Context(), newTok()); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("old key under a rotated kid: %v", err)
	}

	// A failed refresh keeps the keys.
	srv.status.Store(http.StatusInternalServerError)
	if err := v.src.fetch(t.Context()); err == nil {
		t.Fatal("fetch from a failing server worked")
	}
	if _, err := v.Verify(t.Context(), signJWT(t, "RS256", "rsa2", keys.other, claimsAt(clk.Now(), nil))); err != nil {
		t.Fatalf("after a failed refresh: %v", err)
	}
}

func TestJWTBackgroundRefresh(t *testing.T) {
	keys := genKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa}))
	c := baseConfig()
	c.JWKS.Refresh = config.Duration(minRefresh)
	v := newURLVerifier(t, c, srv, clk)
	srv.set(jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa2}))
	tok := signJWT(t, "RS256", "rsa1", keys.rsa2, claimsAt(clk.Now(), nil))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(t.Context(), tok)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refresh never picked up the new key: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	v.Close()
	v.Close() // idempotent
	n := srv.requests.Load()
	time.Sleep(minRefresh + 200*time.Millisecond)
	if m := srv.requests.Load(); m != n {
		t.Fatalf("fetched after Close: %d, then %d", n, m)
	}
}

func TestJWTContextEndsRefresh(t *testing.T) {
	keys := genKeys(t)
	srv := newJWKSServer(t, jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa}))
	ctx, cancel := context.WithCancel(t.Context())
	c := baseConfig()
	c.JWKS.URL = srv.URL
	v, err := NewJWTVerifier(ctx, c, JWTOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-v.src.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the refresh goroutine outlived its context")
	}
	v.Close()
}

func TestJWTFirstFetchFails(t *testing.T) {
	keys := genKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa}))
	srv.status.Store(http.StatusServiceUnavailable)
	v := newURLVerifier(t, baseConfig(), srv, clk)
	tok := func() string { return signJWT(t, "RS256", "rsa1", keys.rsa, claimsAt(clk.Now(), nil)) }
	if _, err := v.Verify(t.Context(), tok()); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify without keys = %v", err)
	}
	srv.status.Store(http.StatusOK)
	if _, err := v.Verify(t.Context(), tok()); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Verify without keys, inside the window = %v", err)
	}
	clk.Advance(jwksRefetchWindow)
	if _, err := v.Verify(t.Context(), tok()); err != nil {
		t.Fatalf("Verify after the IdP came back: %v", err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestJWTFile(t *testing.T) {
	keys := genKeys(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clk := newClock()
	c := baseConfig()
	c.JWKS.File = write("jwks.json", jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa, "ec1": keys.ec}))
	v, err := NewJWTVerifier(t.Context(), c, JWTOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, tok := range []string{
		signJWT(t, "RS256", "rsa1", keys.rsa, claimsAt(clk.Now(), nil)),
		signJWT(t, "ES256", "ec1", keys.ec, claimsAt(clk.Now(), nil)),
		signJWT(t, "ES256", "", keys.ec, claimsAt(clk.Now(), nil)), // no kid: tried against the keys that fit
	} {
		if p, err := v.Verify(t.Context(), tok); err != nil || p.Consumer != "user-1" {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
	}
	if _, err := v.Verify(t.Context(), signJWT(t, "RS256", "rsa9", keys.rsa, claimsAt(clk.Now(), nil))); !errors.Is(err, ErrSigningKeyUnknown) {
		t.Fatalf("unknown kid = %v", err)
	}

	bad := map[string]string{
		"missing":   filepath.Join(dir, "nope.json"),
		"garbage":   write("garbage.json", []byte("{not json")),
		"symmetric": write("oct.json", []byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`)),
		"empty":     write("empty.json", []byte(`{"keys":[]}`)),
	}
	for name, path := range bad {
		c.JWKS.File = path
		_, err := NewJWTVerifier(t.Context(), c, JWTOptions{})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, path)
		}
	}
}

func TestJWTOtherAlgorithmsAndClaims(t *testing.T) {
	keys := genKeys(t)
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	srv := newJWKSServer(t, jwksJSON(t, map[string]crypto.Signer{"ps1": keys.rsa, "ed1": edPriv}))
	c := config.JWTAuth{Algorithms: []string{"PS256", "EdDSA"}, ConsumerClaim: "azp", TeamClaim: "org"}
	v := newURLVerifier(t, c, srv, clk)
	sign := func(alg jwa.SignatureAlgorithm, kid string, key any) string {
		claims, _ := json.Marshal(map[string]any{"sub": "u", "azp": "app-7", "org": "blue", "exp": clk.Now().Add(time.Minute).Unix()})
		h := jws.NewHeaders()
		if err := h.Set(jws.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
		tok, err := jws.Sign(claims, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	for _, tok := range []string{sign(jwa.PS256(), "ps1", keys.rsa), sign(jwa.EdDSA(), "ed1", edPriv)} {
		p, err := v.Verify(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if p.Consumer != "app-7" || p.Team != "blue" || p.Subject != "u" {
			t.Fatalf("principal = %+v", p)
		}
	}
	// RS256 is not in this list.
	if _, err := v.Verify(t.Context(), sign(jwa.RS256(), "ps1", keys.rsa)); !errors.Is(err, ErrAlgorithmNotAllowed) {
		t.Fatalf("RS256 = %v", err)
	}
}

func TestNewJWTVerifierRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "jwks.json")
	tests := []struct {
		name string
		mod  func(*config.JWTAuth)
		want string
	}{
		{"alg none", func(c *config.JWTAuth) { c.Algorithms = []string{"RS256", "none"} }, `"none" is never allowed`},
		{"alg HS256", func(c *config.JWTAuth) { c.Algorithms = []string{"HS256"} }, "HMAC"},
		{"alg hs512", func(c *config.JWTAuth) { c.Algorithms = []string{"hs512"} }, "HMAC"},
		{"alg unknown", func(c *config.JWTAuth) { c.Algorithms = []string{"RS1"} }, "not supported"},
		{"no jwks", func(c *config.JWTAuth) { c.JWKS = config.JWKS{} }, "needs a url or a file"},
		{"both", func(c *config.JWTAuth) { c.JWKS.File = file }, "both"},
		{"bad url", func(c *config.JWTAuth) { c.JWKS.URL = "ftp://x" }, "http(s)"},
		{"negative skew", func(c *config.JWTAuth) { c.ClockSkew = config.Duration(-time.Second) }, "negative"},
		{"negative refresh", func(c *config.JWTAuth) { c.JWKS.Refresh = config.Duration(-time.Second) }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.JWTAuth{JWKS: config.JWKS{URL: "http://127.0.0.1:1/jwks"}}
			tt.mod(&c)
			v, err := NewJWTVerifier(t.Context(), c, JWTOptions{})
			if err == nil {
				v.Close()
				t.Fatal("NewJWTVerifier worked")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"Bearer a b", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := BearerToken(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzVerify(f *testing.F) {
	keys := genKeys(f)
	clk := newClock()
	path := filepath.Join(f.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwksJSON(f, map[string]crypto.Signer{"rsa1": keys.rsa, "ec1": keys.ec}), 0o600); err != nil {
		f.Fatal(err)
	}
	c := baseConfig()
	c.JWKS.File = path
	v, err := NewJWTVerifier(context.Background(), c, JWTOptions{Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	valid := signJWT(f, "RS256", "rsa1", keys.rsa, claimsAt(clk.Now(), nil))
	for _, s := range []string{
		valid,
		signJWT(f, "ES256", "ec1", keys.ec, claimsAt(clk.Now(), nil)),
		signJWT(f, "none", "", nil, claimsAt(clk.Now(), nil)),
		signJWT(f, "HS256", "rsa1", []byte("secret"), claimsAt(clk.Now(), nil)),
		"", ".", "..", "a.b", "a.b.c", "e30.e30.", "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(context.Background(), token)
		if err == nil {
			if p == nil || p.Consumer == "" {
				t.Fatalf("accepted without a consumer: %+v", p)
			}
			if token != valid && !strings.HasPrefix(token, "ey") {
				t.Fatalf("accepted an odd token %q", token)
			}
			return
		}
		var te *TokenError
		if !errors.As(err, &te) {
			t.Fatalf("error %T is not a *TokenError: %v", err, err)
		}
		if len(token) > 16 && strings.Contains(err.Error(), token) {
			t.Fatalf("error quotes the token: %v", err)
		}
	})
}
