package translate

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
)

// gatewayState is one served Gateway while translating.
type gatewayState struct {
	gw        *gwv1.Gateway
	listeners []*listenerState
	sets      []*listenerSetState
}

// listenerSetState is one ListenerSet attached to a served Gateway.
type listenerSetState struct {
	ls        *gwv1.ListenerSet
	gw        *gatewayState
	listeners []*listenerState
	conds     []metav1.Condition // set when the whole set is refused
}

// listenerState is one listener of a Gateway or a ListenerSet and what its status will say.
type listenerState struct {
	gw       *gwv1.Gateway // the Gateway it belongs to (through its ListenerSet, if any)
	ns       string        // the namespace of its owner (Gateway or ListenerSet)
	l        *gwv1.Listener
	key      string // config listener key namespace/gateway.name
	ok       bool   // served: in the config
	kinds    []gwv1.RouteGroupKind
	attached int32
	cfgIndex int // index in the config's listeners when ok
	conds    []metav1.Condition
}

// The route kinds a listener of each protocol serves. A GRPCRoute on an
// HTTP listener turns h2c on for it (grpcroute.go).
var servedKinds = map[gwv1.ProtocolType][]gwv1.Kind{
	gwv1.HTTPProtocolType:  {"HTTPRoute", "GRPCRoute"},
	gwv1.HTTPSProtocolType: {"HTTPRoute", "GRPCRoute"},
	gwv1.TCPProtocolType:   {"TCPRoute"},
	gwv1.TLSProtocolType:   {"TLSRoute"},
}

// translateClasses accepts the GatewayClasses naming our controller.
func (t *translator) translateClasses() {
	for i := range t.in.GatewayClasses {
		c := &t.in.GatewayClasses[i]
		if string(c.Spec.ControllerName) != t.opts.ControllerName {
			continue
		}
		t.classes[c.Name] = true
		t.status.GatewayClasses[c.Name] = []metav1.Condition{
			condition(string(gwv1.GatewayClassConditionStatusAccepted), true, string(gwv1.GatewayClassReasonAccepted), "Switchyard serves this class", c.Generation),
		}
	}
}

// translateGateways turns the served Gateways' listeners into config
// listeners, oldest Gateway first: a later listener that conflicts with an
// earlier one on its port (another protocol, the same hostname) is refused.
func (t *translator) translateGateways() {
	var gws []*gwv1.Gateway
	for i := range t.in.Gateways {
		if g := &t.in.Gateways[i]; t.classes[string(g.Spec.GatewayClassName)] {
			gws = append(gws, g)
		}
	}
	slices.SortFunc(gws, func(a, b *gwv1.Gateway) int { return olderFirst(a, b) })
	t.mixedTLS = mixedTLSPorts(gws)
	ports := map[int32]*portUse{}
	for _, g := range gws {
		gs := &gatewayState{gw: g}
		t.gateways = append(t.gateways, gs)
		for i := range g.Spec.Listeners {
			l := &g.Spec.Listeners[i]
			ls := &listenerState{gw: g, ns: g.Namespace, l: l, key: g.Namespace + "/" + g.Name + "." + string(l.Name)}
			gs.listeners = append(gs.listeners, ls)
			t.addListener(ls, "Gateway", g.Namespace, g.Name, g.Generation, ports)
		}
		t.translateListenerSets(gs, ports)
	}
}

// mixedTLSPorts are the ports on which the Gateways' TLS listeners mix
// Terminate and Passthrough: the data plane terminates or passes through a
// whole port, so every TLS listener there conflicts (ProtocolConflict).
func mixedTLSPorts(gws []*gwv1.Gateway) map[gwv1.PortNumber]bool {
	modes := map[gwv1.PortNumber]map[gwv1.TLSModeType]bool{}
	for _, g := range gws {
		for _, l := range g.Spec.Listeners {
			if l.Protocol != gwv1.TLSProtocolType {
				continue
			}
			m := gwv1.TLSModeTerminate
			if l.TLS != nil {
				m = deref(l.TLS.Mode, gwv1.TLSModeTerminate)
			}
			if modes[l.Port] == nil {
				modes[l.Port] = map[gwv1.TLSModeType]bool{}
			}
			modes[l.Port][m] = true
		}
	}
	out := map[gwv1.PortNumber]bool{}
	for p, m := range modes {
		if len(m) > 1 {
			out[p] = true
		}
	}
	return out
}

