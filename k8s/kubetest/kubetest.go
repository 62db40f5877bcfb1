// Package kubetest starts a real kube-apiserver and etcd for tests, with the
// Gateway API standard CRDs, the InferencePool CRD and Switchyard's installed. The binaries are
// built from Go modules by tools/kube-apiserver/build.sh into bin/kube (.ci/run
// does it); KUBEBUILDER_ASSETS points elsewhere. Without them the test skips.
package kubetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// Cluster is a running API server.
type Cluster struct {
	// REST reaches the API server as an administrator.
	REST *rest.Config
	// Client is a client that knows the core, Gateway API and switchyard.dev types.
	Client client.Client
	// Kubeconfig is a kubeconfig file for the same administrator.
	Kubeconfig string
}

// root is the repository's root directory.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts an API server for the test and stops it at its end.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root(), "bin", "kube")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			t.Skipf("no %s in %s: run tools/kube-apiserver/build.sh (.ci/run does)", b, assets)
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("locate the Gateway API module: %v", err)
	}
	std := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	crds := []string{filepath.Join(root(), "k8s", "crds")}
	for _, k := range []string{"gatewayclasses", "gateways", "listenersets", "httproutes", "grpcroutes", "referencegrants", "tcproutes", "tlsroutes"} {
		crds = append(crds, filepath.Join(std, "gateway.networking.k8s.io_"+k+".yaml"))
	}
	out, err = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api-inference-extension").Output()
	if err != nil {
		t.Fatalf("locate the inference extension module: %v", err)
	}
	crds = append(crds, filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases", "inference.networking.k8s.io_inferencepools.yaml"))
	env := &envtest.Environment{BinaryAssetsDirectory: assets, CRDDirectoryPaths: crds, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start the API server: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, gwv1.Install, infv1.Install, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return &Cluster{REST: cfg, Client: cl, Kubeconfig: path}
}
