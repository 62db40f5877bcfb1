package v1alpha1

import (
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/switchyard-ai/switchyard/config"
)

// The deep copies runtime.Object requires, written by hand: the specs hold
// config types, which have no generated copies.

// DeepCopyInto copies s into out.
func (s *Status) DeepCopyInto(out *Status) {
	out.Conditions = nil
	for _, c := range s.Conditions {
		var cc metav1.Condition
		c.DeepCopyInto(&cc)
		out.Conditions = append(out.Conditions, cc)
	}
}

// DeepCopy returns a copy of b.
func (b *Backend) DeepCopy() *Backend {
	if b == nil {
		return nil
	}
	out := &Backend{TypeMeta: b.TypeMeta}
	b.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if a := b.Spec.AI; a != nil {
		c := *a
		c.Models = slices.Clone(a.Models)
		c.Aliases = maps.Clone(a.Aliases)
		if a.Auth != nil {
			auth := *a.Auth
			if a.Auth.APIKeySecretRef != nil {
				r := *a.Auth.APIKeySecretRef
				auth.APIKeySecretRef = &r
			}
			if a.Auth.AWS != nil {
				w := *a.Auth.AWS
				auth.AWS = &w
			}
			c.Auth = &auth
		}
		out.Spec.AI = &c
	}
	if s := b.Spec.Static; s != nil {
		out.Spec.Static = &StaticBackend{Endpoints: slices.Clone(s.Endpoints)}
	}
	out.Spec.MCP = b.Spec.MCP.DeepCopy()
	out.Spec.A2A = b.Spec.A2A.DeepCopy()
	b.Status.DeepCopyInto(&out.Status)
	return out
}

// DeepCopyObject implements runtime.Object.
func (b *Backend) DeepCopyObject() runtime.Object { return b.DeepCopy() }

// DeepCopyObject implements runtime.Object.
func (l *BackendList) DeepCopyObject() runtime.Object {
	out := &BackendList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	for i := range l.Items {
		out.Items = append(out.Items, *l.Items[i].DeepCopy())
	}
	return out
}

// DeepCopy returns a copy of p.
func (p *Policy) DeepCopy() *Policy {
	if p == nil {
		return nil
	}
	out := &Policy{TypeMeta: p.TypeMeta}
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	s := p.Spec
	out.Spec.TargetRefs = slices.Clone(s.TargetRefs)
	if s.CORS != nil {
		c := *s.CORS
		c.AllowOrigins = slices.Clone(c.AllowOrigins)
		c.AllowMethods = slices.Clone(c.AllowMethods)
		c.AllowHeaders = slices.Clone(c.AllowHeaders)
		c.ExposeHeaders = slices.Clone(c.ExposeHeaders)
		out.Spec.CORS = &c
	}
	out.Spec.ClientAuth = copyClientAuth(s.ClientAuth)
	out.Spec.RateLimits = copyLimits(s.RateLimits)
	if s.Timeouts != nil {
		t := *s.Timeouts
		out.Spec.Timeouts = &t
	}
	if s.Retry != nil {
		r := *s.Retry
		r.Codes = slices.Clone(r.Codes)
		out.Spec.Retry = &r
	}
	p.Status.DeepCopyInto(&out.Status)
	return out
}

// DeepCopyObject implements runtime.Object.
func (p *Policy) DeepCopyObject() runtime.Object { return p.DeepCopy() }

// DeepCopyObject implements runtime.Object.
func (l *PolicyList) DeepCopyObject() runtime.Object {
	out := &PolicyList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	for i := range l.Items {
		out.Items = append(out.Items, *l.Items[i].DeepCopy())
	}
	return out
}

// DeepCopy returns a copy of c.
func (c *Consumer) DeepCopy() *Consumer {
	if c == nil {
		return nil
	}
	out := &Consumer{TypeMeta: c.TypeMeta}
	c.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec.Team = c.Spec.Team
	out.Spec.Limits = copyLimits(c.Spec.Limits)
	out.Spec.Budgets = slices.Clone(c.Spec.Budgets)
	for _, k := range c.Spec.Keys {
		kk := k
		if k.ExpiresAt != nil {
			kk.ExpiresAt = k.ExpiresAt.DeepCopy()
		}
		kk.Models = slices.Clone(k.Models)
		kk.Limits = copyLimits(k.Limits)
		kk.Budgets = slices.Clone(k.Budgets)
		out.Spec.Keys = append(out.Spec.Keys, kk)
	}
	c.Status.DeepCopyInto(&out.Status)
	return out
}

// DeepCopyObject implements runtime.Object.
func (c *Consumer) DeepCopyObject() runtime.Object { return c.DeepCopy() }

// DeepCopyObject implements runtime.Object.
func (l *ConsumerList) DeepCopyObject() runtime.Object {
	out := &ConsumerList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	for i := range l.Items {
		out.Items = append(out.Items, *l.Items[i].DeepCopy())
	}
	return out
}

func copyLimits(ls []config.Limit) []config.Limit {
	if ls == nil {
		return nil
	}
	out := make([]config.Limit, len(ls))
	for i, l := range ls {
		l.By = slices.Clone(l.By)
		out[i] = l
	}
	return out
}

func copyClientAuth(a *config.ClientAuth) *config.ClientAuth {
	if a == nil {
		return nil
	}
	c := *a
	if a.APIKeys != nil {
		k := *a.APIKeys
		c.APIKeys = &k
	}
	if a.JWT != nil {
		j := *a.JWT
		j.Audiences = slices.Clone(j.Audiences)
		j.Algorithms = slices.Clone(j.Algorithms)
		c.JWT = &j
	}
	return &c
}

// DeepCopy returns a copy of s.
func (s *Status) DeepCopy() *Status {
	if s == nil {
		return nil
	}
	out := &Status{}
	s.DeepCopyInto(out)
	return out
}
