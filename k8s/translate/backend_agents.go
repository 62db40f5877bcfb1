package translate

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// emitMCP emits a Backend's mcp block as a config mcp backend: credentials
// and the session key from Secrets, OpenAPI documents from ConfigMaps, all
// in the Backend's namespace. The result says what is wrong ("" when nothing).
func (t *translator) emitMCP(b *v1alpha1.Backend) string {
	m := b.Spec.MCP
	out := &config.MCPBackend{PrefixMode: m.PrefixMode, SessionTTL: m.SessionTTL, MaxMessageBytes: m.MaxMessageBytes,
		MaxBatch: m.MaxBatch, Timeout: m.Timeout}
	if r := m.SessionKeySecretRef; r != nil {
		v, issue := t.secretValue(b.Namespace, r.Name, r.Key)
		if issue != "" {
			return "sessionKeySecretRef: " + issue
		}
		out.SessionKey = config.Secret(strings.TrimSpace(v))
	}
	for i := range m.Targets {
		tg, issue := t.mcpTarget(b.Namespace, &m.Targets[i])
		if issue != "" {
			return fmt.Sprintf("target %s: %s", m.Targets[i].Name, issue)
		}
		out.Targets = append(out.Targets, tg)
	}
	c := m.DeepCopy() // the config must not share the input's slices
	out.ToolAccess, out.ProtectedResource = c.ToolAccess, c.ProtectedResource
	t.addBackend(config.Backend{Name: key(b.Namespace, b.Name), MCP: out})
	return ""
}

// mcpTarget translates one target of an MCP Backend in namespace ns.
func (t *translator) mcpTarget(ns string, in *v1alpha1.MCPTarget) (config.MCPTarget, string) {
	c := in.DeepCopy()
	out := config.MCPTarget{Name: c.Name, URL: c.URL, Transport: c.Transport, Tools: c.Tools}
	if s := c.Stdio; s != nil {
		out.Stdio = &config.StdioTarget{Command: s.Command, Args: s.Args, MaxConcurrent: s.MaxConcurrent}
		for _, e := range s.Env {
			v := e.Value
			if r := e.SecretKeyRef; r != nil {
				var issue string
				if v, issue = t.secretValue(ns, r.Name, r.Key); issue != "" {
					return out, fmt.Sprintf("env %s: %s", e.Name, issue)
				}
			}
			if out.Stdio.Env == nil {
				out.Stdio.Env = map[string]config.Secret{}
			}
			out.Stdio.Env[e.Name] = config.Secret(v)
		}
	}
	if o := c.OpenAPI; o != nil {
		out.OpenAPI = &config.OpenAPITarget{Spec: o.URL, BaseURL: o.BaseURL}
		if r := o.ConfigMapRef; r != nil {
			doc, issue := t.configMapValue(ns, r.Name, r.Key)
			if issue != "" {
				return out, "openapi: " + issue
			}
			out.OpenAPI.Document = doc
		}
	}
	auth, issue := t.targetAuth(ns, c.Auth)
	if issue != "" {
		return out, issue
	}
	out.Auth = auth
	return out, ""
}

// emitA2A emits a Backend's a2a block as a config a2a backend, its signing
// key and credentials from Secrets in the Backend's namespace.
func (t *translator) emitA2A(b *v1alpha1.Backend) string {
	a := b.Spec.A2A
	out := &config.A2ABackend{URL: a.URL, CardPath: a.CardPath, Signing: a.Signing, KeyID: a.KeyID, JWKSURL: a.JWKSURL,
		Timeout: a.Timeout}
	if r := a.SigningKeySecretRef; r != nil {
		v, issue := t.secretValue(b.Namespace, r.Name, r.Key)
		if issue != "" {
			return "signingKeySecretRef: " + issue
		}
		out.KeyPEM = config.Secret(v)
	}
	auth, issue := t.targetAuth(b.Namespace, a.Auth)
	if issue != "" {
		return issue
	}
	out.Auth = auth
	t.addBackend(config.Backend{Name: key(b.Namespace, b.Name), A2A: out})
	return ""
}

// targetAuth translates an MCP target's or an A2A agent's credentials.
func (t *translator) targetAuth(ns string, a *v1alpha1.TargetAuth) (config.MCPTargetAuth, string) {
	var out config.MCPTargetAuth
	if a == nil {
		return out, ""
	}
	out.Forward, out.Header = a.Forward, a.Header
	for _, f := range []struct {
		ref   *v1alpha1.SecretKeyRef
		into  *config.Secret
		field string
	}{{a.APIKeySecretRef, &out.APIKey, "apiKeySecretRef"}, {a.TokenSecretRef, &out.Token, "tokenSecretRef"}} {
		if f.ref == nil {
			continue
		}
		v, issue := t.secretValue(ns, f.ref.Name, f.ref.Key)
		if issue != "" {
			return out, "auth." + f.field + ": " + issue
		}
		*f.into = config.Secret(strings.TrimSpace(v))
	}
	return out, ""
}

// configMapValue reads one key of a ConfigMap (data, else binaryData); the
// second result says what is missing.
func (t *translator) configMapValue(ns, name, k string) (string, string) {
	var c *corev1.ConfigMap
	for i := range t.in.ConfigMaps {
		if cm := &t.in.ConfigMaps[i]; cm.Namespace == ns && cm.Name == name {
			c = cm
		}
	}
	if c == nil {
		return "", fmt.Sprintf("ConfigMap %s/%s not found", ns, name)
	}
	if v, ok := c.Data[k]; ok {
		return v, ""
	}
	if v, ok := c.BinaryData[k]; ok {
		return string(v), ""
	}
	return "", fmt.Sprintf("ConfigMap %s/%s has no key %q", ns, name, k)
}

// countSet counts the true values: how many of a Backend's kinds are set.
func countSet(set ...bool) int {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	return n
}
