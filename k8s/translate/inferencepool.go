package translate

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
)

// poolBackendName is the config backend an InferencePool becomes; the
// suffix keeps it apart from a Switchyard Backend of the same name.
func poolBackendName(ns, name string) string { return key(ns, name) + ".inferencepool" }

// poolRef resolves a backendRef to an InferencePool (namespace and grant
// already checked) into an inferencePool backend: the ready Pods its
// selector picks × its targetPorts, and the endpoint picker its
// endpointPickerRef names.
func (t *translator) poolRef(out config.BackendRef) (config.BackendRef, *refIssue) {
	pk := out.Name
	out.Name = poolBackendName(splitKey(pk))
	invalid := func(reason, format string, args ...any) (config.BackendRef, *refIssue) {
		msg := fmt.Sprintf(format, args...)
		out.Invalid = msg
		return out, &refIssue{reason: reason, msg: msg}
	}
	p := t.pools[pk]
	if p == nil {
		return invalid(string(gwv1.RouteReasonBackendNotFound), "InferencePool %s not found", pk)
	}
	if why, ok := t.drop.backends[out.Name]; ok {
		return invalid(string(gwv1.RouteReasonBackendNotFound), "InferencePool %s is invalid: %s", pk, why)
	}
	if t.usedBackends[out.Name] {
		return out, nil
	}
	ip, eppIssue := t.poolBackend(p)
	if eppIssue != "" {
		return invalid(string(gwv1.RouteReasonBackendNotFound), "InferencePool %s: %s", pk, eppIssue)
	}
	if len(ip.Endpoints) == 0 {
		out.Invalid = fmt.Sprintf("InferencePool %s has no ready Pods", pk)
		return out, nil
	}
	t.addBackend(config.Backend{Name: out.Name, InferencePool: ip})
	return out, nil
}

// poolBackend builds a pool's config; the string says what does not resolve
// (its endpointPickerRef).
func (t *translator) poolBackend(p *infv1.InferencePool) (*config.InferencePool, string) {
	ip := &config.InferencePool{AppProtocol: string(p.Spec.AppProtocol)}
	for _, tp := range p.Spec.TargetPorts {
		ip.TargetPorts = append(ip.TargetPorts, int(tp.Number))
	}
	ip.Endpoints = t.poolPods(p)
	if ref := p.Spec.EndpointPickerRef; ref != nil {
		addr, issue := t.pickerAddress(p.Namespace, ref)
		if issue != "" {
			return nil, issue
		}
		ip.EndpointPicker = &config.EndpointPicker{Address: addr, FailureMode: string(ref.FailureMode)}
		// The reference endpoint picker serves TLS with a self-signed
		// certificate by default; the annotation turns TLS off for a
		// picker that serves plaintext gRPC.
		if p.Annotations[PickerTLSAnnotation] != "false" {
			ip.EndpointPicker.TLS = &config.PickerTLS{InsecureSkipVerify: true}
		}
	}
	return ip, ""
}

// PickerTLSAnnotation on an InferencePool, set to "false", makes the gateway
// speak plaintext gRPC to its endpoint picker (default: TLS, accepting the
// picker's self-signed certificate).
const PickerTLSAnnotation = "switchyard.dev/endpoint-picker-tls"

// poolPods are the IPs of the ready, running Pods in the pool's namespace
// that its selector picks, sorted.
func (t *translator) poolPods(p *infv1.InferencePool) []string {
	var out []string
	for _, pod := range t.pods[p.Namespace] {
		if pod.DeletionTimestamp != nil || pod.Status.PodIP == "" || !podReady(pod) {
			continue
		}
		match := len(p.Spec.Selector.MatchLabels) > 0
		for k, v := range p.Spec.Selector.MatchLabels {
			if pod.Labels[string(k)] != string(v) {
				match = false
			}
		}
		if match && !slices.Contains(out, pod.Status.PodIP) {
			out = append(out, pod.Status.PodIP)
		}
	}
	slices.Sort(out)
	return out
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pickerAddress is the host:port of the Service an endpointPickerRef names:
// its cluster IP, or its DNS name when it has none (headless, or a manifest
// not yet applied).
func (t *translator) pickerAddress(ns string, ref *infv1.EndpointPickerRef) (string, string) {
	if g := string(deref(ref.Group, "")); g != "" || (ref.Kind != "" && ref.Kind != "Service") {
		return "", fmt.Sprintf("endpointPickerRef %s/%s %s: only a core Service is supported", g, ref.Kind, ref.Name)
	}
	svc := t.services[key(ns, string(ref.Name))]
	if svc == nil {
		return "", fmt.Sprintf("endpointPickerRef: Service %s/%s not found", ns, ref.Name)
	}
	if ref.Port == nil {
		return "", fmt.Sprintf("endpointPickerRef to Service %s/%s needs a port", ns, ref.Name)
	}
	port := strconv.Itoa(int(ref.Port.Number))
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		return net.JoinHostPort(ip, port), ""
	}
	return net.JoinHostPort(fmt.Sprintf("%s.%s.svc", svc.Name, ns), port), ""
}

