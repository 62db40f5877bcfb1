package config

// EffectivePolicies are the policies that apply to a rule: for each policy,
// the most specific attachment among the rule's backends (which must agree),
// the rule and its route, as Gateway API policy attachment resolves them.
// backends may be empty; nil entries are skipped.
func EffectivePolicies(rt *Route, rule *RouteRule, backends []*Backend) Policies {
	var out Policies
	levels := []*Policies{rt.Policies, rule.Policies}
	for _, b := range backends {
		if b != nil {
			levels = append(levels, b.Policies)
			break // validation made a rule's backends agree
		}
	}
	for _, p := range levels { // least specific first: later levels win
		if p == nil {
			continue
		}
		if p.CORS != nil {
			out.CORS = p.CORS
		}
		if p.ClientAuth != nil {
			out.ClientAuth = p.ClientAuth
		}
		if p.RateLimits != nil {
			out.RateLimits = p.RateLimits
		}
	}
	return out
}