// portUse is what the listeners served so far do with a port.
type portUse struct {
	protocol gwv1.ProtocolType
	hosts    map[string]string // hostname -> listener key
}

// addListener checks one listener (of a Gateway, or of a ListenerSet named
// ownerNS/ownerName) against the ports in use and, when it can be served,
// adds it to the configuration.
func (t *translator) addListener(ls *listenerState, ownerKind, ownerNS, ownerName string, gen int64, ports map[int32]*portUse) {
	l := ls.l
	t.listeners[ls.key] = ls
	kinds, kindsOK := t.listenerKinds(l)
	ls.kinds = kinds
	if _, ok := servedKinds[l.Protocol]; !ok {
		ls.conds = listenerConds(gen, false, string(gwv1.ListenerReasonUnsupportedProtocol),
			fmt.Sprintf("protocol %s is not served by Switchyard yet", l.Protocol), noConflict(gen), resolved(gen))
		return
	}
	host := strings.ToLower(string(deref(l.Hostname, "")))
	if l.Protocol == gwv1.TCPProtocolType {
		host = "" // TCP has no hostname: one TCP listener per port
	}
	pu := ports[int32(l.Port)]
	if l.Protocol == gwv1.TLSProtocolType && t.mixedTLS[l.Port] {
		msg := fmt.Sprintf("TLS listeners on port %d mix Terminate and Passthrough: Switchyard serves one TLS mode per port", l.Port)
		ls.conds = listenerConds(gen, false, string(gwv1.ListenerReasonProtocolConflict), msg,
			condition(string(gwv1.ListenerConditionConflicted), true, string(gwv1.ListenerReasonProtocolConflict), msg, gen), resolved(gen))
		return
	}
	if pu != nil && pu.protocol != l.Protocol {
		ls.conds = listenerConds(gen, false, string(gwv1.ListenerReasonPortUnavailable), "",
			condition(string(gwv1.ListenerConditionConflicted), true, string(gwv1.ListenerReasonProtocolConflict),
				fmt.Sprintf("port %d is already used with protocol %s", l.Port, pu.protocol), gen), resolved(gen))
		return
	}
	if pu != nil && pu.hosts[host] != "" {
		ls.conds = listenerConds(gen, false, string(gwv1.ListenerReasonAccepted), "",
			condition(string(gwv1.ListenerConditionConflicted), true, string(gwv1.ListenerReasonHostnameConflict),
				fmt.Sprintf("listener %s already serves hostname %q on port %d", pu.hosts[host], host, l.Port), gen), resolved(gen))
		return
	}
	cl := config.Listener{Name: string(l.Name), Namespace: ownerNS, Gateway: ownerName, Address: t.opts.Address,
		Port: int(l.Port), Protocol: string(l.Protocol), Hostname: host}
	refs := resolved(gen)
	if !kindsOK {
		refs = condition(string(gwv1.ListenerConditionResolvedRefs), false, string(gwv1.ListenerReasonInvalidRouteKinds),
			"allowedRoutes.kinds names kinds Switchyard does not serve on this listener", gen)
	}
	if l.Protocol == gwv1.HTTPSProtocolType || l.Protocol == gwv1.TLSProtocolType {
		tlsCfg, cond := t.listenerTLS(ownerKind, ownerNS, gen, l)
		if cond != nil {
			ls.conds = listenerConds(gen, false, string(gwv1.ListenerReasonAccepted), cond.Message, noConflict(gen), *cond)
			ls.conds[1].Reason = string(gwv1.ListenerReasonInvalid)
			return
		}
		cl.TLS = tlsCfg
	}
	if pu == nil {
		pu = &portUse{protocol: l.Protocol, hosts: map[string]string{}}
		ports[int32(l.Port)] = pu
	}
	pu.hosts[host] = ls.key
	ls.ok = true
	ls.cfgIndex = len(t.cfg.Listeners)
	ls.conds = listenerConds(gen, true, "", "", noConflict(gen), refs)
	t.cfg.Listeners = append(t.cfg.Listeners, cl)
}

// listenerConds is a listener's Accepted, Programmed, Conflicted and ResolvedRefs.
func listenerConds(gen int64, ok bool, reason, msg string, conflicted, refs metav1.Condition) []metav1.Condition {
	if ok {
		return []metav1.Condition{
			condition(string(gwv1.ListenerConditionAccepted), true, string(gwv1.ListenerReasonAccepted), "", gen),
			condition(string(gwv1.ListenerConditionProgrammed), true, string(gwv1.ListenerReasonProgrammed), "", gen),
			conflicted, refs,
		}
	}
	accepted := reason == string(gwv1.ListenerReasonAccepted)
	return []metav1.Condition{
		condition(string(gwv1.ListenerConditionAccepted), accepted, reason, msg, gen),
		condition(string(gwv1.ListenerConditionProgrammed), false, string(gwv1.ListenerReasonInvalid), msg, gen),
		conflicted, refs,
	}
}

