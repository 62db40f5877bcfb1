// Package translate turns Kubernetes resources (Gateway API Gateways and
// HTTPRoutes, Services and their EndpointSlices, Secrets, ConfigMaps, ReferenceGrants,
// and Switchyard's own Backend, Policy and Consumer) into a Switchyard
// config.Config and the status each resource should carry. It is a pure
// function of its Input: the controller feeds it from informers, `switchyard
// translate` from a directory of manifests, and the golden tests from
// testdata.
//
// One file per kind of resource: gateway.go (classes, gateways, listeners,
// TLS), httproute.go (routes, matches, filters), backends.go (backendRefs,
// Services, Switchyard Backends), backend_agents.go (mcp and a2a Backends,
// with Secrets and ConfigMaps), grpcroute.go, l4route.go (TCPRoute,
// TLSRoute), attach.go (what route kinds share), inferencepool.go, policy.go,
// consumer.go. A new kind adds its own file and a call in Translate.
package translate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// DefaultControllerName is the GatewayClass controllerName Switchyard serves.
const DefaultControllerName = "switchyard.dev/gateway-controller"

// Input is every resource the translation reads. Order does not matter: the
// translation sorts what it needs to (oldest first, then namespace/name).
type Input struct {
	GatewayClasses  []gwv1.GatewayClass
	Gateways        []gwv1.Gateway
	ListenerSets    []gwv1.ListenerSet
	HTTPRoutes      []gwv1.HTTPRoute
	GRPCRoutes      []gwv1.GRPCRoute
	TCPRoutes       []gwv1.TCPRoute
	TLSRoutes       []gwv1.TLSRoute
	ReferenceGrants []gwv1.ReferenceGrant
	Namespaces      []corev1.Namespace
	Services        []corev1.Service
	EndpointSlices  []discoveryv1.EndpointSlice
	Secrets         []corev1.Secret
	ConfigMaps      []corev1.ConfigMap // OpenAPI documents of MCP Backends
	Backends        []v1alpha1.Backend
	Policies        []v1alpha1.Policy
	Consumers       []v1alpha1.Consumer
	// InferencePools and the Pods their selectors pick.
	InferencePools []infv1.InferencePool
	Pods           []corev1.Pod
}

// Options are the translation's settings, fixed for a process.
type Options struct {
	// ControllerName selects the GatewayClasses served (default DefaultControllerName).
	ControllerName string
	// Address is the IP every listener binds (default: config's, 0.0.0.0).
	Address string
	// AddressService, "namespace/name", is the Service in front of the
	// replicas: its load balancer addresses (else its cluster IPs) are every
	// served Gateway's status addresses.
	AddressService string
	// Base supplies what Kubernetes resources do not: server limits and the
	// access block's store, prices, teams and admin token. Not modified.
	Base *config.Config
}

// Output is a translation's result.
type Output struct {
	// Config is the configuration to serve; config.Compile accepts it.
	Config *config.Config `json:"config"`
	// Status is what each resource's status should say.
	Status Status `json:"status"`
	// Problems are one line each about what could not be translated.
	Problems []string `json:"problems,omitempty"`
}

// Status is the translated status of every resource Switchyard owns or
// parents, keyed "namespace/name" (GatewayClasses by name). Conditions carry
// no transition time: the controller keeps the time of the status it replaces
// when a condition did not change.
type Status struct {
	GatewayClasses map[string][]metav1.Condition `json:"gatewayClasses,omitempty"`
	Gateways       map[string]gwv1.GatewayStatus `json:"gateways,omitempty"`
	// ListenerSets are the ListenerSets attached to served Gateways.
	ListenerSets map[string]gwv1.ListenerSetStatus `json:"listenerSets,omitempty"`
	// Routes are keyed "Kind/namespace/name" and hold only Switchyard's parent entries.
	Routes map[string][]gwv1.RouteParentStatus `json:"routes,omitempty"`
	// Resources are Switchyard's own resources, keyed "Kind/namespace/name".
	Resources map[string][]metav1.Condition `json:"resources,omitempty"`
	// InferencePools are keyed "namespace/name" and hold only Switchyard's parent entries.
	InferencePools map[string][]infv1.ParentStatus `json:"inferencePools,omitempty"`
}

