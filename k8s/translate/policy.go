package translate

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// translatePolicies attaches Switchyard Policies to what their targetRefs
// name: an HTTPRoute (a rule by sectionName), a Service or Backend (every
// rule routing to it), or a Gateway (every route attached to it, below the
// route's own attachments). For each policy field the oldest Policy wins, as
// Gateway API policy conflict resolution says.
func (t *translator) translatePolicies() {
	pols := make([]*v1alpha1.Policy, 0, len(t.in.Policies))
	for i := range t.in.Policies {
		pols = append(pols, &t.in.Policies[i])
	}
	slices.SortFunc(pols, func(a, b *v1alpha1.Policy) int { return olderFirst(a, b) })
	found := map[*v1alpha1.Policy][]string{}
	missing := map[*v1alpha1.Policy][]string{}
	// Direct attachments first, then Gateways: with oldest-wins merging the
	// more specific attachment wins.
	for _, gatewayPass := range []bool{false, true} {
		for _, p := range pols {
			for _, tr := range p.Spec.TargetRefs {
				isGateway := tr.Group == gwv1.GroupName && tr.Kind == "Gateway"
				if isGateway != gatewayPass {
					continue
				}
				name := fmt.Sprintf("%s %s/%s", tr.Kind, p.Namespace, tr.Name)
				if tr.SectionName != "" {
					name += "." + tr.SectionName
				}
				if t.attachPolicy(p, tr) {
					found[p] = append(found[p], name)
				} else {
					missing[p] = append(missing[p], name)
				}
			}
		}
	}
	for _, p := range pols {
		issue := ""
		if len(found[p]) == 0 {
			issue = "no target is served: " + strings.Join(missing[p], ", ")
		}
		conds := resourceConds(p.Generation, issue)
		if issue == "" && len(missing[p]) > 0 {
			conds[0].Message = "not found: " + strings.Join(missing[p], ", ")
		}
		if issue != "" {
			conds[0].Reason = string(gwv1.PolicyReasonTargetNotFound)
		}
		t.status.Resources["Policy/"+key(p.Namespace, p.Name)] = conds
	}
}

// attachPolicy attaches one target; false when the target is not served.
func (t *translator) attachPolicy(p *v1alpha1.Policy, tr v1alpha1.TargetRef) bool {
	s := &p.Spec
	ok := false
	switch {
	case tr.Group == gwv1.GroupName && tr.Kind == "Gateway":
		gk := key(p.Namespace, tr.Name)
		for i := range t.cfg.Routes {
			rt := &t.cfg.Routes[i]
			if slices.Contains(t.routeGateways[rt.Name], gk) {
				mergePolicies(&rt.Policies, s)
				for j := range rt.Rules {
					mergeRuleSettings(&rt.Rules[j], s)
				}
				ok = true
			}
		}
	case tr.Group == gwv1.GroupName && tr.Kind == "HTTPRoute":
		for i := range t.cfg.Routes {
			rt := &t.cfg.Routes[i]
			if rt.Name != key(p.Namespace, tr.Name) {
				continue
			}
			for j := range rt.Rules {
				r := &rt.Rules[j]
				if tr.SectionName == "" {
					mergeRuleSettings(r, s)
				} else if r.Name == tr.SectionName {
					mergePolicies(&r.Policies, s)
					mergeRuleSettings(r, s)
					ok = true
				}
			}
			if tr.SectionName == "" {
				mergePolicies(&rt.Policies, s)
				ok = true
			}
		}
	case tr.Group == "" && tr.Kind == "Service", tr.Group == v1alpha1.Group && tr.Kind == "Backend":
		for i := range t.cfg.Backends {
			b := &t.cfg.Backends[i]
			svc, _, _ := strings.Cut(b.Name, ":")
			if (tr.Kind == "Service") == strings.Contains(b.Name, ":") && svc == key(p.Namespace, tr.Name) {
				mergePolicies(&b.Policies, s)
				ok = true
			}
		}
	}
	return ok
}

// mergePolicies sets the policies of s that *dst does not set yet.
func mergePolicies(dst **config.Policies, s *v1alpha1.PolicySpec) {
	if s.CORS == nil && s.ClientAuth == nil && s.RateLimits == nil {
		return
	}
	if *dst == nil {
		*dst = &config.Policies{}
	}
	d := *dst
	if d.CORS == nil && s.CORS != nil {
		c := *s.CORS
		d.CORS = &c
	}
	if d.ClientAuth == nil && s.ClientAuth != nil {
		c := *s.ClientAuth
		d.ClientAuth = &c
	}
	if d.RateLimits == nil && s.RateLimits != nil {
		d.RateLimits = slices.Clone(s.RateLimits)
	}
}

// mergeRuleSettings sets a rule's timeouts and retry from s where the route sets none.
func mergeRuleSettings(r *config.RouteRule, s *v1alpha1.PolicySpec) {
	if r.Timeouts == nil && s.Timeouts != nil {
		to := *s.Timeouts
		r.Timeouts = &to
	}
	if r.Retry == nil && s.Retry != nil {
		rt := *s.Retry
		rt.Codes = slices.Clone(rt.Codes)
		r.Retry = &rt
	}
}

// resourceConds are a Switchyard resource's Accepted and ResolvedRefs conditions.
func resourceConds(gen int64, issue string) []metav1.Condition {
	if issue == "" {
		return []metav1.Condition{
			condition("Accepted", true, "Accepted", "", gen),
			condition("ResolvedRefs", true, "ResolvedRefs", "", gen),
		}
	}
	return []metav1.Condition{
		condition("Accepted", false, "Invalid", issue, gen),
		condition("ResolvedRefs", false, "InvalidRef", issue, gen),
	}
}
