package translate

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

type discoverySlice = discoveryv1.EndpointSlice

// refIssue is why a backendRef does not resolve: a ResolvedRefs reason and message.
type refIssue struct {
	reason, msg string
}

// The backend kinds a backendRef may name.
const (
	groupCore      = ""
	groupInference = "inference.networking.k8s.io"
)

// backendRef resolves one backendRef of a route of kind routeKind in
// routeNS to a config BackendRef, emitting the config backend it names. A
// reference that does not resolve becomes an Invalid ref (its share answers
// 500) and an issue for ResolvedRefs.
func (t *translator) backendRef(routeKind, routeNS string, ref gwv1.BackendObjectReference, weight *int32) (config.BackendRef, *refIssue) {
	group := string(deref(ref.Group, ""))
	kind := string(deref(ref.Kind, "Service"))
	ns := string(deref(ref.Namespace, gwv1.Namespace(routeNS)))
	name := string(ref.Name)
	out := config.BackendRef{Name: key(ns, name)}
	if weight != nil {
		w := int(*weight)
		out.Weight = &w
	}
	invalid := func(reason, format string, args ...any) (config.BackendRef, *refIssue) {
		msg := fmt.Sprintf(format, args...)
		out.Invalid = msg
		return out, &refIssue{reason: reason, msg: msg}
	}
	switch {
	case group == groupCore && kind == "Service":
	case group == v1alpha1.Group && kind == "Backend":
	case group == groupInference && kind == "InferencePool":
	default:
		return invalid(string(gwv1.RouteReasonInvalidKind), "backendRef %s/%s %s: unsupported kind", group, kind, out.Name)
	}
	if ns != routeNS && !t.granted(routeKind, routeNS, group, kind, ns, name) {
		return invalid(string(gwv1.RouteReasonRefNotPermitted), "no ReferenceGrant in %s allows %ss in %s to use %s %s", ns, routeKind, routeNS, kind, name)
	}
	if kind == "InferencePool" {
		if routeKind != "HTTPRoute" {
			return invalid(string(gwv1.RouteReasonInvalidKind), "InferencePool %s: InferencePools serve HTTPRoutes only", out.Name)
		}
		return t.poolRef(out)
	}
	if kind == "Backend" {
		b := t.backends[out.Name]
		if b == nil {
			return invalid(string(gwv1.RouteReasonBackendNotFound), "Backend %s not found", out.Name)
		}
		if why, ok := t.drop.backends[out.Name]; ok {
			return invalid(string(gwv1.RouteReasonBackendNotFound), "Backend %s is invalid: %s", out.Name, why)
		}
		if issue := t.emitBackend(b); issue != "" {
			return invalid(string(gwv1.RouteReasonBackendNotFound), "Backend %s: %s", out.Name, issue)
		}
		return out, nil
	}
	svc := t.services[out.Name]
	if svc == nil {
		return invalid(string(gwv1.RouteReasonBackendNotFound), "Service %s not found", out.Name)
	}
	if ref.Port == nil {
		return invalid(string(gwv1.RouteReasonUnsupportedValue), "backendRef to Service %s needs a port", out.Name)
	}
	port := int32(*ref.Port)
	out.Name = fmt.Sprintf("%s:%d", out.Name, port)
	if why, ok := t.drop.backends[out.Name]; ok {
		return invalid(string(gwv1.RouteReasonBackendNotFound), "Service %s is invalid: %s", out.Name, why)
	}
	if t.usedBackends[out.Name] {
		return out, nil
	}
	eps, issue := t.serviceEndpoints(svc, port)
	if issue != nil {
		return invalid(issue.reason, "%s", issue.msg)
	}
	if len(eps) == 0 {
		// Resolved, but nothing to send to: the rule answers 500 for its share.
		out.Invalid = fmt.Sprintf("Service %s has no ready endpoints", out.Name)
		return out, nil
	}
	t.addBackend(config.Backend{Name: out.Name, Static: &config.StaticBackend{Endpoints: eps}})
	return out, nil
}

