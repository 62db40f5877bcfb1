package meter

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
)

// Verifier verifies a bearer JWT (auth.JWTVerifier).
type Verifier interface {
	Verify(ctx context.Context, token string) (*auth.Principal, error)
}

// ClientAuth is the client-auth policy: an API key (Authorization: Bearer
// or x-api-key) from the configuration or the admin API, or a JWT. It sets
// the Principal every later policy sees; a bad credential is a 401.
type ClientAuth struct {
	svc      *Service
	dir      *directory
	apiKeys  bool
	jwt      Verifier
	optional bool
}

var (
	_ policies.Policy = (*ClientAuth)(nil)
	_ policies.Phased = (*ClientAuth)(nil)
)

// Phase implements [policies.Phased].
func (*ClientAuth) Phase() policies.Phase { return policies.PhaseAuth }

// Request implements [policies.Policy].
func (a *ClientAuth) Request(ctx context.Context, x *policies.Exchange) (policies.Reservation, error) {
	token := ""
	if h := x.Header("Authorization"); h != "" {
		var ok bool
		if token, ok = auth.BearerToken(h); !ok {
			return nil, a.fail("malformed", "The Authorization header must be `Bearer <key>`.")
		}
	} else {
		token = strings.TrimSpace(x.Header("x-api-key"))
	}
	if token == "" {
		if a.optional {
			return nil, nil
		}
		return nil, a.fail("missing", "Missing credentials: send your API key as `Authorization: Bearer <key>` or `x-api-key: <key>`.")
	}
	x.Credential = true
	if a.jwt != nil && (looksLikeJWT(token) || !a.apiKeys) {
		p, err := a.jwt.Verify(ctx, token)
		if errors.Is(err, auth.ErrKeysUnavailable) {
			return nil, &policies.Denial{Status: 503, Type: "service_unavailable", Code: "auth_unavailable",
				Message: "Tokens cannot be verified right now (the signing keys are unavailable); retry later."}
		}
		if err != nil {
			return nil, a.fail("jwt", "Invalid token: "+err.Error()+".")
		}
		x.Principal = p
		return nil, nil
	}
	var buf [64]byte
	p, reason := a.svc.lookupKey(a.dir, hashKey(&buf, token), a.svc.at(x.Start))
	if p == nil {
		return nil, a.fail(reason, keyMessage(reason))
	}
	x.Principal = p
	return nil, nil
}

// fail counts and builds a 401.
func (a *ClientAuth) fail(reason, msg string) error {
	a.svc.metrics.authFailures.WithLabelValues(reason).Inc()
	code := "invalid_api_key"
	if reason == "jwt" {
		code = "invalid_token"
	}
	return &policies.Denial{Status: 401, Type: "invalid_request_error", Code: code, Message: msg}
}

// keyMessage is the client's message for a refused key; it never quotes the key.
func keyMessage(reason string) string {
	switch reason {
	case "expired":
		return "Incorrect API key provided: the key has expired."
	case "revoked":
		return "Incorrect API key provided: the key has been revoked."
	case "orphan":
		return "Incorrect API key provided: the key's consumer no longer exists."
	}
	return "Incorrect API key provided. You can find your API key with your gateway's administrator."
}

// looksLikeJWT reports whether a credential has a JWT's shape (three
// base64url parts, the first a JSON object).
func looksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// lookupKey finds the Principal of a key hash: configured keys first, then
// run-time keys, valid at now. reason says why there is none.
func (s *Service) lookupKey(dir *directory, hash []byte, now time.Time) (*auth.Principal, string) {
	if k := dir.keys[string(hash)]; k != nil {
		if !k.expires.IsZero() && !now.Before(k.expires) {
			return nil, "expired"
		}
		return k.principal, ""
	}
	k, ok := s.keys.lookup(hash)
	if !ok {
		return nil, "unknown"
	}
	switch {
	case !k.RevokedAt.IsZero() && !now.Before(k.RevokedAt):
		return nil, "revoked"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return nil, "expired"
	}
	p := &auth.Principal{KeyID: k.ID, Subject: k.Consumer, Consumer: k.Consumer, Models: k.Models}
	if c := dir.consumers[k.Consumer]; c != nil {
		p.Team = c.tm
	} else if len(dir.consumers) > 0 {
		return nil, "orphan"
	}
	return p, ""
}

// newClientAuth builds a rule's client-auth policy.
func newClientAuth(svc *Service, dir *directory, c *config.ClientAuth, jwt Verifier) *ClientAuth {
	return &ClientAuth{svc: svc, dir: dir, apiKeys: c.APIKeys != nil, jwt: jwt, optional: c.Optional}
}
