package translate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// inferenceConformanceModule holds the Gateway API Inference Extension
// conformance suite's manifests; .ci/run downloads it into the module cache
// (it is not a dependency).
const inferenceConformanceModule = "sigs.k8s.io/gateway-api-inference-extension/conformance@v1.6.0"

// inferenceConformanceCases are the suite's cases (tests/<case>.yaml), each
// checked against testdata/inference-conformance/<case>.golden.yaml.
var inferenceConformanceCases = []string{
	"epp_unavailable_fail_open", "gateway_destination_endpoint_served", "gateway_following_epp_routing",
	"gateway_following_epp_routing_dp", "gateway_weighted_two_pools", "httproute_invalid_inferencepool_ref",
	"httproute_multiple_gateways_different_pools", "inferencepool_accepted", "inferencepool_appprotocol",
	"inferencepool_httproute_port_validation", "inferencepool_invalid_epp_service", "inferencepool_missing_epp_ref",
	"inferencepool_multiple_rules_different_pools", "inferencepool_resolvedrefs_condition",
}

// TestInferenceConformanceGolden translates the Inference Extension
// conformance suite's base resources plus each case and compares the case's
// routes, their InferencePool backends, and the status of the case's routes
// and of the pools they reference with the golden file. The suite's model
// servers and endpoint pickers are Deployments, which the translation does
// not read: each is given its replicas as ready Pods (as a cluster would
// run them), so pools resolve to endpoints.
func TestInferenceConformanceGolden(t *testing.T) {
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(strings.TrimSpace(string(modcache)), inferenceConformanceModule)
	base, err := os.ReadFile(filepath.Join(dir, "resources", "base.yaml"))
	if err != nil {
		t.Skipf("inference conformance manifests not in the module cache: go mod download %s (.ci/run does)", inferenceConformanceModule)
	}
	class := "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: switchyard}\nspec: {controllerName: " + DefaultControllerName + "}\n---\n"
	baseDoc := []byte(class + strings.ReplaceAll(string(base), "{GATEWAY_CLASS_NAME}", "switchyard"))
	for _, name := range inferenceConformanceCases {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "tests", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			caseDoc := []byte(strings.ReplaceAll(string(raw), "{GATEWAY_CLASS_NAME}", "switchyard"))
			in, own := &Input{}, &Input{}
			for _, d := range []struct {
				into *Input
				name string
				b    []byte
			}{{in, "resources/base.yaml", baseDoc}, {own, name + ".yaml", caseDoc}, {in, name + ".yaml", caseDoc}} {
				if err := Decode(d.into, d.name, d.b); err != nil {
					t.Fatal(err)
				}
			}
			onlyReferencedGateways(in, own)
			addEndpoints(in)
			in.Pods = append(in.Pods, deploymentPods(t, baseDoc, caseDoc)...)
			out := Translate(in, Options{})
			got, err := Render(inferenceCaseOutput(out, own))
			if err != nil {
				t.Fatal(err)
			}
			testutil.GoldenText(t, filepath.Join("testdata", "inference-conformance", name+".golden.yaml"), got)
			snap, err := config.Compile(name, Translate(in, Options{}).Config)
			if err != nil {
				t.Fatalf("config.Compile refuses the translation: %v", err)
			}
			for _, r := range snap.Routes {
				if r.Disabled {
					t.Errorf("route %s disabled: %s", r.Key, r.Reason)
				}
			}
		})
	}
}

// deploymentPods are the ready Pods the Deployments of docs would run: one
// per replica (default 1), with the template's labels and an IP 10.8.x.y.
func deploymentPods(t *testing.T, docs ...[]byte) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	for _, b := range docs {
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for {
			d, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(d, &tm); err != nil {
				t.Fatal(err)
			}
			if tm.Kind != "Deployment" {
				continue
			}
			var dep appsv1.Deployment
			if err := yaml.Unmarshal(d, &dep); err != nil {
				t.Fatal(err)
			}
			n := int32(1)
			if dep.Spec.Replicas != nil {
				n = *dep.Spec.Replicas
			}
			for i := range n {
				ip := fmt.Sprintf("10.8.%d.%d", len(pods)/250, len(pods)%250+1)
				pods = append(pods, corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", dep.Name, i), Namespace: dep.Namespace,
						Labels: dep.Spec.Template.Labels},
					Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
						Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
				})
			}
		}
	}
	return pods
}

// inferenceCaseOutput is caseOutput plus the backends the case's routes use
// (their InferencePools, with endpoints and picker) and the status of the
// InferencePools the case defines or its routes reference.
func inferenceCaseOutput(out *Output, own *Input) *Output {
	res := caseOutput(out, own)
	pools := map[string]bool{}
	for _, p := range own.InferencePools {
		pools[key(p.Namespace, p.Name)] = true
	}
	for _, r := range own.HTTPRoutes {
		for _, rule := range r.Spec.Rules {
			for _, ref := range rule.BackendRefs {
				if string(deref(ref.Kind, "")) == "InferencePool" {
					pools[key(string(deref(ref.Namespace, gwv1.Namespace(r.Namespace))), string(ref.Name))] = true
				}
			}
		}
	}
	for _, b := range out.Config.Backends {
		ns, name, _ := strings.Cut(strings.TrimSuffix(b.Name, ".inferencepool"), "/")
		if b.Name == poolBackendName(ns, name) && pools[key(ns, name)] {
			res.Config.Backends = append(res.Config.Backends, b)
		}
	}
	for k, v := range out.Status.InferencePools {
		if pools[k] {
			if res.Status.InferencePools == nil {
				res.Status.InferencePools = map[string][]infv1.ParentStatus{}
			}
			res.Status.InferencePools[k] = v
		}
	}
	for _, p := range out.Problems {
		for k := range pools {
			if strings.HasPrefix(p, "InferencePool "+k+":") {
				res.Problems = append(res.Problems, p)
			}
		}
	}
	return res
}
