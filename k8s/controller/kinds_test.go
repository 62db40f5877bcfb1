package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestControllerServesRouteKindsAndPools creates a GRPCRoute, a TCPRoute and
// an HTTPRoute to an InferencePool in a real API server and watches the
// applied configuration (h2c turned on, a tcpRoute, a pool of the ready
// Pods' IPs) and the status follow; the pool's status gets Switchyard's
// parent entry and keeps another controller's.
func TestControllerServesRouteKindsAndPools(t *testing.T) {
	cfg, cl := apiServer(t)
	ctx := context.Background()
	svcPort, ready, epPort, name := gwv1.PortNumber(9000), true, int32(9000), "grpc"
	group, kind := gwv1.Group(infv1.GroupName), gwv1.Kind("InferencePool")
	create(t, cl,
		&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "switchyard"}, Spec: gwv1.GatewayClassSpec{ControllerName: "switchyard.dev/gateway-controller"}},
		&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"}, Spec: gwv1.GatewaySpec{
			GatewayClassName: "switchyard", Listeners: []gwv1.Listener{
				{Name: "http", Port: 8080, Protocol: gwv1.HTTPProtocolType},
				{Name: "tcp", Port: 5432, Protocol: gwv1.TCPProtocolType}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: "default"}, Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Name: "grpc", Port: 9000}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "echo-1", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: "echo"}}, AddressType: discoveryv1.AddressTypeIPv4,
			Ports:     []discoveryv1.EndpointPort{{Name: &name, Port: &epPort}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
		&gwv1.GRPCRoute{ObjectMeta: metav1.ObjectMeta{Name: "rpc", Namespace: "default"}, Spec: gwv1.GRPCRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw"}}},
			Rules: []gwv1.GRPCRouteRule{{BackendRefs: []gwv1.GRPCBackendRef{{BackendRef: gwv1.BackendRef{
				BackendObjectReference: gwv1.BackendObjectReference{Name: "echo", Port: &svcPort}}}}}}}},
		&gwv1.TCPRoute{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"}, Spec: gwv1.TCPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw", SectionName: ptr(gwv1.SectionName("tcp"))}}},
			Rules:           []gwv1.TCPRouteRule{{BackendRefs: []gwv1.BackendRef{{BackendObjectReference: gwv1.BackendObjectReference{Name: "echo", Port: &svcPort}}}}}}},
		&infv1.InferencePool{ObjectMeta: metav1.ObjectMeta{Name: "vllm", Namespace: "default"}, Spec: infv1.InferencePoolSpec{
			Selector:    infv1.LabelSelector{MatchLabels: map[infv1.LabelKey]infv1.LabelValue{"app": "vllm"}},
			TargetPorts: []infv1.Port{{Number: 8000}},
			EndpointPickerRef: &infv1.EndpointPickerRef{Name: "vllm-epp", Port: &infv1.Port{Number: 9002},
				FailureMode: infv1.EndpointPickerFailOpen}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "vllm-epp", Namespace: "default"}, Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Name: "grpc", Port: 9002}}}},
		&gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: "default"}, Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw", SectionName: ptr(gwv1.SectionName("http"))}}},
			Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{
				BackendObjectReference: gwv1.BackendObjectReference{Group: &group, Kind: &kind, Name: "vllm"}}}}}}}},
	)
	// Another controller's parent entry on the pool: it must stay.
	var pool infv1.InferencePool
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vllm"}, &pool); err != nil {
		t.Fatal(err)
	}
	otherGroup := infv1.Group(gwv1.GroupName)
	pool.Status.Parents = []infv1.ParentStatus{{ControllerName: "example.com/other",
		ParentRef:  infv1.ParentReference{Group: &otherGroup, Kind: "Gateway", Name: "theirs", Namespace: "default"},
		Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", LastTransitionTime: metav1.Now()}}}}
	if err := cl.Status().Update(ctx, &pool); err != nil {
		t.Fatal(err)
	}
	addPod := func(name, ip string, isReady bool) {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "vllm"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "vllm"}}}}
		create(t, cl, p)
		st := corev1.ConditionFalse
		if isReady {
			st = corev1.ConditionTrue
		}
		p.Status = corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}
		if err := cl.Status().Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	addPod("vllm-0", "10.0.5.1", true)
	addPod("vllm-1", "10.0.5.2", false)
	r := startReplica(t, cfg, false)

	eventually(t, "h2c on the HTTP listener, the gRPC, TCP and pool routes applied", func() bool {
		c := r.last()
		if c == nil || len(c.Listeners) != 2 || !c.Listeners[0].H2C || len(c.GRPCRoutes) != 1 || len(c.TCPRoutes) != 1 || len(c.Routes) != 1 {
			return false
		}
		for _, b := range c.Backends {
			if p := b.InferencePool; p != nil {
				return len(p.Endpoints) == 1 && p.Endpoints[0] == "10.0.5.1" && p.EndpointPicker != nil &&
					p.EndpointPicker.FailureMode == "FailOpen" && p.EndpointPicker.Address != ""
			}
		}
		return false
	})
	eventually(t, "GRPCRoute and TCPRoute Accepted; the pool's status has both controllers' entries", func() bool {
		var g gwv1.GRPCRoute
		var tr gwv1.TCPRoute
		var p infv1.InferencePool
		if cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "rpc"}, &g) != nil ||
			cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "db"}, &tr) != nil ||
			cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vllm"}, &p) != nil {
			return false
		}
		if len(g.Status.Parents) != 1 || !meta.IsStatusConditionTrue(g.Status.Parents[0].Conditions, "Accepted") ||
			len(tr.Status.Parents) != 1 || !meta.IsStatusConditionTrue(tr.Status.Parents[0].Conditions, "Accepted") ||
			len(p.Status.Parents) != 2 {
			return false
		}
		other, mine := p.Status.Parents[0], p.Status.Parents[1]
		return other.ControllerName == "example.com/other" && mine.ControllerName == "switchyard.dev/gateway-controller" &&
			mine.ParentRef.Name == "gw" && meta.IsStatusConditionTrue(mine.Conditions, "Accepted") &&
			meta.IsStatusConditionTrue(mine.Conditions, "ResolvedRefs")
	})

	// The second Pod becomes ready: the pool gains it.
	var p1 corev1.Pod
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vllm-1"}, &p1); err != nil {
		t.Fatal(err)
	}
	p1.Status.Conditions[0].Status = corev1.ConditionTrue
	if err := cl.Status().Update(ctx, &p1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the ready Pod joins the pool", func() bool {
		for _, b := range r.last().Backends {
			if p := b.InferencePool; p != nil {
				return len(p.Endpoints) == 2
			}
		}
		return false
	})

	// The picker Service goes away: ResolvedRefs=False InvalidExtensionRef on the pool.
	var epp corev1.Service
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vllm-epp"}, &epp); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, &epp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pool says InvalidExtensionRef", func() bool {
		var p infv1.InferencePool
		if cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "vllm"}, &p) != nil || len(p.Status.Parents) != 2 {
			return false
		}
		c := meta.FindStatusCondition(p.Status.Parents[1].Conditions, "ResolvedRefs")
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "InvalidExtensionRef"
	})
}

func ptr[T any](v T) *T { return &v }
