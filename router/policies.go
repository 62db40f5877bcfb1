package router

import (
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/route"
)

// compileChain compiles a rule's policy chain: the policies its effective
// attachments configure (route, rule and backend `policies` blocks, the most
// specific winning; see config.EffectivePolicies), built by each builder,
// then the process-wide ones. CORS is not in the chain: it answers
// preflights at the gateway and decorates responses, so the rule's filters
// apply it (route.Match). A rule with no policy gets a nil chain, which
// costs nothing per request.
func compileChain(rule *route.Rule, built []policies.Compiled, global []policies.Policy) (*policies.Chain, error) {
	var ps []policies.Policy
	for _, b := range built {
		own, err := b.Policies(rule.Route, rule.Policies)
		if err != nil {
			return nil, err
		}
		ps = append(ps, own...)
	}
	ps = append(ps, global...)
	if len(ps) == 0 {
		return nil, nil
	}
	return policies.NewChain(ps...), nil
}
