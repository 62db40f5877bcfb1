package policies

import "github.com/switchyard-ai/switchyard/config"

// Builder builds the policies a configuration attaches to rules (client
// auth, rate limits, budgets). The router calls Compile once per snapshot
// and then Policies once per rule; a Builder lives as long as the process
// and keeps what must survive reloads (stores, JWKS caches).
type Builder interface {
	Compile(snap *config.Snapshot) (Compiled, error)
}

// Compiled builds one snapshot's rules' policies.
type Compiled interface {
	// Policies returns the policies for a rule of route (namespace/name)
	// with the effective attachments p. An error disables the rule.
	Policies(route string, p config.Policies) ([]Policy, error)
}
