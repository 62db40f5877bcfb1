package translate

import (
	"fmt"
	"slices"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
)

// translateTCPRoutes turns TCPRoutes into config tcpRoutes, oldest first. A
// TCP listener serves one TCPRoute: as the conformance suite requires, a
// younger route on a listener already taken is still Accepted and counted
// in attachedRoutes, but only the oldest route receives connections.
func (t *translator) translateTCPRoutes() {
	routes := make([]*gwv1.TCPRoute, 0, len(t.in.TCPRoutes))
	for i := range t.in.TCPRoutes {
		routes = append(routes, &t.in.TCPRoutes[i])
	}
	slices.SortFunc(routes, func(a, b *gwv1.TCPRoute) int { return olderFirst(a, b) })
	taken := map[string]string{} // listener key -> route
	for _, r := range routes {
		rk := key(r.Namespace, r.Name)
		a := t.attachRoute("TCPRoute", r.Namespace, r.Generation, nil, r.Spec.ParentRefs)
		if len(a.parents) == 0 {
			continue
		}
		var keys []string
		var busy []string
		for _, k := range a.all() {
			if other, ok := taken[k]; ok {
				busy = append(busy, fmt.Sprintf("listener %s already serves TCPRoute %s", k, other))
				continue
			}
			keys = append(keys, k)
		}
		rules, issues := t.l4Rules("TCPRoute", r.Namespace, tcpRules(r.Spec.Rules))
		why, dropped := t.drop.tcp[rk]
		switch {
		case dropped:
			a.refuse(string(gwv1.RouteReasonUnsupportedValue), why, r.Generation)
		case len(keys) > 0 && rules != nil:
			for _, k := range keys {
				taken[k] = rk
				t.listeners[k].attached++
			}
			t.cfg.TCPRoutes = append(t.cfg.TCPRoutes, config.TCPRoute{Name: rk, Listeners: keys, Rules: rules})
			t.tcpIndex = append(t.tcpIndex, rk)
		case len(keys) > 0:
			for _, k := range keys {
				t.listeners[k].attached++ // attached, but nothing to send to: connections are closed
			}
		}
		if !dropped && len(busy) > 0 {
			for _, k := range a.all() {
				if !slices.Contains(keys, k) {
					t.listeners[k].attached++
				}
			}
			t.problem("TCPRoute", r.Namespace, r.Name, "%s: a TCP listener serves only its oldest TCPRoute", strings.Join(busy, "; "))
		}
		t.finishRoute("TCPRoute", r.Namespace, r.Name, r.Generation, a, issues)
	}
}

// translateTLSRoutes turns TLSRoutes into config tlsRoutes: the SNI names
// served are the intersections of the route's hostnames with the hostnames
// of the listeners it attaches to.
func (t *translator) translateTLSRoutes() {
	routes := make([]*gwv1.TLSRoute, 0, len(t.in.TLSRoutes))
	for i := range t.in.TLSRoutes {
		routes = append(routes, &t.in.TLSRoutes[i])
	}
	slices.SortFunc(routes, func(a, b *gwv1.TLSRoute) int { return olderFirst(a, b) })
	for _, r := range routes {
		rk := key(r.Namespace, r.Name)
		a := t.attachRoute("TLSRoute", r.Namespace, r.Generation, r.Spec.Hostnames, r.Spec.ParentRefs)
		if len(a.parents) == 0 {
			continue
		}
		keys := a.all()
		// Listeners whose hostnames give the same SNI names share one
		// config route; others get their own, so that no listener serves
		// a name its hostname does not admit.
		type group struct {
			keys  []string
			hosts []string
		}
		var groups []*group
		var hosts []string
		for _, k := range keys {
			hs := intersectHostnames(string(deref(t.listeners[k].l.Hostname, "")), r.Spec.Hostnames)
			if len(hs) == 0 {
				continue
			}
			hosts = append(hosts, hs...)
			found := false
			for _, g := range groups {
				if slices.Equal(g.hosts, hs) {
					g.keys, found = append(g.keys, k), true
				}
			}
			if !found {
				groups = append(groups, &group{keys: []string{k}, hosts: hs})
			}
		}
		rules, issues := t.l4Rules("TLSRoute", r.Namespace, tlsRules(r.Spec.Rules))
		why, dropped := t.drop.tls[rk]
		switch {
		case dropped:
			a.refuse(string(gwv1.RouteReasonUnsupportedValue), why, r.Generation)
		case len(keys) > 0 && len(hosts) == 0:
			a.refuse(string(gwv1.RouteReasonUnsupportedValue), "a TLSRoute needs a hostname (the SNI it serves): set spec.hostnames or the listener's hostname", r.Generation)
		case len(keys) > 0:
			for _, k := range keys {
				t.listeners[k].attached++
			}
			for i, g := range groups {
				if rules == nil {
					break
				}
				name := rk
				if i > 0 {
					name = fmt.Sprintf("%s-%d", rk, i) // config route names are unique
				}
				t.cfg.TLSRoutes = append(t.cfg.TLSRoutes, config.TLSRoute{Name: name, Listeners: g.keys, Hostnames: g.hosts, Rules: rules})
				t.tlsIndex = append(t.tlsIndex, rk)
			}
		}
		t.finishRoute("TLSRoute", r.Namespace, r.Name, r.Generation, a, issues)
	}
}

