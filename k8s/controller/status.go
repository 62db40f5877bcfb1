package controller

import (
	"context"
	"reflect"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
	"github.com/switchyard-ai/switchyard/k8s/translate"
)

// statusLoop writes the latest translation's status whenever it changes,
// while this replica holds the lease; a failed write is retried.
func (c *Controller) statusLoop(ctx context.Context) error {
	if !c.mgr.GetCache().WaitForCacheSync(ctx) {
		return nil
	}
	retry := time.NewTicker(5 * time.Second)
	defer retry.Stop()
	dirty := true
	for {
		if out := c.Last(); out != nil && dirty {
			dirty = !c.writeStatus(ctx, out)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.statusKick:
			dirty = true
		case <-retry.C:
		}
	}
}

// writeStatus updates every object whose status differs from the
// translation's; false when a write failed.
func (c *Controller) writeStatus(ctx context.Context, out *translate.Output) bool {
	cl := c.mgr.GetClient()
	ok := true
	update := func(obj client.Object) {
		if err := cl.Status().Update(ctx, obj); err != nil {
			ok = false
			c.log.Warn("kubernetes: write status", "kind", reflect.TypeOf(obj).Elem().Name(),
				"namespace", obj.GetNamespace(), "name", obj.GetName(), "err", err.Error())
		}
	}
	var classes gwv1.GatewayClassList
	if err := cl.List(ctx, &classes); err == nil {
		for i := range classes.Items {
			gc := &classes.Items[i]
			want, mine := out.Status.GatewayClasses[gc.Name]
			if !mine {
				continue
			}
			before := gc.Status.DeepCopy()
			mergeConditions(&gc.Status.Conditions, want)
			if !equality.Semantic.DeepEqual(before, &gc.Status) {
				update(gc)
			}
		}
	}
	var gws gwv1.GatewayList
	if err := cl.List(ctx, &gws); err == nil {
		for i := range gws.Items {
			g := &gws.Items[i]
			want, mine := out.Status.Gateways[g.Namespace+"/"+g.Name]
			if !mine {
				continue
			}
			before := g.Status.DeepCopy()
			mergeGateway(&g.Status, &want)
			g.Status.AttachedListenerSets, g.Status.Addresses = want.AttachedListenerSets, want.Addresses
			if !equality.Semantic.DeepEqual(before, &g.Status) {
				update(g)
			}
		}
	}
	if c.watches("ListenerSet") {
		var sets gwv1.ListenerSetList
		if err := cl.List(ctx, &sets); err == nil {
			for i := range sets.Items {
				s := &sets.Items[i]
				want, mine := out.Status.ListenerSets[s.Namespace+"/"+s.Name]
				if !mine {
					continue
				}
				before := s.Status.DeepCopy()
				mergeListenerSet(&s.Status, &want)
				if !equality.Semantic.DeepEqual(before, &s.Status) {
					update(s)
				}
			}
		}
	}
	routes := func(kind string, list client.ObjectList, each func(func(client.Object, *gwv1.RouteStatus))) {
		if !c.watches(kind) {
			return
		}
		if err := cl.List(ctx, list); err != nil {
			return
		}
		each(func(obj client.Object, st *gwv1.RouteStatus) {
			before := st.DeepCopy()
			want := out.Status.Routes[kind+"/"+obj.GetNamespace()+"/"+obj.GetName()]
			mergeParents(st, want, gwv1.GatewayController(c.opts.Translate.ControllerName))
			if !equality.Semantic.DeepEqual(before, st) {
				update(obj)
			}
		})
	}
	var hr gwv1.HTTPRouteList
	routes("HTTPRoute", &hr, func(f func(client.Object, *gwv1.RouteStatus)) {
		for i := range hr.Items {
			f(&hr.Items[i], &hr.Items[i].Status.RouteStatus)
		}
	})
	var gr gwv1.GRPCRouteList
	routes("GRPCRoute", &gr, func(f func(client.Object, *gwv1.RouteStatus)) {
		for i := range gr.Items {
			f(&gr.Items[i], &gr.Items[i].Status.RouteStatus)
		}
	})
	var tr gwv1.TCPRouteList
	routes("TCPRoute", &tr, func(f func(client.Object, *gwv1.RouteStatus)) {
		for i := range tr.Items {
			f(&tr.Items[i], &tr.Items[i].Status.RouteStatus)
		}
	})
	var tl gwv1.TLSRouteList
	routes("TLSRoute", &tl, func(f func(client.Object, *gwv1.RouteStatus)) {
		for i := range tl.Items {
			f(&tl.Items[i], &tl.Items[i].Status.RouteStatus)
		}
	})
	own := func(kind string, list client.ObjectList, items func() []ownObject) {
		if !c.watches(kind) {
			return
		}
		if err := cl.List(ctx, list); err != nil {
			return
		}
		for _, o := range items() {
			want, mine := out.Status.Resources[kind+"/"+o.obj.GetNamespace()+"/"+o.obj.GetName()]
			if !mine {
				continue
			}
			before := o.st.DeepCopy()
			mergeConditions(&o.st.Conditions, want)
			if !equality.Semantic.DeepEqual(before, o.st) {
				update(o.obj)
			}
		}
	}
	var bl v1alpha1.BackendList
	own("Backend", &bl, func() (out []ownObject) {
		for i := range bl.Items {
			out = append(out, ownObject{&bl.Items[i], &bl.Items[i].Status})
		}
		return out
	})
	var pl v1alpha1.PolicyList
	own("Policy", &pl, func() (out []ownObject) {
		for i := range pl.Items {
			out = append(out, ownObject{&pl.Items[i], &pl.Items[i].Status})
		}
		return out
	})
	var cs v1alpha1.ConsumerList
	own("Consumer", &cs, func() (out []ownObject) {
		for i := range cs.Items {
			out = append(out, ownObject{&cs.Items[i], &cs.Items[i].Status})
		}
		return out
	})
	if c.watches("InferencePool") {
		var pools infv1.InferencePoolList
		if err := cl.List(ctx, &pools); err == nil {
			for i := range pools.Items {
				p := &pools.Items[i]
				before := p.Status.DeepCopy()
				mergePoolParents(&p.Status, out.Status.InferencePools[p.Namespace+"/"+p.Name], infv1.ControllerName(c.opts.Translate.ControllerName))
				if !equality.Semantic.DeepEqual(before, &p.Status) {
					update(p)
				}
			}
		}
	}
	return ok
}

