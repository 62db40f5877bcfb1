package translate

import (
	"fmt"
	"slices"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
)

// translateGRPCRoutes turns GRPCRoutes into config grpcRoutes attached to the
// HTTP and HTTPS listeners their parentRefs select. gRPC needs HTTP/2: a
// GRPCRoute attached to an HTTP listener turns h2c (HTTP/2 without TLS, prior
// knowledge) on for that listener's port; HTTPS listeners offer h2 by ALPN.
func (t *translator) translateGRPCRoutes() {
	routes := make([]*gwv1.GRPCRoute, 0, len(t.in.GRPCRoutes))
	for i := range t.in.GRPCRoutes {
		routes = append(routes, &t.in.GRPCRoutes[i])
	}
	slices.SortFunc(routes, func(a, b *gwv1.GRPCRoute) int { return olderFirst(a, b) })
	for _, r := range routes {
		rk := key(r.Namespace, r.Name)
		a := t.attachRoute("GRPCRoute", r.Namespace, r.Generation, r.Spec.Hostnames, r.Spec.ParentRefs)
		if len(a.parents) == 0 {
			continue
		}
		keys := a.all()
		cr := config.GRPCRoute{Name: rk, Listeners: keys}
		for _, h := range r.Spec.Hostnames {
			cr.Hostnames = append(cr.Hostnames, strings.ToLower(string(h)))
		}
		var issues []*refIssue
		for i := range r.Spec.Rules {
			rule, ok, is := t.grpcRule(r.Namespace, &r.Spec.Rules[i])
			issues = append(issues, is...)
			if ok {
				cr.Rules = append(cr.Rules, rule)
			}
		}
		why, dropped := t.drop.grpc[rk]
		switch {
		case dropped:
			a.refuse(string(gwv1.RouteReasonUnsupportedValue), why, r.Generation)
		case len(keys) > 0:
			for _, k := range keys {
				ls := t.listeners[k]
				ls.attached++
				if ls.l.Protocol == gwv1.HTTPProtocolType {
					t.cfg.Listeners[ls.cfgIndex].H2C = true
				}
			}
			if len(cr.Rules) > 0 {
				t.cfg.GRPCRoutes = append(t.cfg.GRPCRoutes, cr)
				t.grpcIndex = append(t.grpcIndex, rk)
			}
		}
		t.finishRoute("GRPCRoute", r.Namespace, r.Name, r.Generation, a, issues)
	}
}

// grpcRule translates one GRPCRoute rule. ok is false when the rule cannot
// be served (a filter Switchyard cannot apply, no backend that resolves):
// it is left out, and calls it would match go to the next matching rule or
// answer UNIMPLEMENTED.
func (t *translator) grpcRule(ns string, r *gwv1.GRPCRouteRule) (config.GRPCRule, bool, []*refIssue) {
	out := config.GRPCRule{Name: string(deref(r.Name, ""))}
	var issues []*refIssue
	for _, m := range r.Matches {
		var cm config.GRPCMatch
		if mm := m.Method; mm != nil {
			cm.Method = &config.GRPCMethodMatch{Type: string(deref(mm.Type, gwv1.GRPCMethodMatchExact)),
				Service: deref(mm.Service, ""), Method: deref(mm.Method, "")}
		}
		for _, h := range m.Headers {
			cm.Headers = append(cm.Headers, config.ValueMatch{Type: string(deref(h.Type, gwv1.GRPCHeaderMatchExact)), Name: string(h.Name), Value: h.Value})
		}
		out.Matches = append(out.Matches, cm)
	}
	ok := true
	for _, f := range r.Filters {
		switch f.Type {
		case gwv1.GRPCRouteFilterRequestHeaderModifier:
			out.Filters = append(out.Filters, config.Filter{Type: config.FilterRequestHeaderModifier, RequestHeaderModifier: headerModifier(f.RequestHeaderModifier)})
		case gwv1.GRPCRouteFilterResponseHeaderModifier:
			out.Filters = append(out.Filters, config.Filter{Type: config.FilterResponseHeaderModifier, ResponseHeaderModifier: headerModifier(f.ResponseHeaderModifier)})
		default:
			ok = false
			issues = append(issues, &refIssue{reason: string(gwv1.RouteReasonUnsupportedValue),
				msg: fmt.Sprintf("GRPCRoute filter %s is not supported: its rule is not served", f.Type)})
		}
	}
	for _, br := range r.BackendRefs {
		ref, issue := t.backendRef("GRPCRoute", ns, br.BackendObjectReference, br.Weight)
		if issue == nil && ref.Invalid == "" && t.aiBackend(ref.Name) {
			issue = &refIssue{reason: string(gwv1.RouteReasonInvalidKind), msg: fmt.Sprintf("Backend %s is not static: gRPC needs host:port endpoints", ref.Name)}
			ref.Invalid = issue.msg
		}
		if issue != nil {
			issues = append(issues, issue)
		}
		out.BackendRefs = append(out.BackendRefs, ref)
	}
	out.BackendRefs = validRefs(out.BackendRefs, func(b config.BackendRef) bool { return b.Invalid != "" })
	if len(out.BackendRefs) == 0 {
		ok = false
		if len(r.BackendRefs) == 0 {
			issues = append(issues, &refIssue{reason: string(gwv1.RouteReasonBackendNotFound), msg: "rule has no backendRefs: it is not served"})
		}
	}
	return out, ok, issues
}
