package mcp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxSessionIDLen bounds a session id the gateway will try to open.
const maxSessionIDLen = 8 << 10

// errBadSession is a session id the gateway did not issue, or one that expired.
var errBadSession = errors.New("mcp: unknown or expired session")

// session is what a sealed session id carries: the negotiated protocol
// version and each target's own session id.
type session struct {
	// V is the format version.
	V int `json:"v"`
	// IssuedAt is the initialize time (Unix seconds).
	IssuedAt int64 `json:"iat"`
	// Protocol is the protocol version negotiated with the client.
	Protocol string `json:"pv"`
	// Targets are the targets' sessions by target name: id ("" when a target
	// keeps none) and protocol version; a target missing here failed to initialize.
	Targets map[string][2]string `json:"t"`
}

// sealer seals and opens session ids with AES-256-GCM. The additional data
// binds a sealed id to its backend: one backend's ids are refused by another.
// Opened ids are cached (a session's calls open the same id again and again);
// the cache is dropped whole when it is full.
type sealer struct {
	aead cipher.AEAD
	ad   []byte
	ttl  time.Duration

	mu     sync.Mutex
	opened map[string]*session
}

// maxOpened bounds the cache of opened session ids.
const maxOpened = 10000

// newSealer derives the AEAD key from secret (random when empty).
func newSealer(secret, backend string, ttl time.Duration) (*sealer, error) {
	var key [32]byte
	if secret == "" {
		if _, err := rand.Read(key[:]); err != nil {
			return nil, fmt.Errorf("mcp: session key: %w", err)
		}
	} else {
		key = sha256.Sum256([]byte("switchyard mcp session v1\x00" + secret))
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("mcp: session key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("mcp: session key: %w", err)
	}
	return &sealer{aead: aead, ad: []byte(backend), ttl: ttl, opened: map[string]*session{}}, nil
}

// seal returns the session id of s.
func (k *sealer) seal(s *session) (string, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("mcp: seal session: %w", err)
	}
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("mcp: seal session: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(k.aead.Seal(nonce, nonce, plain, k.ad)), nil
}

// open returns the session sealed in id, or errBadSession for an id that was
// forged, altered, issued for another backend or under another key, or has
// outlived the session TTL.
func (k *sealer) open(id string, now time.Time) (*session, error) {
	if id == "" || len(id) > maxSessionIDLen {
		return nil, errBadSession
	}
	k.mu.Lock()
	s := k.opened[id]
	k.mu.Unlock()
	if s != nil {
		if k.expired(s, now) {
			return nil, errBadSession
		}
		return s, nil
	}
	s, err := k.unseal(id, now)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	if len(k.opened) >= maxOpened {
		clear(k.opened)
	}
	k.opened[id] = s
	k.mu.Unlock()
	return s, nil
}

// expired reports whether s has outlived the TTL.
func (k *sealer) expired(s *session, now time.Time) bool {
	return k.ttl > 0 && now.Sub(time.Unix(s.IssuedAt, 0)) > k.ttl
}

// unseal decrypts and decodes id.
func (k *sealer) unseal(id string, now time.Time) (*session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, errBadSession
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], k.ad)
	if err != nil {
		return nil, errBadSession
	}
	var s session
	if err := json.Unmarshal(plain, &s); err != nil || s.V != 1 {
		return nil, errBadSession
	}
	if k.expired(&s, now) {
		return nil, errBadSession
	}
	return &s, nil
}
