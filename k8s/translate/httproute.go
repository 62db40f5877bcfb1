package translate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
)

// translateHTTPRoutes turns every HTTPRoute with a served parent into a
// config route (key namespace/name, rule keys namespace.name.rule.match)
// attached to the listeners its parentRefs select.
func (t *translator) translateHTTPRoutes() {
	routes := make([]*gwv1.HTTPRoute, 0, len(t.in.HTTPRoutes))
	for i := range t.in.HTTPRoutes {
		routes = append(routes, &t.in.HTTPRoutes[i])
	}
	slices.SortFunc(routes, func(a, b *gwv1.HTTPRoute) int { return olderFirst(a, b) })
	for _, r := range routes {
		rk := key(r.Namespace, r.Name)
		var parents []gwv1.RouteParentStatus
		var keys []string
		var gws []string
		for _, pr := range r.Spec.ParentRefs {
			ps, lks, ok := t.attachParent("HTTPRoute", r.Namespace, r.Generation, r.Spec.Hostnames, pr)
			if !ok {
				continue
			}
			parents = append(parents, ps)
			for _, k := range lks {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
			if len(lks) > 0 {
				g := t.listeners[lks[0]].gw
				gws = append(gws, g.Namespace+"/"+g.Name)
			}
		}
		if len(parents) == 0 {
			continue // not ours: no status entry either
		}
		t.notePools(r)
		why, dropped := t.drop.routes[rk]
		var issues []*refIssue
		if len(keys) > 0 && !dropped {
			cr := config.Route{Name: rk, Listeners: keys}
			for _, h := range r.Spec.Hostnames {
				cr.Hostnames = append(cr.Hostnames, strings.ToLower(string(h)))
			}
			for ri := range r.Spec.Rules {
				rule, is := t.httpRule(r.Namespace, &r.Spec.Rules[ri])
				cr.Rules = append(cr.Rules, rule)
				issues = append(issues, is...)
			}
			t.cfg.Routes = append(t.cfg.Routes, cr)
			t.routeIndex = append(t.routeIndex, rk)
			t.routeGateways[rk] = gws
			for _, k := range keys {
				t.listeners[k].attached++
			}
		}
		refs := condition(string(gwv1.RouteConditionResolvedRefs), true, string(gwv1.RouteReasonResolvedRefs), "", r.Generation)
		if len(issues) > 0 {
			msgs := make([]string, len(issues))
			for i, is := range issues {
				msgs[i] = is.msg
			}
			refs = condition(string(gwv1.RouteConditionResolvedRefs), false, issues[0].reason, strings.Join(msgs, "; "), r.Generation)
			t.problem("HTTPRoute", r.Namespace, r.Name, "%s", refs.Message)
		}
		for i := range parents {
			if dropped && parents[i].Conditions[0].Status == metav1.ConditionTrue {
				parents[i].Conditions[0] = condition(string(gwv1.RouteConditionAccepted), false, string(gwv1.RouteReasonUnsupportedValue), why, r.Generation)
				t.problem("HTTPRoute", r.Namespace, r.Name, "refused: %s", why)
			}
			parents[i].Conditions = append(parents[i].Conditions, refs)
		}
		t.status.Routes["HTTPRoute/"+rk] = parents
	}
}

// attachParent resolves one parentRef of a route. ok is false when the
// parent is not a Gateway Switchyard serves (no status entry is ours then);
// otherwise the entry has its Accepted condition and keys are the listeners
// the route attaches to through it.
func (t *translator) attachParent(kind, routeNS string, gen int64, hostnames []gwv1.Hostname, pr gwv1.ParentReference) (gwv1.RouteParentStatus, []string, bool) {
	ps := gwv1.RouteParentStatus{ParentRef: pr, ControllerName: gwv1.GatewayController(t.opts.ControllerName)}
	if string(deref(pr.Group, gwv1.GroupName)) != gwv1.GroupName {
		return ps, nil, false
	}
	ns := string(deref(pr.Namespace, gwv1.Namespace(routeNS)))
	var candidates []*listenerState
	found := false
	for _, g := range t.gateways {
		switch string(deref(pr.Kind, "Gateway")) {
		case "Gateway":
			if g.gw.Namespace == ns && g.gw.Name == string(pr.Name) {
				candidates, found = g.listeners, true
			}
		case "ListenerSet":
			for _, s := range g.sets {
				if s.ls.Namespace == ns && s.ls.Name == string(pr.Name) {
					candidates, found = s.listeners, true
				}
			}
		}
	}
	if !found {
		return ps, nil, false
	}
	accept := func(ok bool, reason, msg string) {
		ps.Conditions = []metav1.Condition{condition(string(gwv1.RouteConditionAccepted), ok, reason, msg, gen)}
	}
	var keys []string
	matched, notAllowed, noHost := 0, 0, 0
	for _, ls := range candidates {
		if pr.SectionName != nil && *pr.SectionName != ls.l.Name {
			continue
		}
		if pr.Port != nil && *pr.Port != ls.l.Port {
			continue
		}
		if !ls.ok {
			continue
		}
		matched++
		switch {
		case !ls.allowsKind(kind) || !t.allowsNamespace(ls, routeNS):
			notAllowed++
		case !hostnamesIntersect(string(deref(ls.l.Hostname, "")), hostnames):
			noHost++
		default:
			keys = append(keys, ls.key)
		}
	}
	switch {
	case len(keys) > 0:
		accept(true, string(gwv1.RouteReasonAccepted), "")
	case matched == 0:
		accept(false, string(gwv1.RouteReasonNoMatchingParent), "no served listener of the parent matches the parentRef's sectionName and port")
	case notAllowed > 0:
		accept(false, string(gwv1.RouteReasonNotAllowedByListeners), fmt.Sprintf("the listeners' allowedRoutes do not admit %ss from namespace %s", kind, routeNS))
	default:
		_ = noHost
		accept(false, string(gwv1.RouteReasonNoMatchingListenerHostname), "no route hostname intersects a listener hostname")
	}
	return ps, keys, true
}

// hostnamesIntersect says whether a listener hostname (wildcard allowed, ""
// for any) admits at least one of a route's hostnames (none means any).
func hostnamesIntersect(listener string, route []gwv1.Hostname) bool {
	if listener == "" || len(route) == 0 {
		return true
	}
	lh := strings.ToLower(listener)
	for _, h := range route {
		rh := strings.ToLower(string(h))
		ls, lw := strings.CutPrefix(lh, "*.")
		rs, rw := strings.CutPrefix(rh, "*.")
		switch {
		case !lw && !rw:
			if lh == rh {
				return true
			}
		case lw && !rw:
			if strings.HasSuffix(rh, "."+ls) {
				return true
			}
		case !lw && rw:
			if strings.HasSuffix(lh, "."+rs) {
				return true
			}
		default:
			if ls == rs || strings.HasSuffix(ls, "."+rs) || strings.HasSuffix(rs, "."+ls) {
				return true
			}
		}
	}
	return false
}

// httpRule translates one HTTPRoute rule.
func (t *translator) httpRule(ns string, r *gwv1.HTTPRouteRule) (config.RouteRule, []*refIssue) {
	out := config.RouteRule{Name: string(deref(r.Name, ""))}
	var issues []*refIssue
	for _, m := range r.Matches {
		out.Matches = append(out.Matches, httpMatch(m))
	}
	answers := false // a redirect answers at the gateway: no backend needed
	broken := ""     // an unresolvable filter: the rule answers 500
	for _, f := range r.Filters {
		cf, ok, issue := t.httpFilter(ns, f)
		if issue != nil {
			issues = append(issues, issue)
		}
		switch {
		case !ok:
			broken = fmt.Sprintf("filter %s cannot be applied", f.Type)
			if issue != nil {
				broken = issue.msg
			}
		case cf != nil:
			out.Filters = append(out.Filters, *cf)
			answers = answers || cf.Type == config.FilterRequestRedirect
		}
	}
	for _, br := range r.BackendRefs {
		ref, issue := t.backendRef("HTTPRoute", ns, br.BackendObjectReference, br.Weight)
		if issue != nil {
			issues = append(issues, issue)
		}
		out.BackendRefs = append(out.BackendRefs, ref)
	}
	switch {
	case broken != "":
		out.BackendRefs = []config.BackendRef{{Name: ns + "/invalid", Invalid: broken}}
	case len(out.BackendRefs) == 0 && !answers:
		out.BackendRefs = []config.BackendRef{{Name: ns + "/invalid", Invalid: "rule has no backendRefs"}}
	}
	if to := r.Timeouts; to != nil {
		out.Timeouts = &config.Timeouts{Request: duration(to.Request), BackendRequest: duration(to.BackendRequest)}
	}
	if rt := r.Retry; rt != nil {
		out.Retry = &config.Retry{Attempts: deref(rt.Attempts, 1), Backoff: duration(rt.Backoff)}
		for _, c := range rt.Codes {
			out.Retry.Codes = append(out.Retry.Codes, int(c))
		}
	}
	return out, issues
}

// duration parses a Gateway API duration (validated by its CRD); nil is 0.
func duration(d *gwv1.Duration) config.Duration {
	if d == nil {
		return 0
	}
	v, err := time.ParseDuration(string(*d))
	if err != nil {
		return 0
	}
	return config.Duration(v)
}

func httpMatch(m gwv1.HTTPRouteMatch) config.RouteMatch {
	var out config.RouteMatch
	if p := m.Path; p != nil {
		out.Path = &config.PathMatch{Type: string(deref(p.Type, gwv1.PathMatchPathPrefix)), Value: deref(p.Value, "/")}
	}
	for _, h := range m.Headers {
		out.Headers = append(out.Headers, config.ValueMatch{Type: string(deref(h.Type, gwv1.HeaderMatchExact)), Name: string(h.Name), Value: h.Value})
	}
	for _, q := range m.QueryParams {
		out.QueryParams = append(out.QueryParams, config.ValueMatch{Type: string(deref(q.Type, gwv1.QueryParamMatchExact)), Name: string(q.Name), Value: q.Value})
	}
	if m.Method != nil {
		out.Method = string(*m.Method)
	}
	return out
}

// httpFilter translates one filter. ok is false when the filter cannot be
// honoured (the rule must then answer 500, as Gateway API requires).
func (t *translator) httpFilter(ns string, f gwv1.HTTPRouteFilter) (*config.Filter, bool, *refIssue) {
	switch f.Type {
	case gwv1.HTTPRouteFilterRequestHeaderModifier:
		return &config.Filter{Type: config.FilterRequestHeaderModifier, RequestHeaderModifier: headerModifier(f.RequestHeaderModifier)}, true, nil
	case gwv1.HTTPRouteFilterResponseHeaderModifier:
		return &config.Filter{Type: config.FilterResponseHeaderModifier, ResponseHeaderModifier: headerModifier(f.ResponseHeaderModifier)}, true, nil
	case gwv1.HTTPRouteFilterRequestRedirect:
		rd := f.RequestRedirect
		if rd == nil {
			return nil, false, nil
		}
		c := &config.Redirect{Scheme: deref(rd.Scheme, ""), Hostname: string(deref(rd.Hostname, "")),
			Port: int(deref(rd.Port, 0)), Path: pathModifier(rd.Path), StatusCode: deref(rd.StatusCode, 302)}
		return &config.Filter{Type: config.FilterRequestRedirect, RequestRedirect: c}, true, nil
	case gwv1.HTTPRouteFilterURLRewrite:
		rw := f.URLRewrite
		if rw == nil {
			return nil, false, nil
		}
		c := &config.URLRewrite{Hostname: string(deref(rw.Hostname, "")), Path: pathModifier(rw.Path)}
		return &config.Filter{Type: config.FilterURLRewrite, URLRewrite: c}, true, nil
	case gwv1.HTTPRouteFilterRequestMirror:
		m := f.RequestMirror
		if m == nil {
			return nil, false, nil
		}
		ref, issue := t.backendRef("HTTPRoute", ns, m.BackendRef, nil)
		if issue != nil || ref.Invalid != "" {
			return nil, true, issue // an unresolvable mirror is left out; the rule still serves
		}
		c := &config.Mirror{BackendRef: config.BackendRef{Name: ref.Name}}
		switch {
		case m.Percent != nil:
			p := int(*m.Percent)
			c.Percent = &p
		case m.Fraction != nil:
			p := int(int64(m.Fraction.Numerator) * 100 / int64(deref(m.Fraction.Denominator, 100)))
			c.Percent = &p
		}
		return &config.Filter{Type: config.FilterRequestMirror, RequestMirror: c}, true, nil
	case gwv1.HTTPRouteFilterExtensionRef:
		name := ""
		if f.ExtensionRef != nil {
			name = string(f.ExtensionRef.Kind) + " " + string(f.ExtensionRef.Name)
		}
		return nil, false, &refIssue{reason: string(gwv1.RouteReasonInvalidKind), msg: fmt.Sprintf("extensionRef %s is not supported: the rule answers 500", name)}
	}
	return nil, false, &refIssue{reason: string(gwv1.RouteReasonUnsupportedValue), msg: fmt.Sprintf("filter type %s is not supported: the rule answers 500", f.Type)}
}

func headerModifier(h *gwv1.HTTPHeaderFilter) *config.HeaderModifier {
	if h == nil {
		return &config.HeaderModifier{}
	}
	out := &config.HeaderModifier{Remove: slices.Clone(h.Remove)}
	for _, s := range h.Set {
		out.Set = append(out.Set, config.Header{Name: string(s.Name), Value: s.Value})
	}
	for _, a := range h.Add {
		out.Add = append(out.Add, config.Header{Name: string(a.Name), Value: a.Value})
	}
	return out
}

func pathModifier(p *gwv1.HTTPPathModifier) *config.PathModifier {
	if p == nil {
		return nil
	}
	return &config.PathModifier{Type: string(p.Type), ReplaceFullPath: deref(p.ReplaceFullPath, ""), ReplacePrefixMatch: deref(p.ReplacePrefixMatch, "")}
}