// Translate is the translation. It never fails: what cannot be translated is
// left out and said in the status and in Output.Problems.
func Translate(in *Input, opts Options) *Output {
	if opts.ControllerName == "" {
		opts.ControllerName = DefaultControllerName
	}
	var drop dropSet
	// A resource the data plane's validation refuses is dropped and the
	// translation run again, so that one bad route never stops the others.
	for range 8 {
		t := newTranslator(in, opts, drop)
		out := t.run()
		probe := t.newTranslatorCopy().run()
		snap, err := config.Compile("kubernetes", probe.Config)
		errs, _ := err.(config.Errors)
		if err == nil && drop.addDisabled(snap, t) {
			continue
		}
		if err == nil || !drop.addAll(errs, t) {
			if err != nil {
				out.Problems = append(out.Problems, "configuration refused: "+err.Error())
			}
			return out
		}
	}
	t := newTranslator(in, opts, drop)
	return t.run()
}

// translator holds one translation's indexes and results.
type translator struct {
	in   *Input
	opts Options
	drop dropSet

	classes    map[string]bool
	namespaces map[string]map[string]string // labels by namespace
	secrets    map[string]*corev1.Secret
	services   map[string]*corev1.Service
	slices     map[string][]*discoveryv1.EndpointSlice // by namespace/service
	backends   map[string]*v1alpha1.Backend
	pools      map[string]*infv1.InferencePool
	pods       map[string][]*corev1.Pod // by namespace
	// poolRoutes are the HTTPRoutes referencing each InferencePool.
	poolRoutes map[string][]string

	cfg      *config.Config
	status   Status
	problems []string

	gateways  []*gatewayState
	mixedTLS  map[gwv1.PortNumber]bool  // ports whose TLS listeners mix modes
	listeners map[string]*listenerState // by config listener key ns/gw.name
	// routeIndex maps a config route index to its HTTPRoute key, for dropping.
	routeIndex   []string
	backendIndex []string
	// tcpIndex, tlsIndex and grpcIndex map config tcpRoutes, tlsRoutes and
	// grpcRoutes indexes to their route keys.
	tcpIndex, tlsIndex, grpcIndex []string
	// routeGateways are the Gateways (namespace/name) each translated HTTPRoute attaches to.
	routeGateways map[string][]string
	// usedBackends are the config backends by name, emitted once.
	usedBackends map[string]bool
}

func newTranslator(in *Input, opts Options, drop dropSet) *translator {
	t := &translator{in: in, opts: opts, drop: drop,
		classes: map[string]bool{}, namespaces: map[string]map[string]string{},
		secrets: map[string]*corev1.Secret{}, services: map[string]*corev1.Service{},
		slices: map[string][]*discoveryv1.EndpointSlice{}, backends: map[string]*v1alpha1.Backend{},
		pools: map[string]*infv1.InferencePool{}, pods: map[string][]*corev1.Pod{}, poolRoutes: map[string][]string{},
		listeners: map[string]*listenerState{}, usedBackends: map[string]bool{}, routeGateways: map[string][]string{},
		cfg: &config.Config{},
		status: Status{GatewayClasses: map[string][]metav1.Condition{}, Gateways: map[string]gwv1.GatewayStatus{}, ListenerSets: map[string]gwv1.ListenerSetStatus{},
			Routes: map[string][]gwv1.RouteParentStatus{}, Resources: map[string][]metav1.Condition{},
			InferencePools: map[string][]infv1.ParentStatus{}},
	}
	for i := range in.Namespaces {
		t.namespaces[in.Namespaces[i].Name] = in.Namespaces[i].Labels
	}
	for i := range in.Secrets {
		s := &in.Secrets[i]
		t.secrets[key(s.Namespace, s.Name)] = s
	}
	for i := range in.Services {
		s := &in.Services[i]
		t.services[key(s.Namespace, s.Name)] = s
	}
	for i := range in.EndpointSlices {
		s := &in.EndpointSlices[i]
		if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
			k := key(s.Namespace, svc)
			t.slices[k] = append(t.slices[k], s)
		}
	}
	for i := range in.Backends {
		b := &in.Backends[i]
		t.backends[key(b.Namespace, b.Name)] = b
	}
	for i := range in.InferencePools {
		p := &in.InferencePools[i]
		t.pools[key(p.Namespace, p.Name)] = p
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		t.pods[p.Namespace] = append(t.pods[p.Namespace], p)
	}
	return t
}

// newTranslatorCopy is a fresh translator over the same input, whose output
// config.Compile may default in place.
func (t *translator) newTranslatorCopy() *translator { return newTranslator(t.in, t.opts, t.drop) }

