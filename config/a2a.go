package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// A2ABackend is one agent reached over the A2A protocol (JSON-RPC over
// HTTP, streaming over SSE). The gateway serves the agent's card at the
// well-known path under the route, its URLs rewritten to the gateway.
type A2ABackend struct {
	// URL is the agent's JSON-RPC endpoint as its card names it (scheme://host[:port][/path]).
	URL string `yaml:"url" json:"url"`
	// CardPath is where the agent serves its card (default
	// /.well-known/agent-card.json on URL's host); a path or a full URL.
	CardPath string `yaml:"cardPath" json:"cardPath,omitempty"`
	// Signing says what happens to a signed card: keep (default: passed
	// unchanged, its URLs not rewritten) or resign (rewritten and signed
	// again with KeyFile).
	Signing string `yaml:"signing" json:"signing,omitempty"`
	// KeyFile is a PEM private key (EC P-256 or RSA) the gateway signs cards with (signing: resign).
	KeyFile string `yaml:"keyFile" json:"keyFile,omitempty"`
	// KeyPEM is the key itself, instead of KeyFile (redacted in /config): the
	// Kubernetes controller delivers a Secret's key so.
	KeyPEM Secret `yaml:"keyPEM" json:"keyPEM,omitempty"`
	// KeyID is the signature's kid header (default: none).
	KeyID string `yaml:"keyID" json:"keyID,omitempty"`
	// JWKSURL, when set, is the jku header of the gateway's signatures.
	JWKSURL string `yaml:"jwksURL" json:"jwksURL,omitempty"`
	// Auth is what the agent receives as credentials (as an MCP target's).
	Auth MCPTargetAuth `yaml:"auth" json:"auth"`
	// Timeout bounds an answer's headers from the agent (default 60s; streams then run on).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// A2A signing modes.
const (
	A2ASigningKeep   = "keep"
	A2ASigningResign = "resign"
)

// validateA2A checks an a2a backend.
func validateA2A(a *A2ABackend, p string, r *reporter) {
	if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.add(p+".url", "url must be an http(s) URL, not %q", redactURL(a.URL))
	}
	if c := a.CardPath; c != "" && !strings.HasPrefix(c, "/") {
		if u, err := url.Parse(c); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			r.add(p+".cardPath", "cardPath must be a path beginning with / or an http(s) URL")
		}
	}
	switch a.Signing {
	case "", A2ASigningKeep:
		if a.KeyFile != "" || a.KeyPEM != "" {
			r.add(p+".keyFile", "keyFile and keyPEM are only used with signing: resign")
		}
	case A2ASigningResign:
		switch {
		case a.KeyFile != "" && a.KeyPEM != "":
			r.add(p+".keyFile", "set keyFile or keyPEM, not both")
		case a.KeyPEM != "":
			if _, _, err := SigningKey([]byte(a.KeyPEM)); err != nil {
				r.add(p+".keyPEM", "not a signing key: %v", err)
			}
		case a.KeyFile == "":
			r.add(p+".keyFile", "signing: resign needs keyFile or keyPEM")
		default:
			if b := readPEM(r, p+".keyFile", "keyFile", a.KeyFile); b != nil {
				if _, _, err := SigningKey(b); err != nil {
					r.add(p+".keyFile", "keyFile %q is not a signing key: %v", a.KeyFile, err)
				}
			}
		}
	default:
		r.add(p+".signing", "unknown signing %q (use keep or resign)", a.Signing)
	}
	nonNegative(r, p+".timeout", a.Timeout)
	if a.Auth.Forward != "" && a.Auth.Forward != MCPForwardNone && a.Auth.Forward != MCPForwardPassthrough {
		r.add(p+".auth.forward", "unknown forward %q (use none or passthrough)", a.Auth.Forward)
	}
}

// SigningKey parses a PEM private key agent cards are signed with: EC P-256
// (alg ES256) or RSA (RS256). Errors never hold the key.
func SigningKey(b []byte) (crypto.Signer, string, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, "", errors.New("holds no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, "", err
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, "", errors.New("an EC signing key must be on P-256 (ES256)")
		}
		return k, "ES256", nil
	case *rsa.PrivateKey:
		return k, "RS256", nil
	}
	return nil, "", fmt.Errorf("a %T key; use EC P-256 or RSA", key)
}
