package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

const (
	// jwksFetchTimeout bounds one fetch of a JWKS URL.
	jwksFetchTimeout = 10 * time.Second
	// jwksMaxBytes bounds a JWKS document (a file or a response body).
	jwksMaxBytes = 1 << 20
	// jwksRefetchWindow is the least time between two fetches that a
	// request can cause (an unknown kid, no keys yet): forged kids cannot
	// make the gateway hammer the identity provider.
	jwksRefetchWindow = 10 * time.Second
	// jwksRetry is how soon the background refresh tries again after a
	// failed fetch, when Refresh is longer.
	jwksRetry = 30 * time.Second
	// jwksMinRSABits is the smallest RSA modulus a key may have.
	jwksMinRSABits = 2048
)

// verifyKey is one usable public key of a JWKS.
type verifyKey struct {
	kid string
	alg string // the key's declared "alg", "" when none
	pub any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// fits reports whether k may verify a signature made with alg.
func (k *verifyKey) fits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return pub.Curve == elliptic.P256()
		case "ES384":
			return pub.Curve == elliptic.P384()
		case "ES512":
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// keySet is an immutable, parsed JWKS.
type keySet struct {
	byKID map[string][]*verifyKey
	all   []*verifyKey
}

// parseKeySet keeps the JWKS's signature keys it can use: public RSA
// (2048 bits or more), EC (P-256, P-384, P-521) and Ed25519 keys. Private
// keys are reduced to their public half; symmetric keys, encryption keys and
// entries it cannot parse are skipped. No usable key is an error.
func parseKeySet(data []byte, log *slog.Logger) (*keySet, error) {
	set, err := jwk.Parse(data, jwk.WithIgnoreParseError(true))
	if err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	ks := &keySet{byKID: make(map[string][]*verifyKey)}
	for i := range set.Len() {
		key, _ := set.Key(i)
		kid, _ := key.KeyID()
		if use, ok := key.KeyUsage(); ok && use != "" && use != "sig" {
			continue
		}
		vk, skip := usableKey(key, kid)
		if skip != "" {
			log.Debug("jwt: JWKS key skipped", "kid", kid, "reason", skip)
			continue
		}
		ks.all = append(ks.all, vk)
		ks.byKID[kid] = append(ks.byKID[kid], vk)
	}
	if len(ks.all) == 0 {
		return nil, errors.New("parse JWKS: no usable signature key (RSA, EC or Ed25519)")
	}
	return ks, nil
}

// usableKey returns key's public half, or why it cannot be used.
func usableKey(key jwk.Key, kid string) (*verifyKey, string) {
	pk, err := key.PublicKey()
	if err != nil {
		return nil, "no public key"
	}
	var raw any
	if err := jwk.Export(pk, &raw); err != nil {
		return nil, "cannot export"
	}
	vk := &verifyKey{kid: kid}
	if a, ok := key.Algorithm(); ok {
		vk.alg = a.String()
	}
	switch pub := raw.(type) {
	case *rsa.PublicKey:
		if pub.N == nil || pub.N.BitLen() < jwksMinRSABits {
			return nil, "RSA key shorter than 2048 bits"
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() && pub.Curve != elliptic.P521() {
			return nil, "unsupported curve"
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Sprintf("unsupported key type %T", raw)
	}
	vk.pub = raw
	return vk, ""
}

// readKeyFile reads and parses a JWKS file.
func readKeyFile(path string, log *slog.Logger) (*keySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jwks file %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, jwksMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwks file %s: %w", path, err)
	}
	if len(data) > jwksMaxBytes {
		return nil, fmt.Errorf("jwks file %s: larger than %d bytes", path, jwksMaxBytes)
	}
	ks, err := parseKeySet(data, log)
	if err != nil {
		return nil, fmt.Errorf("jwks file %s: %w", path, err)
	}
	return ks, nil
}

// keySource holds the current key set: from a file, fixed, or from a URL,
// fetched, cached and refreshed. Safe for concurrent use.
type keySource struct {
	url    string // "" for a file
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	// sem serializes fetches (capacity 1); whoever holds it may read and
	// write last.
	sem  chan struct{}
	last time.Time // when the last fetch started, by now()

	mu   sync.RWMutex
	keys *keySet // nil until a fetch has worked

	cancel context.CancelFunc
	done   chan struct{}
}

// current returns the key set, nil when none was fetched yet.
func (s *keySource) current() *keySet {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keys
}

// refetch fetches the URL again because a request needed it (an unknown kid,
// no keys yet), unless a fetch started less than jwksRefetchWindow ago.
// seen is the key set the request looked at: if another fetch replaced it
// meanwhile, refetch does not fetch again. It returns the current key set.
func (s *keySource) refetch(ctx context.Context, seen *keySet) *keySet {
	if s.url == "" {
		return seen
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return s.current()
	}
	defer func() { <-s.sem }()
	if ks := s.current(); ks != seen {
		return ks
	}
	if !s.last.IsZero() && s.now().Sub(s.last) < jwksRefetchWindow {
		return seen
	}
	if err := s.fetchLocked(ctx); err != nil {
		s.log.Warn("jwt: JWKS fetch failed", "err", err)
	}
	return s.current()
}

// fetch fetches the URL, waiting for a fetch in progress to end first.
func (s *keySource) fetch(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	return s.fetchLocked(ctx)
}

// fetchLocked fetches and parses the URL and, when that works, replaces the
// key set. The caller holds sem. A failure keeps the key set it had.
func (s *keySource) fetchLocked(ctx context.Context) error {
	s.last = s.now()
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fmt.Errorf("jwks fetch: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("jwks fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("jwks fetch: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return fmt.Errorf("jwks fetch: read body: %w", err)
	}
	if len(data) > jwksMaxBytes {
		return fmt.Errorf("jwks fetch: body larger than %d bytes", jwksMaxBytes)
	}
	ks, err := parseKeySet(data, s.log)
	if err != nil {
		return fmt.Errorf("jwks fetch: %w", err)
	}
	s.mu.Lock()
	s.keys = ks
	s.mu.Unlock()
	return nil
}

// run refreshes the key set every refresh (sooner after a failure) until
// ctx ends.
func (s *keySource) run(ctx context.Context, refresh time.Duration, ok bool) {
	defer close(s.done)
	for {
		wait := refresh
		if !ok && jwksRetry < wait {
			wait = jwksRetry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		err := s.fetch(ctx)
		ok = err == nil
		if err != nil && ctx.Err() == nil {
			s.log.Warn("jwt: JWKS refresh failed; keeping the keys it had", "err", err)
		}
	}
}

// close stops the background refresh and waits for it.
func (s *keySource) close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
}
