package v1alpha1

import (
	"slices"

	"github.com/switchyard-ai/switchyard/config"
)

// DeepCopy returns a copy of m.
func (m *MCPBackend) DeepCopy() *MCPBackend {
	if m == nil {
		return nil
	}
	out := *m
	out.SessionKeySecretRef = copyRef(m.SessionKeySecretRef)
	out.Targets = nil
	for _, t := range m.Targets {
		out.Targets = append(out.Targets, *t.DeepCopy())
	}
	if m.ToolAccess != nil {
		out.ToolAccess = make([]config.ToolAccessRule, len(m.ToolAccess))
		for i, r := range m.ToolAccess {
			r.Tools = slices.Clone(r.Tools)
			r.Consumers = slices.Clone(r.Consumers)
			r.Teams = slices.Clone(r.Teams)
			if r.Claims != nil {
				claims := make(map[string][]string, len(r.Claims))
				for k, v := range r.Claims {
					claims[k] = slices.Clone(v)
				}
				r.Claims = claims
			}
			out.ToolAccess[i] = r
		}
	}
	if p := m.ProtectedResource; p != nil {
		c := *p
		c.AuthorizationServers = slices.Clone(p.AuthorizationServers)
		c.Scopes = slices.Clone(p.Scopes)
		out.ProtectedResource = &c
	}
	return &out
}

// DeepCopy returns a copy of t.
func (t *MCPTarget) DeepCopy() *MCPTarget {
	if t == nil {
		return nil
	}
	out := *t
	if s := t.Stdio; s != nil {
		c := *s
		c.Args = slices.Clone(s.Args)
		c.Env = nil
		for _, e := range s.Env {
			e.SecretKeyRef = copyRef(e.SecretKeyRef)
			c.Env = append(c.Env, e)
		}
		out.Stdio = &c
	}
	if o := t.OpenAPI; o != nil {
		c := *o
		if o.ConfigMapRef != nil {
			r := *o.ConfigMapRef
			c.ConfigMapRef = &r
		}
		out.OpenAPI = &c
	}
	if f := t.Tools; f != nil {
		out.Tools = &config.ToolFilter{Include: slices.Clone(f.Include), Exclude: slices.Clone(f.Exclude),
			IncludeRegex: slices.Clone(f.IncludeRegex), ExcludeRegex: slices.Clone(f.ExcludeRegex)}
	}
	out.Auth = t.Auth.DeepCopy()
	return &out
}

// DeepCopy returns a copy of a.
func (a *TargetAuth) DeepCopy() *TargetAuth {
	if a == nil {
		return nil
	}
	out := *a
	out.APIKeySecretRef = copyRef(a.APIKeySecretRef)
	out.TokenSecretRef = copyRef(a.TokenSecretRef)
	return &out
}

// DeepCopy returns a copy of a.
func (a *A2ABackend) DeepCopy() *A2ABackend {
	if a == nil {
		return nil
	}
	out := *a
	out.SigningKeySecretRef = copyRef(a.SigningKeySecretRef)
	out.Auth = a.Auth.DeepCopy()
	return &out
}

func copyRef(r *SecretKeyRef) *SecretKeyRef {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}
