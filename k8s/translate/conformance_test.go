package translate

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// conformanceModule holds the Gateway API conformance suite's manifests;
// .ci/run downloads it into the module cache (it is not a dependency).
const conformanceModule = "sigs.k8s.io/gateway-api/conformance@v1.6.3"

// conformanceCases are the HTTPRoute cases of the suite whose translation is
// checked against testdata/conformance/<case>.golden.yaml.
var conformanceCases = []string{
	"httproute-simple-same-namespace", "httproute-matching", "httproute-exact-path-matching", "httproute-header-matching",
	"httproute-query-param-matching", "httproute-method-matching", "httproute-path-match-order", "httproute-matching-across-routes",
	"httproute-hostname-intersection", "httproute-listener-hostname-matching", "httproute-listener-port-matching",
	"httproute-request-header-modifier", "httproute-response-header-modifier", "httproute-redirect-host-and-status",
	"httproute-redirect-path", "httproute-redirect-port", "httproute-redirect-scheme", "httproute-redirect-port-and-scheme",
	"httproute-rewrite-host", "httproute-rewrite-path", "httproute-request-mirror", "httproute-request-percentage-mirror",
	"httproute-timeout-request", "httproute-timeout-backend-request", "httproute-retry", "httproute-weight",
	"httproute-cross-namespace", "httproute-reference-grant", "httproute-invalid-reference-grant",
	"httproute-partially-invalid-via-invalid-reference-grant", "httproute-invalid-cross-namespace-backend-ref",
	"httproute-invalid-cross-namespace-parent-ref", "httproute-invalid-nonexistent-backendref",
	"httproute-invalid-backendref-unknown-kind", "httproute-invalid-parentref-not-matching-listener-port",
	"httproute-invalid-parentref-not-matching-section-name", "httproute-invalid-parentref-section-name-not-matching-port",
	"httproute-disallowed-kind", "httproute-omitted-backendrefs", "httproute-named-rule", "httproute-multiple-gateways",
	// GRPCRoute, TCPRoute and TLSRoute cases.
	"grpcroute-exact-method-matching", "grpcroute-header-matching", "grpcroute-listener-hostname-matching",
	"grpcroute-named-rule", "grpcroute-weight",
	"tcproute-invalid-backendref-nonexistent", "tcproute-invalid-cross-namespace-backend-ref", "tcproute-invalid-non-tcp-listener",
	"tcproute-multiple-routes-attachment", "tcproute-parentref-attach-all", "tcproute-parentref-port-and-section-name",
	"tcproute-reference-grant", "tcproute-weighted-routing",
	"tlsroute-hostname-intersection", "tlsroute-invalid-backendref-nonexistent", "tlsroute-invalid-backendref-unknown-kind",
	"tlsroute-invalid-no-matching-listener-hostname", "tlsroute-invalid-no-matching-listener", "tlsroute-invalid-reference-grant",
	"tlsroute-listener-mixed-termination-not-supported", "tlsroute-listener-passthrough-supported-kinds",
	"tlsroute-listener-terminate-not-supported", "tlsroute-listener-terminate-supported-kinds",
	"tlsroute-mixed-termination-same-namespace", "tlsroute-simple-same-namespace", "tlsroute-terminate-simple-same-namespace",
}

