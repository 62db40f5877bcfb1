package a2a

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/switchyard-ai/switchyard/config"
)

// signer signs agent cards (JWS, detached payload: the card without its
// signatures in canonical JSON).
type signer struct {
	key    crypto.Signer
	alg    string
	kid    string
	jwkURL string
}

// loadSigner reads a PEM private key, b or else the file: EC P-256 (ES256) or RSA (RS256).
func loadSigner(file string, b []byte, kid, jku string) (*signer, error) {
	var err error
	if len(b) == 0 {
		if b, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("a2a: signing key: %w", err)
		}
	} else {
		file = "keyPEM"
	}
	key, alg, err := config.SigningKey(b)
	if err != nil {
		return nil, fmt.Errorf("a2a: signing key %s: %w", file, err)
	}
	s := &signer{key: key, alg: alg, kid: kid, jwkURL: jku}
	return s, nil
}

// sign returns a signature of card (whose signatures are left out).
func (s *signer) sign(card map[string]any) (map[string]any, error) {
	hdr := map[string]any{"alg": s.alg, "typ": "JOSE"}
	if s.kid != "" {
		hdr["kid"] = s.kid
	}
	if s.jwkURL != "" {
		hdr["jku"] = s.jwkURL
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return nil, err
	}
	unsigned := make(map[string]any, len(card))
	for k, v := range card {
		if k != "signatures" {
			unsigned[k] = v
		}
	}
	var payload bytes.Buffer
	if err := canonical(&payload, unsigned); err != nil {
		return nil, err
	}
	protected := base64.RawURLEncoding.EncodeToString(hb)
	input := protected + "." + base64.RawURLEncoding.EncodeToString(payload.Bytes())
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		r, ss, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			return nil, fmt.Errorf("a2a: sign card: %w", err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			return nil, fmt.Errorf("a2a: sign card: %w", err)
		}
	}
	return map[string]any{"protected": protected, "signature": base64.RawURLEncoding.EncodeToString(sig)}, nil
}

// rewriter maps the agent's URLs to the gateway's.
type rewriter struct {
	agent *url.URL // the agent's endpoint
	base  string   // the gateway's scheme://host plus the route's prefix
}

// rewrite returns u with the agent's endpoint replaced by the gateway's
// base, or u unchanged when it is not under the agent's endpoint.
func (w *rewriter) rewrite(u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || !sameOrigin(p, w.agent) {
		return u, false
	}
	agentPath := strings.TrimSuffix(w.agent.Path, "/")
	path := p.Path
	if path != agentPath && !strings.HasPrefix(path, agentPath+"/") {
		return u, false
	}
	out := w.base + strings.TrimPrefix(path, agentPath)
	if p.RawQuery != "" {
		out += "?" + p.RawQuery
	}
	return out, true
}

// sameOrigin compares scheme, host and port (default ports made explicit).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// rewriteCard rewrites the interface URLs of a decoded card, in both the
// current (supportedInterfaces) and the 0.3 (url, additionalInterfaces)
// shapes. It reports how many URLs it rewrote.
func (w *rewriter) rewriteCard(card map[string]any) int {
	n := 0
	set := func(m map[string]any) {
		if s, ok := m["url"].(string); ok {
			if r, ok := w.rewrite(s); ok {
				m["url"] = r
				n++
			}
		}
	}
	set(card)
	for _, key := range []string{"supportedInterfaces", "additionalInterfaces"} {
		list, _ := card[key].([]any)
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				set(m)
			}
		}
	}
	return n
}
