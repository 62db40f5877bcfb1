package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/switchyard-ai/switchyard/config"
)

// Why Verify refuses a token. Verify's errors are *TokenError values whose
// Reason is one of these; errors.Is works on them. Their text, and the
// whole Error() text of a TokenError, never holds the token or key material
// and can be sent to the client (with 401, or 503 for ErrKeysUnavailable).
var (
	ErrMalformedToken      = errors.New("malformed token")
	ErrTokenExpired        = errors.New("token expired")
	ErrTokenNotYetValid    = errors.New("token not yet valid")
	ErrSignatureInvalid    = errors.New("token signature invalid")
	ErrIssuerNotAccepted   = errors.New("token issuer not accepted")
	ErrAudienceNotAccepted = errors.New("token audience not accepted")
	ErrAlgorithmNotAllowed = errors.New("token algorithm not allowed")
	ErrSigningKeyUnknown   = errors.New("signing key unknown")
	ErrClaimInvalid        = errors.New("token claim missing or invalid")
	ErrKeysUnavailable     = errors.New("signing keys unavailable")
)

// TokenError is why Verify refused a token: Reason is one of the Err*
// values above, Detail a fixed explanation (never token content).
type TokenError struct {
	// Reason is one of the Err* values.
	Reason error
	// Detail says more, in fixed words ("exp is missing"); "" for nothing.
	Detail string
}

// Error returns the reason and, when there is one, the detail.
func (e *TokenError) Error() string {
	if e.Detail == "" {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Detail
}

// Unwrap returns Reason, for errors.Is.
func (e *TokenError) Unwrap() error { return e.Reason }

func tokenErr(reason error, detail string) error { return &TokenError{Reason: reason, Detail: detail} }

const (
	// maxTokenBytes bounds a token: larger is malformed, unparsed.
	maxTokenBytes = 16 << 10
	// maxKidlessTries bounds the keys tried for a token without a kid.
	maxKidlessTries = 4
	// minRefresh is the shortest JWKS refresh interval.
	minRefresh = time.Second
)

// signatureAlgorithms are the algorithms a configuration may allow.
var signatureAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// JWTOptions are a JWTVerifier's collaborators; the zero value is usable.
type JWTOptions struct {
	// HTTPClient fetches the JWKS URL (default: a client with a 10s timeout).
	HTTPClient *http.Client
	// Log receives JWKS fetch failures (default: discarded).
	Log *slog.Logger
	// Now is the clock for exp, nbf, iat and the refetch window (default time.Now).
	Now func() time.Time
}

// JWTVerifier verifies bearer JWTs against a JWKS and turns their claims
// into a Principal. It is safe for concurrent use. A verifier whose JWKS is
// a URL refreshes it in the background until its context ends or Close.
type JWTVerifier struct {
	issuer        string
	audiences     []string
	algs          map[string]jwa.SignatureAlgorithm
	skew          time.Duration
	consumerClaim string
	teamClaim     string
	now           func() time.Time
	src           *keySource
	closeOnce     sync.Once
}

// NewJWTVerifier checks c and loads its JWKS. A file is read now; a file
// that cannot be read or holds no usable key is an error naming it. A URL is
// fetched now (bounded by a timeout): if that fails the verifier is still
// made, but Verify refuses every token with ErrKeysUnavailable until a fetch
// works. The URL is fetched again every c.JWKS.Refresh (default 5m) until
// ctx ends or Close is called, and when a token names an unknown kid (at
// most once per 10s). Algorithms none and HS* are refused.
func NewJWTVerifier(ctx context.Context, c config.JWTAuth, opts JWTOptions) (*JWTVerifier, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	v := &JWTVerifier{
		issuer:        c.Issuer,
		audiences:     slices.Clone(c.Audiences),
		algs:          make(map[string]jwa.SignatureAlgorithm),
		skew:          c.ClockSkew.D(),
		consumerClaim: c.ConsumerClaim,
		teamClaim:     c.TeamClaim,
		now:           opts.Now,
	}
	if v.now == nil {
		v.now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if v.skew < 0 {
		return nil, fmt.Errorf("jwt: clockSkew %s is negative", v.skew)
	}
	if v.skew == 0 {
		v.skew = 60 * time.Second
	}
	if v.consumerClaim == "" {
		v.consumerClaim = "sub"
	}
	if v.teamClaim == "" {
		v.teamClaim = "team"
	}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256", "ES256"}
	}
	for _, a := range algs {
		sa, err := allowedAlgorithm(a)
		if err != nil {
			return nil, err
		}
		v.algs[a] = sa
	}

	src := &keySource{log: log, now: v.now, sem: make(chan struct{}, 1)}
	v.src = src
	switch {
	case c.JWKS.URL != "" && c.JWKS.File != "":
		return nil, errors.New("jwt: jwks has both url and file; set one")
	case c.JWKS.File != "":
		ks, err := readKeyFile(c.JWKS.File, log)
		if err != nil {
			return nil, fmt.Errorf("jwt: %w", err)
		}
		src.keys = ks
		return v, nil
	case c.JWKS.URL == "":
		return nil, errors.New("jwt: jwks needs a url or a file")
	}
	u, err := url.Parse(c.JWKS.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("jwt: jwks url must be an absolute http(s) URL")
	}
	refresh := c.JWKS.Refresh.D()
	if refresh < 0 {
		return nil, fmt.Errorf("jwt: jwks refresh %s is negative", refresh)
	}
	if refresh == 0 {
		refresh = 5 * time.Minute
	}
	refresh = max(refresh, minRefresh)
	src.url = c.JWKS.URL
	src.client = opts.HTTPClient
	if src.client == nil {
		src.client = &http.Client{Timeout: jwksFetchTimeout}
	}
	err = src.fetch(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("jwt: %w", ctx.Err())
		}
		log.Warn("jwt: first JWKS fetch failed; tokens are refused until a fetch works", "err", err)
	}
	bg, cancel := context.WithCancel(ctx)
	src.cancel, src.done = cancel, make(chan struct{})
	go src.run(bg, refresh, err == nil)
	return v, nil
}

