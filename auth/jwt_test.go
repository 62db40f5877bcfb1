package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/switchyard-ai/switchyard/config"
)

const testIssuer = "https://idp.example.test"

// fakeClock is the injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signJWT makes a compact JWS by hand (see testutil.SignJWT).
func signJWT(t testing.TB, alg, kid string, key any, claims map[string]any) string {
	t.Helper()
	return testutil.SignJWT(t, alg, kid, key, claims)
}

func signWithHeader(t testing.TB, hdr map[string]any, key any, claims map[string]any) string {
	t.Helper()
	return testutil.SignJWTHeader(t, hdr, key, claims)
}

// testKeys are the keys of the tests' JWKS.
type testKeys struct {
	rsa, rsa2, other *rsa.PrivateKey
	ec               *ecdsa.PrivateKey
}

func genKeys(t testing.TB) *testKeys {
	t.Helper()
	var k testKeys
	var err error
	for _, p := range []**rsa.PrivateKey{&k.rsa, &k.rsa2, &k.other} {
		if *p, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	return &k
}

// jwksJSON is a JWKS of the public halves of keys, by kid.
func jwksJSON(t testing.TB, keys map[string]crypto.Signer) []byte {
	t.Helper()
	set := jwk.NewSet()
	for kid, priv := range keys {
		k, err := jwk.Import(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		if err := k.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksServer serves a JWKS it can switch, counting requests.
type jwksServer struct {
	*httptest.Server
	body     atomic.Pointer[[]byte]
	status   atomic.Int32
	requests atomic.Int64
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.set(body)
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.requests.Add(1)
		if st := int(s.status.Load()); st != http.StatusOK {
			w.WriteHeader(st)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) { s.body.Store(&body) }

func newURLVerifier(t testing.TB, c config.JWTAuth, srv *jwksServer, clk *fakeClock) *JWTVerifier {
	t.Helper()
	c.JWKS.URL = srv.URL + "/jwks.json"
	v, err := NewJWTVerifier(t.Context(), c, JWTOptions{HTTPClient: srv.Client(), Now: clk.Now})
	if err != nil {
		t.Fatalf("NewJWTVerifier: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

func baseConfig() config.JWTAuth {
	return config.JWTAuth{Issuer: testIssuer, Audiences: []string{"switchyard", "gateway"}}
}

// claimsAt are valid claims at now, with changes (a nil value deletes).
func claimsAt(now time.Time, changes map[string]any) map[string]any {
	c := map[string]any{
		"iss": testIssuer, "aud": "switchyard", "sub": "user-1", "team": "team-a",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func rsaPublicPEM(t testing.TB, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestJWTVerify(t *testing.T) {
	keys := genKeys(t)
	clk := newClock()
	now := clk.Now()
	srv := newJWKSServer(t, jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa, "ec1": keys.ec}))
	v := newURLVerifier(t, baseConfig(), srv, clk)
	at := func(ch map[string]any) map[string]any { return claimsAt(now, ch) }
	valid := signJWT(t, "RS256", "rsa1", keys.rsa, at(nil))
	parts := strings.Split(valid, ".")
	otherPayload := b64([]byte(`{"sub":"admin","exp":9999999999}`))

	tests := []struct {
		name     string
		token    string
		want     error // nil: valid
		team     string
		consumer string
	}{
		{name: "RS256 valid", token: valid, team: "team-a", consumer: "user-1"},
		{name: "ES256 valid", token: signJWT(t, "ES256", "ec1", keys.ec, at(nil)), team: "team-a", consumer: "user-1"},
		{name: "audience in array", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"aud": []string{"x", "gateway"}})), team: "team-a", consumer: "user-1"},
		{name: "no team", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"team": nil})), consumer: "user-1"},
		{name: "expired within skew", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"exp": now.Add(-30 * time.Second).Unix()})), team: "team-a", consumer: "user-1"},
		{name: "nbf within skew", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"nbf": now.Add(30 * time.Second).Unix()})), team: "team-a", consumer: "user-1"},
		{name: "alg none", token: signJWT(t, "none", "rsa1", nil, at(nil)), want: ErrAlgorithmNotAllowed},
		{name: "alg none with a signature", token: strings.Join([]string{b64([]byte(`{"alg":"none"}`)), parts[1], parts[2]}, "."), want: ErrAlgorithmNotAllowed},
		{name: "HS256 with the RSA public key as secret", token: signJWT(t, "HS256", "rsa1", rsaPublicPEM(t, keys.rsa), at(nil)), want: ErrAlgorithmNotAllowed},
		{name: "HS256 with the JWKS as secret", token: signJWT(t, "HS256", "rsa1", jwksJSON(t, map[string]crypto.Signer{"rsa1": keys.rsa}), at(nil)), want: ErrAlgorithmNotAllowed},
		{name: "PS256 not in the default list", token: signWithHeader(t, map[string]any{"alg": "PS256", "kid": "rsa1"}, keys.rsa, at(nil)), want: ErrAlgorithmNotAllowed},
		{name: "wrong key same kid", token: signJWT(t, "RS256", "rsa1", keys.other, at(nil)), want: ErrSignatureInvalid},
		{name: "ES256 header on an RSA kid", token: signJWT(t, "ES256", "rsa1", keys.ec, at(nil)), want: ErrSignatureInvalid},
		{name: "payload swapped", token: parts[0] + "." + otherPayload + "." + parts[2], want: ErrSignatureInvalid},
		{name: "empty signature", token: parts[0] + "." + parts[1] + ".", want: ErrSignatureInvalid},
		{name: "unknown kid", token: signJWT(t, "RS256", "nope", keys.rsa, at(nil)), want: ErrSigningKeyUnknown},
		{name: "wrong issuer", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"iss": "https://evil.test"})), want: ErrIssuerNotAccepted},
		{name: "no issuer", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"iss": nil})), want: ErrIssuerNotAccepted},
		{name: "wrong audience", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"aud": "other"})), want: ErrAudienceNotAccepted},
		{name: "no audience", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"aud": nil})), want: ErrAudienceNotAccepted},
		{name: "expired", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"exp": now.Add(-2 * time.Minute).Unix()})), want: ErrTokenExpired},
		{name: "nbf in the future", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), want: ErrTokenNotYetValid},
		{name: "iat in the future", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"iat": now.Add(5 * time.Minute).Unix()})), want: ErrTokenNotYetValid},
		{name: "missing exp", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"exp": nil})), want: ErrClaimInvalid},
		{name: "exp a string", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"exp": "tomorrow"})), want: ErrClaimInvalid},
		{name: "missing sub", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"sub": nil})), want: ErrClaimInvalid},
		{name: "team not a string", token: signJWT(t, "RS256", "rsa1", keys.rsa, at(map[string]any{"team": 7})), want: ErrClaimInvalid},
		{name: "crit header", token: signWithHeader(t, map[string]any{"alg": "RS256", "kid": "rsa1", "crit": []string{"exp"}}, keys.rsa, at(nil)), want: ErrMalformedToken},
		{name: "empty", token: "", want: ErrMalformedToken},
		{name: "two parts", token: parts[0] + "." + parts[1], want: ErrMalformedToken},
		{name: "four parts", token: valid + ".x", want: ErrMalformedToken},
		{name: "garbage base64", token: "!!!." + parts[1] + "." + parts[2], want: ErrMalformedToken},
		{name: "header null", token: b64([]byte("null")) + "." + parts[1] + "." + parts[2], want: ErrMalformedToken},
		{name: "header array", token: b64([]byte("[]")) + "." + parts[1] + "." + parts[2], want: ErrMalformedToken},
		{name: "alg not a string", token: b64([]byte(`{"alg":1}`)) + "." + parts[1] + "." + parts[2], want: ErrMalformedToken},
		{name: "huge header", token: b64([]byte(`{"alg":"RS256","x":"`+strings.Repeat("a", 20000)+`"}`)) + "." + parts[1] + "." + parts[2], want: ErrMalformedToken},
		{name: "claims not an object", token: signWithHeader(t, map[string]any{"alg": "RS256", "kid": "rsa1"}, keys.rsa, nil), want: ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(t.Context(), tt.token)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.Consumer != tt.consumer || p.Team != tt.team || p.Subject != "user-1" || p.KeyID != "" {
					t.Fatalf("principal = %+v", p)
				}
				if p.Claims["iss"] != testIssuer {
					t.Fatalf("claims = %v", p.Claims)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *TokenError", err)
			}
			for _, part := range strings.Split(tt.token, ".") {
				if len(part) > 8 && strings.Contains(err.Error(), part) {
					t.Fatalf("error %q quotes the token", err)
				}
			}
		})
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (construction; the unknown kid is inside the refetch window)", n)
	}
}