// TestConformanceGolden translates the Gateway API conformance suite's base
// manifests plus each HTTPRoute case (every Service given one ready
// endpoint, as a cluster would) and compares the case's routes and their
// status with the golden file.
func TestConformanceGolden(t *testing.T) {
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	path, version, _ := strings.Cut(conformanceModule, "@")
	dir := filepath.Join(strings.TrimSpace(string(modcache)), path+"@"+version)
	if _, err := os.Stat(filepath.Join(dir, "base", "manifests.yaml")); err != nil {
		t.Skipf("conformance manifests not in the module cache: go mod download %s (.ci/run does)", conformanceModule)
	}
	base, err := os.ReadFile(filepath.Join(dir, "base", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	class := "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: switchyard}\nspec: {controllerName: " + DefaultControllerName + "}\n---\n"
	baseDoc := class + strings.ReplaceAll(string(base), "{GATEWAY_CLASS_NAME}", "switchyard")
	for _, name := range conformanceCases {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "tests", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			caseDoc := []byte(strings.ReplaceAll(string(raw), "{GATEWAY_CLASS_NAME}", "switchyard"))
			in := &Input{}
			if err := Decode(in, "base/manifests.yaml", []byte(baseDoc)); err != nil {
				t.Fatal(err)
			}
			own := &Input{}
			if err := Decode(own, name+".yaml", caseDoc); err != nil {
				t.Fatal(err)
			}
			if err := Decode(in, name+".yaml", caseDoc); err != nil {
				t.Fatal(err)
			}
			onlyReferencedGateways(in, own)
			addEndpoints(in)
			addCertificates(t, in)
			out := Translate(in, Options{})
			got, err := renderCase(out, own)
			if err != nil {
				t.Fatal(err)
			}
			testutil.GoldenText(t, filepath.Join("testdata", "conformance", name+".golden.yaml"), got)
			snap, err := config.Compile(name, Translate(in, Options{}).Config)
			if err != nil {
				t.Fatalf("config.Compile refuses the translation: %v", err)
			}
			for _, r := range snap.Routes {
				if r.Disabled {
					t.Errorf("route %s disabled: %s", r.Key, r.Reason)
				}
			}
			for _, rs := range [][]config.RouteStatus{snap.TCPRoutes, snap.TLSRoutes, snap.GRPCRoutes} {
				for _, r := range rs {
					if r.Disabled {
						t.Errorf("route %s disabled: %s", r.Key, r.Reason)
					}
				}
			}
		})
	}
}

// onlyReferencedGateways keeps the base Gateways the case's routes name. The
// suite deploys each Gateway on its own address; one Switchyard process
// serves every Gateway of its class on one address, so the base Gateways
// would conflict on port 80 (hostname-less listeners on one port).
func onlyReferencedGateways(in, own *Input) {
	used := map[string]bool{}
	for _, r := range ownRoutes(own) {
		for _, p := range r.parents {
			used[key(string(deref(p.Namespace, gwv1.Namespace(r.ns))), string(p.Name))] = true
		}
	}
	for _, g := range own.Gateways {
		used[key(g.Namespace, g.Name)] = true
	}
	var gws []gwv1.Gateway
	for _, g := range in.Gateways {
		if used[key(g.Namespace, g.Name)] {
			gws = append(gws, g)
		}
	}
	in.Gateways = gws
}

// addEndpoints gives every Service without an EndpointSlice one ready
// endpoint (10.9.x.y) on each of its target ports.
func addEndpoints(in *Input) {
	has := map[string]bool{}
	for _, s := range in.EndpointSlices {
		has[key(s.Namespace, s.Labels[discoveryv1.LabelServiceName])] = true
	}
	for i, svc := range in.Services {
		if has[key(svc.Namespace, svc.Name)] || svc.Spec.ExternalName != "" {
			continue
		}
		s := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: svc.Name + "-1", Namespace: svc.Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{fmt.Sprintf("10.9.%d.%d", i/250, i%250+1)}}}}
		for _, p := range svc.Spec.Ports {
			name, port := p.Name, p.TargetPort.IntVal
			if port == 0 {
				port = p.Port
			}
			s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: &name, Port: &port})
		}
		in.EndpointSlices = append(in.EndpointSlices, s)
	}
}