// run translates everything, in dependency order.
func (t *translator) run() *Output {
	if b := t.opts.Base; b != nil {
		t.cfg.Server = b.Server
	}
	t.translateClasses()
	t.translateGateways()
	t.translateHTTPRoutes()
	t.translateGRPCRoutes()
	t.translateTCPRoutes()
	t.translateTLSRoutes()
	t.translatePoolStatus()
	t.translateBackendStatus()
	t.translatePolicies()
	t.translateConsumers()
	t.finishGateways()
	for k, v := range t.status.Routes {
		if len(v) == 0 {
			delete(t.status.Routes, k)
		}
	}
	slices.Sort(t.problems)
	return &Output{Config: t.cfg, Status: t.status, Problems: t.problems}
}

// problem records a one-line problem about a resource.
func (t *translator) problem(kind, ns, name, format string, args ...any) {
	t.problems = append(t.problems, fmt.Sprintf("%s %s/%s: %s", kind, ns, name, fmt.Sprintf(format, args...)))
}

// dropSet is what earlier rounds found that the data plane refuses.
type dropSet struct {
	routes   map[string]string // HTTPRoute key -> why
	backends map[string]string // config backend name -> why
	// tcp, tls and grpc are TCPRoute, TLSRoute and GRPCRoute keys -> why.
	tcp, tls, grpc map[string]string
}

var pathIndex = regexp.MustCompile(`^(routes|backends|tcpRoutes|tlsRoutes|grpcRoutes)\[(\d+)\]`)

// put records why for k in *m; false when it was there already.
func put(m *map[string]string, index []string, i int, why string) bool {
	if i >= len(index) {
		return false
	}
	if *m == nil {
		*m = map[string]string{}
	}
	if _, ok := (*m)[index[i]]; ok {
		return false
	}
	(*m)[index[i]] = why
	return true
}

// addDisabled adds the TCP, TLS and gRPC routes the compiled snapshot
// disabled (a listener conflict, a backend that is not static); false when
// there are none.
func (d *dropSet) addDisabled(snap *config.Snapshot, t *translator) bool {
	added := false
	for _, k := range []struct {
		st    []config.RouteStatus
		m     *map[string]string
		index []string
	}{{snap.TCPRoutes, &d.tcp, t.tcpIndex}, {snap.TLSRoutes, &d.tls, t.tlsIndex}, {snap.GRPCRoutes, &d.grpc, t.grpcIndex}} {
		for i, st := range k.st {
			if st.Disabled && put(k.m, k.index, i, st.Reason) {
				added = true
			}
		}
	}
	return added
}

// addAll adds the resources named by errs' paths; false when none could be
// attributed (the error is not about one resource).
func (d *dropSet) addAll(errs config.Errors, t *translator) bool {
	added := false
	for _, e := range errs {
		m := pathIndex.FindStringSubmatch(e.Path)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[2])
		msg := strings.TrimPrefix(e.Path, m[0])
		msg = strings.TrimPrefix(msg, ".")
		if msg != "" {
			msg += ": "
		}
		msg += e.Msg
		switch m[1] {
		case "tcpRoutes":
			added = put(&d.tcp, t.tcpIndex, i, msg) || added
			continue
		case "tlsRoutes":
			added = put(&d.tls, t.tlsIndex, i, msg) || added
			continue
		case "grpcRoutes":
			added = put(&d.grpc, t.grpcIndex, i, msg) || added
			continue
		}
		switch {
		case m[1] == "routes" && i < len(t.routeIndex):
			if d.routes == nil {
				d.routes = map[string]string{}
			}
			if _, ok := d.routes[t.routeIndex[i]]; !ok {
				d.routes[t.routeIndex[i]] = msg
				added = true
			}
		case m[1] == "backends" && i < len(t.backendIndex):
			if d.backends == nil {
				d.backends = map[string]string{}
			}
			if _, ok := d.backends[t.backendIndex[i]]; !ok {
				d.backends[t.backendIndex[i]] = msg
				added = true
			}
		}
	}
	return added
}

// key is namespace/name.
func key(ns, name string) string { return ns + "/" + name }

// condition builds a condition without a transition time.
func condition(typ string, ok bool, reason, msg string, gen int64) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen}
}

// olderFirst orders objects oldest first, then by namespace/name, as Gateway
// API conflict resolution does.
func olderFirst(a, b metav1.Object) int {
	ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
	if !ta.Equal(&tb) {
		if ta.Before(&tb) {
			return -1
		}
		return 1
	}
	return strings.Compare(key(a.GetNamespace(), a.GetName()), key(b.GetNamespace(), b.GetName()))
}

// deref returns *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