func noConflict(gen int64) metav1.Condition {
	return condition(string(gwv1.ListenerConditionConflicted), false, string(gwv1.ListenerReasonNoConflicts), "", gen)
}

func resolved(gen int64) metav1.Condition {
	return condition(string(gwv1.ListenerConditionResolvedRefs), true, string(gwv1.ListenerReasonResolvedRefs), "", gen)
}

// listenerKinds returns the route kinds a listener supports: those of
// allowedRoutes.kinds that Switchyard serves on its protocol (all of them when
// none is named), and whether every named kind is served.
func (t *translator) listenerKinds(l *gwv1.Listener) ([]gwv1.RouteGroupKind, bool) {
	served := servedKinds[l.Protocol]
	group := gwv1.Group(gwv1.GroupName)
	var out []gwv1.RouteGroupKind
	if l.AllowedRoutes == nil || len(l.AllowedRoutes.Kinds) == 0 {
		for _, k := range served {
			out = append(out, gwv1.RouteGroupKind{Group: &group, Kind: k})
		}
		return out, true
	}
	ok := true
	for _, k := range l.AllowedRoutes.Kinds {
		if deref(k.Group, group) == group && slices.Contains(served, k.Kind) {
			out = append(out, gwv1.RouteGroupKind{Group: &group, Kind: k.Kind})
		} else {
			ok = false
		}
	}
	return out, ok
}

// listenerTLS resolves an HTTPS or TLS listener's certificateRefs to PEM in
// memory (a TLS listener in Passthrough mode takes none); a non-nil condition
// is the ResolvedRefs failure.
func (t *translator) listenerTLS(ownerKind, ownerNS string, gen int64, l *gwv1.Listener) (*config.ListenerTLS, *metav1.Condition) {
	fail := func(reason, format string, args ...any) (*config.ListenerTLS, *metav1.Condition) {
		c := condition(string(gwv1.ListenerConditionResolvedRefs), false, reason, fmt.Sprintf(format, args...), gen)
		return nil, &c
	}
	if l.Protocol == gwv1.TLSProtocolType && l.TLS != nil && deref(l.TLS.Mode, gwv1.TLSModeTerminate) == gwv1.TLSModePassthrough {
		return &config.ListenerTLS{Mode: config.TLSModePassthrough}, nil // certificateRefs are ignored
	}
	if l.TLS == nil || len(l.TLS.CertificateRefs) == 0 {
		return fail(string(gwv1.ListenerReasonInvalidCertificateRef), "%s listener needs tls.certificateRefs (or, on a TLS listener, mode Passthrough)", l.Protocol)
	}
	if m := deref(l.TLS.Mode, gwv1.TLSModeTerminate); m != gwv1.TLSModeTerminate {
		return fail(string(gwv1.ListenerReasonInvalidCertificateRef), "HTTPS listeners terminate TLS: mode %s is not supported", m)
	}
	out := &config.ListenerTLS{Mode: config.TLSModeTerminate}
	for _, ref := range l.TLS.CertificateRefs {
		if deref(ref.Group, "") != "" || deref(ref.Kind, "Secret") != "Secret" {
			return fail(string(gwv1.ListenerReasonInvalidCertificateRef), "certificateRef %s is not a core Secret", ref.Name)
		}
		ns := string(deref(ref.Namespace, gwv1.Namespace(ownerNS)))
		if ns != ownerNS && !t.granted(ownerKind, ownerNS, "", "Secret", ns, string(ref.Name)) {
			return fail(string(gwv1.ListenerReasonRefNotPermitted), "no ReferenceGrant in %s allows %ss in %s to use Secret %s", ns, ownerKind, ownerNS, ref.Name)
		}
		s := t.secrets[key(ns, string(ref.Name))]
		if s == nil {
			return fail(string(gwv1.ListenerReasonInvalidCertificateRef), "Secret %s/%s not found", ns, ref.Name)
		}
		crt, k := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
		if _, err := tls.X509KeyPair(crt, k); err != nil {
			return fail(string(gwv1.ListenerReasonInvalidCertificateRef), "Secret %s/%s does not hold a valid tls.crt and tls.key", ns, ref.Name)
		}
		out.Certificates = append(out.Certificates, config.Certificate{CertPEM: config.Secret(crt), KeyPEM: config.Secret(k)})
	}
	return out, nil
}

