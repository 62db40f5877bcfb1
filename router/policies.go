package router

import (
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/route"
)

// compileChain compiles a rule's policy chain: the policies its effective
// attachments configure (route, rule and backend `policies` blocks, the most
// specific winning; see config.EffectivePolicies), then the process-wide
// ones. CORS is not in the chain: it answers preflights at the gateway and
// decorates responses, so the rule's filters apply it (route.Match). A rule
// with no policy gets a nil chain, which costs nothing per request.
func compileChain(rule *route.Rule, global []policies.Policy) *policies.Chain {
	var ps []policies.Policy
	// Configured policies (rate limits, budgets, client auth, guardrails)
	// are built here from rule.Policies as they are added.
	ps = append(ps, global...)
	if len(ps) == 0 {
		return nil
	}
	return policies.NewChain(ps...)
}