// l4Rule is the part of a TCPRoute or TLSRoute rule the translation reads.
type l4Rule struct {
	name string
	refs []gwv1.BackendRef
}

func tcpRules(rs []gwv1.TCPRouteRule) []l4Rule {
	out := make([]l4Rule, len(rs))
	for i, r := range rs {
		out[i] = l4Rule{string(deref(r.Name, "")), r.BackendRefs}
	}
	return out
}

func tlsRules(rs []gwv1.TLSRouteRule) []l4Rule {
	out := make([]l4Rule, len(rs))
	for i, r := range rs {
		out[i] = l4Rule{string(deref(r.Name, "")), r.BackendRefs}
	}
	return out
}

// l4Rules translates a TCP or TLS route's rules; nil when no rule has a
// backend that resolves (the route is then not served: connections close).
func (t *translator) l4Rules(kind, ns string, rs []l4Rule) ([]config.L4Rule, []*refIssue) {
	var out []config.L4Rule
	var issues []*refIssue
	for _, r := range rs {
		rule := config.L4Rule{Name: r.name}
		for _, br := range r.refs {
			ref, issue := t.backendRef(kind, ns, br.BackendObjectReference, br.Weight)
			if issue == nil && ref.Invalid == "" && t.aiBackend(ref.Name) {
				issue = &refIssue{reason: string(gwv1.RouteReasonInvalidKind), msg: fmt.Sprintf("Backend %s is not static: %ss need host:port endpoints", ref.Name, kind)}
				ref.Invalid = issue.msg
			}
			if issue != nil {
				issues = append(issues, issue)
			}
			rule.BackendRefs = append(rule.BackendRefs, ref)
		}
		rule.BackendRefs = validRefs(rule.BackendRefs, func(b config.BackendRef) bool { return b.Invalid != "" })
		if len(rule.BackendRefs) > 0 {
			out = append(out, rule)
		}
	}
	if len(rs) == 0 {
		issues = append(issues, &refIssue{reason: string(gwv1.RouteReasonBackendNotFound), msg: "route has no rules"})
	}
	return out, issues
}

// aiBackend says whether a config backend is not static (an AI backend or
// pool), which TCP, TLS and gRPC routes cannot use.
func (t *translator) aiBackend(name string) bool {
	for i := range t.cfg.Backends {
		if b := &t.cfg.Backends[i]; b.Name == name {
			return b.Static == nil
		}
	}
	return false
}

// intersectHostnames is the names both a listener hostname ("" for any) and
// a route's hostnames admit: for each pair that intersects, the more specific.
func intersectHostnames(listener string, route []gwv1.Hostname) []string {
	lh := strings.ToLower(listener)
	if len(route) == 0 {
		if lh == "" {
			return nil
		}
		return []string{lh}
	}
	var out []string
	for _, h := range route {
		rh := strings.ToLower(string(h))
		if lh == "" {
			out = append(out, rh)
			continue
		}
		if !hostnamesIntersect(lh, []gwv1.Hostname{h}) {
			continue
		}
		switch {
		case !strings.HasPrefix(rh, "*."):
			out = append(out, rh)
		case !strings.HasPrefix(lh, "*."):
			out = append(out, lh)
		case len(rh) >= len(lh):
			out = append(out, rh)
		default:
			out = append(out, lh)
		}
	}
	return out
}
