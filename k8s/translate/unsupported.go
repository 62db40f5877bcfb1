package translate

import (
	"fmt"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// translateUnsupportedRoutes gives the route kinds the data plane does not
// serve yet (GRPCRoute, TCPRoute, TLSRoute) a status on each served parent:
// Accepted=False, reason UnsupportedValue, saying so. Each kind moves to a
// file of its own when the data plane serves it.
func (t *translator) translateUnsupportedRoutes() {
	for i := range t.in.GRPCRoutes {
		r := &t.in.GRPCRoutes[i]
		t.unsupportedRoute("GRPCRoute", r.Namespace, r.Name, r.Generation, r.Spec.ParentRefs)
	}
	for i := range t.in.TCPRoutes {
		r := &t.in.TCPRoutes[i]
		t.unsupportedRoute("TCPRoute", r.Namespace, r.Name, r.Generation, r.Spec.ParentRefs)
	}
	for i := range t.in.TLSRoutes {
		r := &t.in.TLSRoutes[i]
		t.unsupportedRoute("TLSRoute", r.Namespace, r.Name, r.Generation, r.Spec.ParentRefs)
	}
}

func (t *translator) unsupportedRoute(kind, ns, name string, gen int64, parents []gwv1.ParentReference) {
	var out []gwv1.RouteParentStatus
	msg := fmt.Sprintf("%s is not served by Switchyard yet", kind)
	for _, pr := range parents {
		ps, _, ok := t.attachParent(kind, ns, gen, nil, pr)
		if !ok {
			continue
		}
		ps.Conditions = append(ps.Conditions[:0],
			condition(string(gwv1.RouteConditionAccepted), false, string(gwv1.RouteReasonUnsupportedValue), msg, gen),
			condition(string(gwv1.RouteConditionResolvedRefs), true, string(gwv1.RouteReasonResolvedRefs), "", gen))
		out = append(out, ps)
	}
	if len(out) > 0 {
		t.status.Routes[kind+"/"+key(ns, name)] = out
		t.problem(kind, ns, name, "%s", msg)
	}
}