// addCertificates creates the TLS Secrets the suite creates at run time:
// one self-signed certificate for every missing certificateRef.
func addCertificates(t *testing.T, in *Input) {
	have := map[string]bool{}
	for _, s := range in.Secrets {
		have[key(s.Namespace, s.Name)] = true
	}
	var crt, k []byte
	for _, g := range in.Gateways {
		for _, l := range g.Spec.Listeners {
			if l.TLS == nil {
				continue
			}
			for _, ref := range l.TLS.CertificateRefs {
				ns := string(deref(ref.Namespace, gwv1.Namespace(g.Namespace)))
				if have[key(ns, string(ref.Name))] {
					continue
				}
				if crt == nil {
					crt, k = testutil.SelfSignedPEM(t, 1, "example.com", "*.example.com")
				}
				have[key(ns, string(ref.Name))] = true
				in.Secrets = append(in.Secrets, corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: string(ref.Name), Namespace: ns},
					Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: k}})
			}
		}
	}
}

// renderCase renders the case's own routes: their configuration, their
// status and the problems about them.
func renderCase(out *Output, own *Input) ([]byte, error) { return Render(caseOutput(out, own)) }

// caseOutput is the part of out about the case's own routes and Gateways.
func caseOutput(out *Output, own *Input) *Output {
	mine := map[string]bool{} // Kind/namespace/name
	for _, r := range ownRoutes(own) {
		mine[r.kind+"/"+key(r.ns, r.name)] = true
	}
	cfg := &config.Config{}
	for _, r := range out.Config.Routes {
		if mine["HTTPRoute/"+r.Name] {
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	for _, r := range out.Config.GRPCRoutes {
		if mine["GRPCRoute/"+r.Name] {
			cfg.GRPCRoutes = append(cfg.GRPCRoutes, r)
		}
	}
	for _, r := range out.Config.TCPRoutes {
		if mine["TCPRoute/"+r.Name] {
			cfg.TCPRoutes = append(cfg.TCPRoutes, r)
		}
	}
	for _, r := range out.Config.TLSRoutes {
		if mine["TLSRoute/"+r.Name] {
			cfg.TLSRoutes = append(cfg.TLSRoutes, r)
		}
	}
	st := Status{Routes: map[string][]gwv1.RouteParentStatus{}, Gateways: map[string]gwv1.GatewayStatus{}}
	for k, v := range out.Status.Routes {
		if mine[k] {
			st.Routes[k] = v
		}
	}
	// The case's own Gateways (TCP and TLS cases bring theirs): their
	// listeners' status is what some cases check.
	for _, g := range own.Gateways {
		if gs, ok := out.Status.Gateways[key(g.Namespace, g.Name)]; ok {
			st.Gateways[key(g.Namespace, g.Name)] = gs
			for _, l := range out.Config.Listeners {
				if l.Namespace == g.Namespace && l.Gateway == g.Name {
					cfg.Listeners = append(cfg.Listeners, l)
				}
			}
		}
	}
	var problems []string
	for _, p := range out.Problems {
		for r := range mine {
			kind, rest, _ := strings.Cut(r, "/")
			if strings.HasPrefix(p, kind+" "+rest+":") {
				problems = append(problems, p)
			}
		}
	}
	return &Output{Config: cfg, Status: st, Problems: problems}
}

// caseRoute is one route of a conformance case, of any kind.
type caseRoute struct {
	kind, ns, name string
	parents        []gwv1.ParentReference
}

// ownRoutes are a case's routes of every kind.
func ownRoutes(own *Input) []caseRoute {
	var out []caseRoute
	for _, r := range own.HTTPRoutes {
		out = append(out, caseRoute{"HTTPRoute", r.Namespace, r.Name, r.Spec.ParentRefs})
	}
	for _, r := range own.GRPCRoutes {
		out = append(out, caseRoute{"GRPCRoute", r.Namespace, r.Name, r.Spec.ParentRefs})
	}
	for _, r := range own.TCPRoutes {
		out = append(out, caseRoute{"TCPRoute", r.Namespace, r.Name, r.Spec.ParentRefs})
	}
	for _, r := range own.TLSRoutes {
		out = append(out, caseRoute{"TLSRoute", r.Namespace, r.Name, r.Spec.ParentRefs})
	}
	return out
}
