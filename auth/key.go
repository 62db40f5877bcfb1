package auth

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// KeySigner puts a static API key in one header, with an optional prefix
// ("Bearer "). The key is read once, when the signer is built.
type KeySigner struct {
	header, value string
}

var _ Signer = (*KeySigner)(nil)

// NewKeySigner returns a signer that sets header to prefix+key.
func NewKeySigner(header, prefix, key string) *KeySigner {
	return &KeySigner{header: header, value: prefix + key}
}

// Sign implements [Signer.Sign].
func (s *KeySigner) Sign(_ context.Context, req *schema.Upstream, _ ClientCredentials) error {
	req.SetHeader(s.header, s.value)
	return nil
}

// PassthroughSigner forwards the client's own credential: its Authorization
// header as is, or its API key in the provider's header.
type PassthroughSigner struct {
	header, prefix string
}

var _ Signer = (*PassthroughSigner)(nil)

// NewPassthroughSigner returns a signer that forwards the client's credential,
// placing a bare API key in header with prefix.
func NewPassthroughSigner(header, prefix string) *PassthroughSigner {
	return &PassthroughSigner{header: header, prefix: prefix}
}

// Sign implements [Signer.Sign].
func (s *PassthroughSigner) Sign(_ context.Context, req *schema.Upstream, c ClientCredentials) error {
	key := c.APIKey
	if key == "" {
		key = strings.TrimSpace(strings.TrimPrefix(c.Authorization, "Bearer "))
	}
	if key == "" {
		return schema.Errorf(401, schema.ErrAuthentication, "missing credentials: this backend forwards the client's API key")
	}
	req.SetHeader(s.header, s.prefix+key)
	return nil
}

// NoneSigner adds nothing.
type NoneSigner struct{}

// Sign implements [Signer.Sign].
func (NoneSigner) Sign(context.Context, *schema.Upstream, ClientCredentials) error { return nil }

// ResolveKey returns the backend's API key from apiKey or apiKeyFile ("" if neither).
func ResolveKey(a config.BackendAuth) (string, error) {
	if a.APIKey != "" {
		return a.APIKey.Value(), nil
	}
	if a.APIKeyFile != "" {
		b, err := os.ReadFile(a.APIKeyFile)
		if err != nil {
			return "", fmt.Errorf("auth: read apiKeyFile: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}
