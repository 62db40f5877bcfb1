package translate

// granted says whether a ReferenceGrant in toNS lets objects of fromKind
// (in the Gateway API group) in fromNS refer to the object toGroup/toKind
// named toName. Same-namespace references need no grant; callers check that.
func (t *translator) granted(fromKind, fromNS, toGroup, toKind, toNS, toName string) bool {
	for i := range t.in.ReferenceGrants {
		g := &t.in.ReferenceGrants[i]
		if g.Namespace != toNS {
			continue
		}
		from := false
		for _, f := range g.Spec.From {
			if string(f.Group) == "gateway.networking.k8s.io" && string(f.Kind) == fromKind && string(f.Namespace) == fromNS {
				from = true
				break
			}
		}
		if !from {
			continue
		}
		for _, to := range g.Spec.To {
			if string(to.Group) == toGroup && string(to.Kind) == toKind && (to.Name == nil || string(*to.Name) == toName) {
				return true
			}
		}
	}
	return false
}