// serviceEndpoints lists a Service port's ready endpoints from its
// EndpointSlices (an ExternalName Service is its external name).
func (t *translator) serviceEndpoints(svc *corev1.Service, port int32) ([]config.Endpoint, *refIssue) {
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return []config.Endpoint{{Host: svc.Spec.ExternalName, Port: int(port)}}, nil
	}
	if sp == nil {
		return nil, &refIssue{reason: string(gwv1.RouteReasonBackendNotFound), msg: fmt.Sprintf("Service %s/%s has no port %d", svc.Namespace, svc.Name, port)}
	}
	seen := map[string]bool{}
	var out []config.Endpoint
	ss := slices.Clone(t.slices[key(svc.Namespace, svc.Name)])
	slices.SortFunc(ss, func(a, b *discoverySlice) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range ss {
		target := int32(0)
		for _, p := range s.Ports {
			if deref(p.Name, "") == sp.Name && p.Port != nil {
				target = *p.Port
			}
		}
		if target == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			if !deref(e.Conditions.Ready, true) {
				continue
			}
			for _, a := range e.Addresses {
				k := fmt.Sprintf("%s:%d", a, target)
				if !seen[k] {
					seen[k] = true
					out = append(out, config.Endpoint{Host: a, Port: int(target)})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b config.Endpoint) int {
		if c := strings.Compare(a.Host, b.Host); c != 0 {
			return c
		}
		return a.Port - b.Port
	})
	return out, nil
}

// addBackend emits a config backend once.
func (t *translator) addBackend(b config.Backend) {
	if t.usedBackends[b.Name] {
		return
	}
	t.usedBackends[b.Name] = true
	t.cfg.Backends = append(t.cfg.Backends, b)
	t.backendIndex = append(t.backendIndex, b.Name)
}

// emitBackend emits a Switchyard Backend; the result says what is wrong with it ("" when nothing).
func (t *translator) emitBackend(b *v1alpha1.Backend) string {
	name := key(b.Namespace, b.Name)
	if t.usedBackends[name] {
		return ""
	}
	s := b.Spec
	switch {
	case countSet(s.AI != nil, s.Static != nil, s.MCP != nil, s.A2A != nil) != 1:
		return "set exactly one of ai, static, mcp and a2a"
	case s.MCP != nil:
		return t.emitMCP(b)
	case s.A2A != nil:
		return t.emitA2A(b)
	case s.Static != nil:
		eps := make([]config.Endpoint, 0, len(s.Static.Endpoints))
		for _, e := range s.Static.Endpoints {
			eps = append(eps, config.Endpoint{Host: e.Host, Port: e.Port, Weight: e.Weight})
		}
		t.addBackend(config.Backend{Name: name, Static: &config.StaticBackend{Endpoints: eps}})
		return ""
	}
	a := s.AI
	ai := &config.AIBackend{Provider: a.Provider, BaseURL: a.BaseURL, Model: a.Model, Models: slices.Clone(a.Models),
		Region: a.Region, Project: a.Project, APIVersion: a.APIVersion, Timeout: a.Timeout}
	if len(a.Aliases) > 0 {
		ai.Aliases = map[string]string{}
		for k, v := range a.Aliases {
			ai.Aliases[k] = v
		}
	}
	if au := a.Auth; au != nil {
		ai.Auth.Passthrough = au.Passthrough
		if r := au.APIKeySecretRef; r != nil {
			v, err := t.secretValue(b.Namespace, r.Name, r.Key)
			if err != "" {
				return err
			}
			ai.Auth.APIKey = config.Secret(strings.TrimSpace(v))
		}
		if w := au.AWS; w != nil {
			ai.Auth.AWS = &config.AWSAuth{RoleARN: w.RoleARN}
			if w.SecretName != "" {
				id, err := t.secretValue(b.Namespace, w.SecretName, "accessKeyID")
				if err != "" {
					return err
				}
				sk, err := t.secretValue(b.Namespace, w.SecretName, "secretAccessKey")
				if err != "" {
					return err
				}
				tok, _ := t.secretValue(b.Namespace, w.SecretName, "sessionToken")
				ai.Auth.AWS.AccessKeyID, ai.Auth.AWS.SecretAccessKey, ai.Auth.AWS.SessionToken = id, config.Secret(sk), config.Secret(tok)
			}
		}
	}
	t.addBackend(config.Backend{Name: name, AI: ai})
	return ""
}

// secretValue reads one key of a Secret; the second result says what is missing.
func (t *translator) secretValue(ns, name, k string) (string, string) {
	s := t.secrets[key(ns, name)]
	if s == nil {
		return "", fmt.Sprintf("Secret %s/%s not found", ns, name)
	}
	v, ok := s.Data[k]
	if !ok {
		if sv, ok := s.StringData[k]; ok {
			return sv, ""
		}
		return "", fmt.Sprintf("Secret %s/%s has no key %q", ns, name, k)
	}
	return string(v), ""
}

// translateBackendStatus sets every Switchyard Backend's conditions.
func (t *translator) translateBackendStatus() {
	for i := range t.in.Backends {
		b := &t.in.Backends[i]
		name := key(b.Namespace, b.Name)
		issue := ""
		if why, ok := t.drop.backends[name]; ok {
			issue = why
		} else if !t.usedBackends[name] {
			issue = t.emitBackend(b)
			if issue == "" { // valid but unreferenced: not served
				t.cfg.Backends = t.cfg.Backends[:len(t.cfg.Backends)-1]
				t.backendIndex = t.backendIndex[:len(t.backendIndex)-1]
				delete(t.usedBackends, name)
			}
		}
		t.status.Resources["Backend/"+name] = resourceConds(b.Generation, issue)
	}
}
