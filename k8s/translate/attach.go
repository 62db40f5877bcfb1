package translate

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// attachment is a route's attachment to its served parents: one status
// entry per parentRef Switchyard serves, and the listener keys each reaches.
type attachment struct {
	parents []gwv1.RouteParentStatus
	keys    [][]string // per parent
}

// attachRoute resolves every parentRef of a route of kind in ns (GRPCRoute,
// TCPRoute, TLSRoute; HTTPRoute has its own loop).
func (t *translator) attachRoute(kind, ns string, gen int64, hostnames []gwv1.Hostname, refs []gwv1.ParentReference) *attachment {
	a := &attachment{}
	for _, pr := range refs {
		ps, keys, ok := t.attachParent(kind, ns, gen, hostnames, pr)
		if !ok {
			continue
		}
		a.parents = append(a.parents, ps)
		a.keys = append(a.keys, keys)
	}
	return a
}

// all is every listener key, once, in order.
func (a *attachment) all() []string {
	var out []string
	for _, ks := range a.keys {
		for _, k := range ks {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// refuse turns every accepted parent entry into Accepted=False with reason
// and message (the route is not served).
func (a *attachment) refuse(reason, msg string, gen int64) {
	for i := range a.parents {
		if a.parents[i].Conditions[0].Status == metav1.ConditionTrue {
			a.parents[i].Conditions[0] = condition(string(gwv1.RouteConditionAccepted), false, reason, msg, gen)
		}
	}
}

// finish appends ResolvedRefs (from issues) to every entry and records the
// route's status under kind/ns/name.
func (t *translator) finishRoute(kind, ns, name string, gen int64, a *attachment, issues []*refIssue) {
	refs := condition(string(gwv1.RouteConditionResolvedRefs), true, string(gwv1.RouteReasonResolvedRefs), "", gen)
	if len(issues) > 0 {
		msgs := make([]string, len(issues))
		for i, is := range issues {
			msgs[i] = is.msg
		}
		refs = condition(string(gwv1.RouteConditionResolvedRefs), false, issues[0].reason, strings.Join(msgs, "; "), gen)
		t.problem(kind, ns, name, "%s", refs.Message)
	}
	for i := range a.parents {
		a.parents[i].Conditions = append(a.parents[i].Conditions, refs)
		if c := a.parents[i].Conditions[0]; c.Status == metav1.ConditionFalse && c.Reason == string(gwv1.RouteReasonUnsupportedValue) {
			t.problem(kind, ns, name, "refused: %s", c.Message)
		}
	}
	t.status.Routes[kind+"/"+key(ns, name)] = a.parents
}

// validRefs keeps the backendRefs that resolved: TCP, TLS and gRPC routes
// have no "answer 500" share, so an invalid reference's share goes to the
// valid ones (ResolvedRefs=False says which did not resolve).
func validRefs[T any](refs []T, invalid func(T) bool) []T {
	var out []T
	for _, r := range refs {
		if !invalid(r) {
			out = append(out, r)
		}
	}
	return out
}
