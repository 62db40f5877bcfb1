package translate

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// translateListenerSets adds the listeners of the ListenerSets attached to a
// served Gateway, oldest first, after the Gateway's own: they share its
// binds (a port a Gateway listener uses keeps the Gateway's bind key) and
// conflict with its listeners as listeners of one Gateway do. A route
// attaches to them through a parentRef of kind ListenerSet, never through
// the Gateway.
func (t *translator) translateListenerSets(gs *gatewayState, ports map[int32]*portUse) {
	g := gs.gw
	var sets []*gwv1.ListenerSet
	for i := range t.in.ListenerSets {
		s := &t.in.ListenerSets[i]
		pr := s.Spec.ParentRef
		if string(deref(pr.Group, gwv1.GroupName)) != gwv1.GroupName || string(deref(pr.Kind, "Gateway")) != "Gateway" {
			continue
		}
		if string(pr.Name) == g.Name && string(deref(pr.Namespace, gwv1.Namespace(s.Namespace))) == g.Namespace {
			sets = append(sets, s)
		}
	}
	slices.SortFunc(sets, func(a, b *gwv1.ListenerSet) int { return olderFirst(a, b) })
	for _, s := range sets {
		st := &listenerSetState{ls: s, gw: gs}
		gs.sets = append(gs.sets, st)
		if !t.allowsListeners(g, s.Namespace) {
			msg := fmt.Sprintf("Gateway %s/%s does not allow ListenerSets from namespace %s (spec.allowedListeners)", g.Namespace, g.Name, s.Namespace)
			st.conds = []metav1.Condition{
				condition(string(gwv1.ListenerSetConditionAccepted), false, string(gwv1.ListenerSetReasonNotAllowed), msg, s.Generation),
				condition(string(gwv1.ListenerSetConditionProgrammed), false, string(gwv1.ListenerSetReasonNotAllowed), msg, s.Generation),
			}
			continue
		}
		for i := range s.Spec.Listeners {
			e := &s.Spec.Listeners[i]
			l := &gwv1.Listener{Name: e.Name, Hostname: e.Hostname, Port: e.Port, Protocol: e.Protocol, TLS: e.TLS, AllowedRoutes: e.AllowedRoutes}
			ls := &listenerState{gw: g, ns: s.Namespace, l: l, key: s.Namespace + "/" + s.Name + "." + string(e.Name)}
			st.listeners = append(st.listeners, ls)
			t.addListener(ls, "ListenerSet", s.Namespace, s.Name, s.Generation, ports)
		}
	}
}

// allowsListeners says whether a Gateway's spec.allowedListeners admit
// ListenerSets from ns (default: none).
func (t *translator) allowsListeners(g *gwv1.Gateway, ns string) bool {
	al := g.Spec.AllowedListeners
	if al == nil || al.Namespaces == nil {
		return false
	}
	switch deref(al.Namespaces.From, gwv1.NamespacesFromNone) {
	case gwv1.NamespacesFromAll:
		return true
	case gwv1.NamespacesFromSame:
		return ns == g.Namespace
	case gwv1.NamespacesFromSelector:
		if al.Namespaces.Selector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(al.Namespaces.Selector)
		return err == nil && sel.Matches(labels.Set(t.namespaces[ns]))
	}
	return false
}

// finishListenerSets writes the status of a Gateway's ListenerSets and
// returns how many are attached.
func (t *translator) finishListenerSets(gs *gatewayState) int32 {
	attached := int32(0)
	for _, st := range gs.sets {
		s := st.ls
		out := gwv1.ListenerSetStatus{Conditions: st.conds}
		if st.conds == nil {
			attached++
			var ls []gwv1.ListenerStatus
			ls, out.Conditions = listenersStatus(st.listeners, s.Generation)
			for _, l := range ls {
				out.Listeners = append(out.Listeners, gwv1.ListenerEntryStatus(l))
			}
		}
		t.status.ListenerSets[key(s.Namespace, s.Name)] = out
	}
	return attached
}