// allowedAlgorithm checks that name may be allowed and returns it.
func allowedAlgorithm(name string) (jwa.SignatureAlgorithm, error) {
	var zero jwa.SignatureAlgorithm
	switch {
	case strings.EqualFold(name, "none"):
		return zero, errors.New(`jwt: algorithm "none" is never allowed`)
	case len(name) >= 2 && strings.EqualFold(name[:2], "HS"):
		return zero, fmt.Errorf("jwt: HMAC algorithm %q is not allowed: its key would be the JWKS, which is public", name)
	case !slices.Contains(signatureAlgorithms, name):
		return zero, fmt.Errorf("jwt: algorithm %q is not supported (use %s)", name, strings.Join(signatureAlgorithms, ", "))
	}
	sa, ok := jwa.LookupSignatureAlgorithm(name)
	if !ok {
		return zero, fmt.Errorf("jwt: algorithm %q is not available", name)
	}
	return sa, nil
}

// Close stops the background JWKS refresh (a no-op for a file). Verify
// keeps working with the keys it has.
func (v *JWTVerifier) Close() {
	v.closeOnce.Do(v.src.close)
}

// Verify checks token (the compact JWS, without "Bearer ") and returns its
// Principal: Consumer from the consumer claim, Team from the team claim
// ("" when absent), Subject from sub, Claims the token's claims (JSON
// numbers as float64; read-only). Every error is a *TokenError. ctx bounds
// a JWKS fetch the token may cause.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, tokenErr(ErrMalformedToken, "empty")
	}
	if len(token) > maxTokenBytes {
		return nil, tokenErr(ErrMalformedToken, "too long")
	}
	h, rest, ok1 := strings.Cut(token, ".")
	p, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || h == "" || p == "" || strings.Contains(sig, ".") {
		return nil, tokenErr(ErrMalformedToken, "not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.Strict().DecodeString(h)
	if err != nil {
		return nil, tokenErr(ErrMalformedToken, "header is not base64url")
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(hb, &hdr); err != nil || hdr == nil {
		return nil, tokenErr(ErrMalformedToken, "header is not a JSON object")
	}
	var alg, kid string
	if err := json.Unmarshal(hdr["alg"], &alg); err != nil || alg == "" {
		return nil, tokenErr(ErrMalformedToken, "header has no alg")
	}
	if raw, ok := hdr["kid"]; ok {
		if err := json.Unmarshal(raw, &kid); err != nil {
			return nil, tokenErr(ErrMalformedToken, "header kid is not a string")
		}
	}
	if _, ok := hdr["crit"]; ok {
		return nil, tokenErr(ErrMalformedToken, "header crit is not supported")
	}
	if _, ok := hdr["b64"]; ok {
		return nil, tokenErr(ErrMalformedToken, "header b64 is not supported")
	}
	sa, ok := v.algs[alg]
	if !ok {
		return nil, tokenErr(ErrAlgorithmNotAllowed, "")
	}
	if sig == "" {
		return nil, tokenErr(ErrSignatureInvalid, "no signature")
	}
	keys, err := v.keysFor(ctx, kid, alg)
	if err != nil {
		return nil, err
	}
	var payload []byte
	for _, k := range keys {
		if payload, err = jws.VerifyCompactFast(k.pub, []byte(token), sa); err == nil {
			break
		}
	}
	if err != nil {
		return nil, tokenErr(ErrSignatureInvalid, "")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims == nil {
		return nil, tokenErr(ErrMalformedToken, "claims are not a JSON object")
	}
	return v.principal(claims)
}

// keysFor returns the keys that may have signed a token with this kid and
// alg, fetching the JWKS again (rate-limited) when it has none.
func (v *JWTVerifier) keysFor(ctx context.Context, kid, alg string) ([]*verifyKey, error) {
	ks := v.src.current()
	cands := candidates(ks, kid, alg)
	if len(cands) == 0 {
		ks = v.src.refetch(ctx, ks)
		cands = candidates(ks, kid, alg)
	}
	switch {
	case len(cands) > 0:
		return cands, nil
	case ks == nil:
		return nil, tokenErr(ErrKeysUnavailable, "the JWKS could not be fetched")
	case kid != "" && len(ks.byKID[kid]) > 0:
		return nil, tokenErr(ErrSignatureInvalid, "the key does not fit the algorithm")
	case kid == "":
		return nil, tokenErr(ErrSigningKeyUnknown, "no key fits the algorithm")
	}
	return nil, tokenErr(ErrSigningKeyUnknown, "kid not in the JWKS")
}

// candidates returns ks's keys for kid that fit alg; for no kid, the first
// few keys that fit alg.
func candidates(ks *keySet, kid, alg string) []*verifyKey {
	if ks == nil {
		return nil
	}
	pool, limit := ks.byKID[kid], len(ks.byKID[kid])
	if kid == "" {
		pool, limit = ks.all, maxKidlessTries
	}
	var out []*verifyKey
	for _, k := range pool {
		if len(out) == limit {
			break
		}
		if k.fits(alg) {
			out = append(out, k)
		}
	}
	return out
}
