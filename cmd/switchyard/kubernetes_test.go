package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
	"github.com/switchyard-ai/switchyard/k8s/kubetest"
)

// TestRunKubernetes runs `switchyard run --kubernetes` against a real API
// server: the gateway serves what Gateway, HTTPRoute, Service and
// EndpointSlice say, follows their changes, and writes status.
func TestRunKubernetes(t *testing.T) {
	kc := kubetest.Start(t)
	cl, ctx := kc.Client, context.Background()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "echo %s %s", r.URL.Path, r.Header.Get("X-From-Route"))
	}))
	defer echo.Close()
	_, echoPortS, _ := net.SplitHostPort(echo.Listener.Addr().String())
	echoPort, _ := strconv.Atoi(echoPortS)
	port := testutil.FreePort(t)

	admin := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	startKubernetesGateway(t, kc, "--admin", admin)

	sy, backendKind := gwv1.Group(v1alpha1.Group), gwv1.Kind("Backend")
	objs := []client.Object{
		&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "switchyard"}, Spec: gwv1.GatewayClassSpec{ControllerName: "switchyard.dev/gateway-controller"}},
		&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "my-gateway", Namespace: "default"}, Spec: gwv1.GatewaySpec{
			GatewayClassName: "switchyard", Listeners: []gwv1.Listener{{Name: "http", Port: gwv1.PortNumber(port), Protocol: gwv1.HTTPProtocolType}}}},
		// EndpointSlices may not hold loopback addresses: the upstream is a
		// static Backend (EndpointSlices are covered by k8s/translate and k8s/controller).
		&v1alpha1.Backend{ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: "default"}, Spec: v1alpha1.BackendSpec{
			Static: &v1alpha1.StaticBackend{Endpoints: []v1alpha1.Endpoint{{Host: "127.0.0.1", Port: echoPort}}}}},
		&gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "my-route", Namespace: "default"}, Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "my-gateway"}}},
			Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{
				BackendObjectReference: gwv1.BackendObjectReference{Group: &sy, Kind: &backendKind, Name: "echo"}}}}}}}},
	}
	for _, o := range objs {
		if err := cl.Create(ctx, o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testutil.Eventually(t, 30*time.Second, func() bool {
		code, body := get("/hello")
		return code == 200 && body == "echo /hello "
	}, "the route served")

	// Ready once the first translation is served.
	testutil.Eventually(t, 10*time.Second, func() bool {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "/readyz 200")

	// /config shows the seed's keys.
	resp, err := http.Get("http://" + admin + "/config")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{fmt.Sprintf(`"%d/default/my-gateway"`, port), `"default.my-route.0.0"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/config lacks %s", want)
		}
	}

	// Status written back.
	testutil.Eventually(t, 30*time.Second, func() bool {
		var rt gwv1.HTTPRoute
		return cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-route"}, &rt) == nil &&
			len(rt.Status.Parents) == 1 && meta.IsStatusConditionTrue(rt.Status.Parents[0].Conditions, "Accepted")
	}, "HTTPRoute Accepted")

	// An update: a header filter; the same listener keeps serving.
	var rt gwv1.HTTPRoute
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-route"}, &rt); err != nil {
		t.Fatal(err)
	}
	rt.Spec.Rules[0].Filters = []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterRequestHeaderModifier,
		RequestHeaderModifier: &gwv1.HTTPHeaderFilter{Set: []gwv1.HTTPHeader{{Name: "X-From-Route", Value: "yes"}}}}}
	if err := cl.Update(ctx, &rt); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() bool { _, body := get("/x"); return body == "echo /x yes" }, "the filter applied")

	// HTTPS from a Secret, delivered in memory.
	crt, key := testutil.SelfSignedPEM(t, 7, "secure.example.com")
	if err := cl.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls", Namespace: "default"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key}}); err != nil {
		t.Fatal(err)
	}
	tlsPort := testutil.FreePort(t)
	var g gwv1.Gateway
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-gateway"}, &g); err != nil {
		t.Fatal(err)
	}
	g.Spec.Listeners = append(g.Spec.Listeners, gwv1.Listener{Name: "https", Port: gwv1.PortNumber(tlsPort), Protocol: gwv1.HTTPSProtocolType,
		TLS: &gwv1.ListenerTLSConfig{CertificateRefs: []gwv1.SecretObjectReference{{Name: "tls"}}}})
	if err := cl.Update(ctx, &g); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{ServerName: "secure.example.com", InsecureSkipVerify: true}}} //nolint:gosec // self-signed; the certificate's name is checked
	testutil.Eventually(t, 30*time.Second, func() bool {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/s", tlsPort))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && string(b) == "echo /s yes" && resp.TLS.PeerCertificates[0].Subject.CommonName == "secure.example.com"
	}, "HTTPS served with the Secret's certificate")

	// Delete the route: 404.
	if err := cl.Delete(ctx, &rt); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() bool { code, _ := get("/hello"); return code == 404 }, "the route removed")
}

// startKubernetesGateway runs `switchyard run --kubernetes` against kc (no leader
// election, listeners on loopback) until the test ends, then checks that it
// stopped cleanly; its logs are shown when the test failed and returned.
func startKubernetesGateway(t *testing.T, kc *kubetest.Cluster, args ...string) *lockedBuffer {
	t.Helper()
	logs := &lockedBuffer{}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runCmd(runCtx, append([]string{"--kubernetes", "--kubeconfig", kc.Kubeconfig, "--leader-elect=false",
			"--bind-address", "127.0.0.1", "--data-dir", t.TempDir()}, args...), logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("run did not stop")
		}
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	})
	return logs
}