// allowsNamespace says whether a listener's allowedRoutes admit a route from ns.
func (t *translator) allowsNamespace(ls *listenerState, ns string) bool {
	ar := ls.l.AllowedRoutes
	from := gwv1.NamespacesFromSame
	if ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
		from = *ar.Namespaces.From
	}
	switch from {
	case gwv1.NamespacesFromAll:
		return true
	case gwv1.NamespacesFromSelector:
		if ar.Namespaces.Selector == nil {
			return false
		}
		sel, err := metav1.LabelSelectorAsSelector(ar.Namespaces.Selector)
		if err != nil {
			return false
		}
		return sel.Matches(labels.Set(t.namespaces[ns]))
	case gwv1.NamespacesFromSame:
		return ns == ls.ns
	}
	return false
}

// allowsKind says whether a listener supports a route kind.
func (ls *listenerState) allowsKind(kind string) bool {
	for _, k := range ls.kinds {
		if string(k.Kind) == kind {
			return true
		}
	}
	return false
}

// finishGateways writes every served Gateway's status, listeners included.
func (t *translator) finishGateways() {
	addrs := t.addresses()
	for _, gs := range t.gateways {
		g := gs.gw
		st := gwv1.GatewayStatus{Addresses: addrs}
		st.Listeners, st.Conditions = listenersStatus(gs.listeners, g.Generation)
		if n := t.finishListenerSets(gs); n > 0 || g.Spec.AllowedListeners != nil {
			st.AttachedListenerSets = &n
		}
		t.status.Gateways[key(g.Namespace, g.Name)] = st
	}
}

// addresses are the Gateways' status addresses: those of Options.AddressService.
func (t *translator) addresses() []gwv1.GatewayStatusAddress {
	svc := t.services[t.opts.AddressService]
	if svc == nil {
		return nil
	}
	ip, host := gwv1.IPAddressType, gwv1.HostnameAddressType
	var out []gwv1.GatewayStatusAddress
	for _, in := range svc.Status.LoadBalancer.Ingress {
		switch {
		case in.IP != "":
			out = append(out, gwv1.GatewayStatusAddress{Type: &ip, Value: in.IP})
		case in.Hostname != "":
			out = append(out, gwv1.GatewayStatusAddress{Type: &host, Value: in.Hostname})
		}
	}
	if len(out) == 0 {
		for _, c := range svc.Spec.ClusterIPs {
			if c != "" && c != corev1.ClusterIPNone {
				out = append(out, gwv1.GatewayStatusAddress{Type: &ip, Value: c})
			}
		}
	}
	return out
}

// listenersStatus is the status of a Gateway's or a ListenerSet's listeners
// and its own Accepted (ListenersNotValid when some are not served) and
// Programmed conditions; the two kinds share the reasons' names.
func listenersStatus(lss []*listenerState, gen int64) ([]gwv1.ListenerStatus, []metav1.Condition) {
	var out []gwv1.ListenerStatus
	served, invalid := 0, 0
	for _, ls := range lss {
		if ls.ok {
			served++
		} else {
			invalid++
		}
		kinds := ls.kinds
		if kinds == nil {
			kinds = []gwv1.RouteGroupKind{}
		}
		out = append(out, gwv1.ListenerStatus{Name: ls.l.Name, SupportedKinds: kinds, AttachedRoutes: ls.attached, Conditions: ls.conds})
	}
	reason, msg := string(gwv1.GatewayReasonAccepted), ""
	if invalid > 0 {
		reason, msg = string(gwv1.GatewayReasonListenersNotValid), fmt.Sprintf("%d of %d listeners are not served", invalid, len(lss))
	}
	conds := []metav1.Condition{condition(string(gwv1.GatewayConditionAccepted), served > 0 || len(lss) == 0, reason, msg, gen)}
	if served > 0 {
		conds = append(conds, condition(string(gwv1.GatewayConditionProgrammed), true, string(gwv1.GatewayReasonProgrammed), "", gen))
	} else {
		conds = append(conds, condition(string(gwv1.GatewayConditionProgrammed), false, string(gwv1.GatewayReasonInvalid), "no listener is served", gen))
	}
	return out, conds
}
