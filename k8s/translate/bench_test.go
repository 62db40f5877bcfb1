package translate

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// benchInput is one Gateway with n HTTPRoutes, each to its own Service with
// three ready endpoints.
func benchInput(n int) *Input {
	in := &Input{
		GatewayClasses: []gwv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "switchyard"}, Spec: gwv1.GatewayClassSpec{ControllerName: DefaultControllerName}}},
		Gateways: []gwv1.Gateway{{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"}, Spec: gwv1.GatewaySpec{
			GatewayClassName: "switchyard", Listeners: []gwv1.Listener{{Name: "http", Port: 8080, Protocol: gwv1.HTTPProtocolType}}}}},
	}
	port, ep, prefix := gwv1.PortNumber(80), int32(8080), gwv1.PathMatchPathPrefix
	for i := range n {
		name := fmt.Sprintf("svc-%d", i)
		path := fmt.Sprintf("/r%d", i)
		in.Services = append(in.Services, corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}})
		in.EndpointSlices = append(in.EndpointSlices, discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			Ports:      []discoveryv1.EndpointPort{{Port: &ep}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{fmt.Sprintf("10.1.%d.1", i%250), fmt.Sprintf("10.1.%d.2", i%250),
				fmt.Sprintf("10.1.%d.3", i%250)}}}})
		in.HTTPRoutes = append(in.HTTPRoutes, gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("r-%d", i), Namespace: "default"},
			Spec: gwv1.HTTPRouteSpec{CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw"}}},
				Rules: []gwv1.HTTPRouteRule{{Matches: []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: &prefix, Value: &path}}},
					BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{
						Name: gwv1.ObjectName(name), Port: &port}}}}}}}})
	}
	return in
}

// BenchmarkTranslate measures one translation (including the data plane's
// validation of its result) of a cluster with 100 and 1000 routes.
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{100, 1000} {
		in := benchInput(n)
		b.Run(fmt.Sprint(n, "routes"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out := Translate(in, Options{})
				if len(out.Config.Routes) != n {
					b.Fatalf("%d routes", len(out.Config.Routes))
				}
			}
		})
	}
}