// mergePoolParents replaces this controller's parent entries of an
// InferencePool's status, leaving other controllers' entries alone.
func mergePoolParents(have *infv1.InferencePoolStatus, want []infv1.ParentStatus, controller infv1.ControllerName) {
	have.Parents = mergeOwn(have.Parents, want,
		func(p *infv1.ParentStatus) bool { return p.ControllerName == controller },
		func(a, b *infv1.ParentStatus) bool { return reflect.DeepEqual(a.ParentRef, b.ParentRef) },
		func(w *infv1.ParentStatus) infv1.ParentStatus {
			return infv1.ParentStatus{ParentRef: w.ParentRef, ControllerName: controller}
		},
		func(p *infv1.ParentStatus) *[]metav1.Condition { return &p.Conditions })
}

// mergeOwn returns the entries of have that are not mine, then one entry
// per want: the old entry for the same parent (keeping the transition times
// of conditions that did not change) or a fresh one, with want's conditions.
func mergeOwn[E any](have, want []E, mine func(*E) bool, same func(a, b *E) bool, fresh func(*E) E, conds func(*E) *[]metav1.Condition) []E {
	var out, old []E
	for i := range have {
		if mine(&have[i]) {
			old = append(old, have[i])
		} else {
			out = append(out, have[i])
		}
	}
	for i := range want {
		w := &want[i]
		cur := fresh(w)
		for j := range old {
			if same(&old[j], w) {
				cur = old[j]
			}
		}
		c := slices.Clone(*conds(&cur))
		mergeConditions(&c, *conds(w))
		*conds(&cur) = c
		out = append(out, cur)
	}
	return out
}

// ownObject is a Switchyard resource and its status.
type ownObject struct {
	obj client.Object
	st  *v1alpha1.Status
}

// watches says whether the controller watches a kind (its CRD is installed).
func (c *Controller) watches(kind string) bool {
	for _, k := range c.kinds {
		if k.gvk.Kind == kind {
			return true
		}
	}
	return false
}

// mergeConditions sets want on *have, keeping the transition time of a
// condition whose status did not change.
func mergeConditions(have *[]metav1.Condition, want []metav1.Condition) {
	for _, w := range want {
		meta.SetStatusCondition(have, w)
	}
}

// mergeGateway sets a Gateway's conditions and listener statuses.
func mergeGateway(have *gwv1.GatewayStatus, want *gwv1.GatewayStatus) {
	mergeConditions(&have.Conditions, want.Conditions)
	have.Listeners = mergeListeners(have.Listeners, want.Listeners)
}

// mergeListenerSet sets a ListenerSet's conditions and listener statuses
// (the same fields as a Gateway listener's).
func mergeListenerSet(have *gwv1.ListenerSetStatus, want *gwv1.ListenerSetStatus) {
	mergeConditions(&have.Conditions, want.Conditions)
	conv := func(in []gwv1.ListenerEntryStatus) []gwv1.ListenerStatus {
		out := make([]gwv1.ListenerStatus, len(in))
		for i, l := range in {
			out[i] = gwv1.ListenerStatus(l)
		}
		return out
	}
	merged := mergeListeners(conv(have.Listeners), conv(want.Listeners))
	have.Listeners = nil
	for _, l := range merged {
		have.Listeners = append(have.Listeners, gwv1.ListenerEntryStatus(l))
	}
}

// mergeListeners returns want's listener statuses, each keeping the
// transition times of have's conditions that did not change.
func mergeListeners(have, want []gwv1.ListenerStatus) []gwv1.ListenerStatus {
	var out []gwv1.ListenerStatus
	for _, w := range want {
		var cur gwv1.ListenerStatus
		for _, h := range have {
			if h.Name == w.Name {
				cur = *h.DeepCopy()
			}
		}
		cur.Name, cur.SupportedKinds, cur.AttachedRoutes = w.Name, w.SupportedKinds, w.AttachedRoutes
		mergeConditions(&cur.Conditions, w.Conditions)
		out = append(out, cur)
	}
	return out
}

// mergeParents replaces this controller's parent entries of a route status,
// leaving other controllers' entries alone.
func mergeParents(have *gwv1.RouteStatus, want []gwv1.RouteParentStatus, controller gwv1.GatewayController) {
	have.Parents = mergeOwn(have.Parents, want,
		func(p *gwv1.RouteParentStatus) bool { return p.ControllerName == controller },
		func(a, b *gwv1.RouteParentStatus) bool { return reflect.DeepEqual(a.ParentRef, b.ParentRef) },
		func(w *gwv1.RouteParentStatus) gwv1.RouteParentStatus {
			return gwv1.RouteParentStatus{ParentRef: w.ParentRef, ControllerName: controller}
		},
		func(p *gwv1.RouteParentStatus) *[]metav1.Condition { return &p.Conditions })
}