// notePools records the InferencePools an HTTPRoute with a served parent
// references (in its namespace, or granted), for their status: whether or
// not the route is accepted.
func (t *translator) notePools(r *gwv1.HTTPRoute) {
	rk := key(r.Namespace, r.Name)
	for _, rule := range r.Spec.Rules {
		for _, br := range rule.BackendRefs {
			ref := br.BackendObjectReference
			if string(deref(ref.Group, "")) != groupInference || string(deref(ref.Kind, "")) != "InferencePool" {
				continue
			}
			ns := string(deref(ref.Namespace, gwv1.Namespace(r.Namespace)))
			pk := key(ns, string(ref.Name))
			if t.pools[pk] == nil || (ns != r.Namespace && !t.granted("HTTPRoute", r.Namespace, groupInference, "InferencePool", ns, string(ref.Name))) {
				continue
			}
			if !slices.Contains(t.poolRoutes[pk], rk) {
				t.poolRoutes[pk] = append(t.poolRoutes[pk], rk)
			}
		}
	}
}

// translatePoolStatus writes each referenced InferencePool's parent entries:
// one per served Gateway an HTTPRoute referencing it attaches to, Accepted
// (HTTPRouteNotAccepted when no parent accepted the route) and ResolvedRefs
// (InvalidExtensionRef when its endpointPickerRef does not resolve).
func (t *translator) translatePoolStatus() {
	for pk, routes := range t.poolRoutes {
		p := t.pools[pk]
		if p == nil {
			continue
		}
		gen := p.Generation
		refs := condition(string(infv1.InferencePoolConditionResolvedRefs), true, string(infv1.InferencePoolReasonResolvedRefs), "", gen)
		if _, issue := t.poolBackend(p); issue != "" {
			refs = condition(string(infv1.InferencePoolConditionResolvedRefs), false, string(infv1.InferencePoolReasonInvalidExtensionRef), issue, gen)
		}
		accepted := map[string]bool{} // Gateway key -> some route through it is accepted
		var order []string
		for _, rk := range routes {
			for _, ps := range t.status.Routes["HTTPRoute/"+rk] {
				gk := t.parentGateway(rk, ps.ParentRef)
				if gk == "" {
					continue
				}
				if _, seen := accepted[gk]; !seen {
					order = append(order, gk)
				}
				accepted[gk] = accepted[gk] || ps.Conditions[0].Status == metav1.ConditionTrue
			}
		}
		slices.Sort(order)
		var out []infv1.ParentStatus
		for _, gk := range order {
			ns, name := splitKey(gk)
			group := infv1.Group(gwv1.GroupName)
			acc := condition(string(infv1.InferencePoolConditionAccepted), true, string(infv1.InferencePoolReasonAccepted), "", gen)
			if !accepted[gk] {
				acc = condition(string(infv1.InferencePoolConditionAccepted), false, string(infv1.InferencePoolReasonHTTPRouteNotAccepted),
					"no HTTPRoute referencing the pool is accepted by this Gateway", gen)
			}
			out = append(out, infv1.ParentStatus{
				ParentRef:      infv1.ParentReference{Group: &group, Kind: "Gateway", Namespace: infv1.Namespace(ns), Name: infv1.ObjectName(name)},
				ControllerName: infv1.ControllerName(t.opts.ControllerName),
				Conditions:     []metav1.Condition{acc, refs},
			})
		}
		if len(out) > 0 {
			t.status.InferencePools[pk] = out
		}
	}
}

// parentGateway is the Gateway (namespace/name) a route's parentRef reaches:
// the Gateway itself or a ListenerSet's parent.
func (t *translator) parentGateway(routeKey string, pr gwv1.ParentReference) string {
	rns, _ := splitKey(routeKey)
	ns := string(deref(pr.Namespace, gwv1.Namespace(rns)))
	for _, g := range t.gateways {
		switch string(deref(pr.Kind, "Gateway")) {
		case "Gateway":
			if g.gw.Namespace == ns && g.gw.Name == string(pr.Name) {
				return key(ns, g.gw.Name)
			}
		case "ListenerSet":
			for _, s := range g.sets {
				if s.ls.Namespace == ns && s.ls.Name == string(pr.Name) {
					return key(g.gw.Namespace, g.gw.Name)
				}
			}
		}
	}
	return ""
}

// splitKey splits namespace/name.
func splitKey(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return k[:i], k[i+1:]
		}
	}
	return "", k
}
