package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"

	"github.com/switchyard-ai/switchyard/config"
)

// NewUpstreamSigner builds the signer of an AI backend from its auth block:
// the client's credential forwarded (passthrough), AWS SigV4 (Bedrock's
// default), GCP credentials (Vertex's default), or an API key put in header
// with prefix (the provider's credential header). A backend with no
// credential at all signs nothing. Credentials are loaded now: an error means
// they cannot be, and is safe to show (it never quotes a secret).
func NewUpstreamSigner(ctx context.Context, b *config.AIBackend, header, prefix string) (Signer, error) {
	a := b.Auth
	switch {
	case b.Provider == config.ProviderSim:
		return NoneSigner{}, nil
	case a.Passthrough:
		return NewPassthroughSigner(header, prefix), nil
	case a.AWS != nil || (b.Provider == config.ProviderBedrock && a.APIKey == "" && a.APIKeyFile == ""):
		aws := a.AWS
		if aws == nil {
			aws = &config.AWSAuth{}
		}
		return NewAWSSigner(ctx, aws, b.Region)
	case a.GCP != nil || (b.Provider == config.ProviderVertex && a.APIKey == "" && a.APIKeyFile == ""):
		gcp := a.GCP
		if gcp == nil {
			gcp = &config.GCPAuth{}
		}
		return NewGCPSigner(ctx, gcp)
	}
	k, err := ResolveKey(a)
	if err != nil {
		return nil, err
	}
	if k == "" {
		return NoneSigner{}, nil
	}
	if b.Provider == config.ProviderBedrock {
		return NewKeySigner("Authorization", "Bearer ", k), nil // Bedrock API keys
	}
	return NewKeySigner(header, prefix, k), nil
}

// Digest identifies an AI backend's credentials without revealing them: a
// SHA-256 over its provider, region, auth block, every secret in it (API key,
// AWS secret key and session token) and the contents of its key and GCP
// credentials files, so that a rotated file or a changed key
// makes a new signer while an unchanged one keeps its cached credentials.
func Digest(b *config.AIBackend) string {
	// The auth block marshals its secrets redacted: each secret is added by value.
	var awsSecret, awsToken string
	if a := b.Auth.AWS; a != nil {
		awsSecret, awsToken = a.SecretAccessKey.Value(), a.SessionToken.Value()
	}
	id, _ := json.Marshal(struct {
		P, R      string
		A         config.BackendAuth
		K         string
		AWSSecret string
		AWSToken  string
		F         [2][32]byte
	}{b.Provider, b.Region, b.Auth, b.Auth.APIKey.Value(), awsSecret, awsToken, fileDigests(b.Auth)})
	sum := sha256.Sum256(id)
	return hex.EncodeToString(sum[:])
}

// fileDigests hashes the API key file and GCP credentials file of a.
func fileDigests(a config.BackendAuth) [2][32]byte {
	var out [2][32]byte
	if a.APIKeyFile != "" {
		if b, err := os.ReadFile(a.APIKeyFile); err == nil {
			out[0] = sha256.Sum256(b)
		}
	}
	if a.GCP != nil && a.GCP.CredentialsFile != "" {
		if b, err := os.ReadFile(a.GCP.CredentialsFile); err == nil {
			out[1] = sha256.Sum256(b)
		}
	}
	return out
}
