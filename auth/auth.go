// Package auth holds upstream signing (API key, passthrough, AWS SigV4, GCP
// credentials) and, later, inbound client authentication.
package auth

import (
	"context"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Signer authenticates one upstream request over its final bytes. Signers are
// built once per backend per snapshot and are safe for concurrent use; they
// cache and refresh credentials in the background, never per request.
type Signer interface {
	// Sign adds credentials to req. client carries the inbound request's
	// credential headers for passthrough (nil when there are none).
	Sign(ctx context.Context, req *schema.Upstream, client ClientCredentials) error
}

// ClientCredentials are the inbound request's credential headers.
type ClientCredentials struct {
	Authorization string // Authorization
	APIKey        string // x-api-key or api-key
}
