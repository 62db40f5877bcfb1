package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	gauth "cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// GCPScope is the OAuth scope Vertex AI needs.
const GCPScope = "https://www.googleapis.com/auth/cloud-platform"

// gcpExpireEarly is how long before expiry a cached token is refreshed (in the
// background: requests keep using the still-valid token meanwhile).
const gcpExpireEarly = 5 * time.Minute

// GCPSigner sets "Authorization: Bearer <token>" from Google credentials: a
// credentials file (service account, external account / workload identity
// federation, authorized user, impersonated service account) or, with no file,
// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's
// well-known file, the GCE/GKE metadata server). Tokens are cached and refreshed
// by cloud.google.com/go/auth before they expire, never fetched per request.
type GCPSigner struct {
	tp gauth.TokenProvider
}

var _ Signer = (*GCPSigner)(nil)

// NewGCPSigner loads the credentials a selects. A credentials file that cannot
// be read or parsed, or no ADC found, is an error here; no token is fetched
// until the first Sign (or Prefetch). ctx is not retained.
func NewGCPSigner(ctx context.Context, a *config.GCPAuth) (*GCPSigner, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("gcp auth: %w", err)
	}
	opts := &credentials.DetectOptions{Scopes: []string{GCPScope}, EarlyTokenRefresh: gcpExpireEarly}
	var (
		creds *gauth.Credentials
		err   error
	)
	if a != nil && a.CredentialsFile != "" {
		creds, err = credentialsFromFile(a.CredentialsFile, opts)
	} else {
		creds, err = credentials.DetectDefault(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("gcp auth: load credentials: %w", err)
	}
	// The library already caches file and metadata-server credentials; wrapping
	// is a no-op for those and guarantees caching for any other provider.
	tp := gauth.NewCachedTokenProvider(creds.TokenProvider, &gauth.CachedTokenProviderOptions{ExpireEarly: gcpExpireEarly})
	return &GCPSigner{tp: tp}, nil
}

// NewGCPSignerFromTokenProvider wraps an existing token provider (cached as
// NewGCPSigner caches), for callers that build credentials themselves.
func NewGCPSignerFromTokenProvider(tp gauth.TokenProvider) *GCPSigner {
	return &GCPSigner{tp: gauth.NewCachedTokenProvider(tp, &gauth.CachedTokenProviderOptions{ExpireEarly: gcpExpireEarly})}
}

// credentialsFromFile loads a credentials file of the type its "type" field
// names, through the type-checked loader of cloud.google.com/go/auth.
func credentialsFromFile(path string, opts *credentials.DetectOptions) (*gauth.Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read credentialsFile: %w", err)
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("credentialsFile %s is not JSON", path)
	}
	switch t := credentials.CredType(head.Type); t {
	case credentials.ServiceAccount, credentials.AuthorizedUser, credentials.ExternalAccount,
		credentials.ImpersonatedServiceAccount, credentials.ExternalAccountAuthorizedUser, credentials.GDCHServiceAccount:
		return credentials.NewCredentialsFromJSON(t, b, opts)
	default:
		return nil, fmt.Errorf("credentialsFile %s has unsupported type %q", path, head.Type)
	}
}

// Prefetch fetches (and caches) a token now, so that a bad key or an
// unreachable token endpoint shows at startup rather than on the first request.
func (s *GCPSigner) Prefetch(ctx context.Context) error {
	if _, err := s.tp.Token(ctx); err != nil {
		return fmt.Errorf("gcp auth: fetch token: %w", err)
	}
	return nil
}

// Sign implements [Signer.Sign].
func (s *GCPSigner) Sign(ctx context.Context, req *schema.Upstream, _ ClientCredentials) error {
	tok, err := s.tp.Token(ctx)
	if err != nil {
		// The cause is for logs; the client sees only the generic *schema.Error
		// (find it with errors.As).
		return fmt.Errorf("gcp auth: fetch token: %v: %w", err, &schema.Error{Status: 502, Type: schema.ErrServer,
			Message: "upstream authentication failed: could not obtain a Google access token"})
	}
	req.SetHeader("Authorization", "Bearer "+tok.Value)
	return nil
}
