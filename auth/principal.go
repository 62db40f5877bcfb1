package auth

// Principal is who a request comes from, as client authentication found it:
// the key's id (never the key itself), the consumer and team it belongs to,
// and for a JWT its subject and claims. Policies that meter or limit use it
// as their key. A Principal is immutable once client auth has produced it.
type Principal struct {
	// KeyID identifies the API key used (not the secret), "" for a JWT.
	KeyID string
	// Subject is the JWT subject, or the consumer's name for an API key.
	Subject string
	// Consumer is the consumer (an app or user) the credential belongs to.
	Consumer string
	// Team is the consumer's team, "" when none.
	Team string
	// Claims are a JWT's claims (nil for API keys). Read-only.
	Claims map[string]any
	// Models, when not empty, are the only models the credential may use.
	Models []string
}

// Anonymous reports whether p is the zero Principal (no client auth ran).
func (p *Principal) Anonymous() bool {
	return p == nil || p.KeyID == "" && p.Subject == "" && p.Consumer == ""
}
