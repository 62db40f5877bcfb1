package controller

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
	"github.com/switchyard-ai/switchyard/k8s/kubetest"
	"github.com/switchyard-ai/switchyard/k8s/translate"
)

// apiServer starts a real API server (see k8s/kubetest).
func apiServer(t *testing.T) (*rest.Config, client.Client) {
	t.Helper()
	c := kubetest.Start(t)
	return c.REST, c.Client
}

// replica is one running controller and the configurations it applied.
type replica struct {
	c       *Controller
	mu      sync.Mutex
	applied []*config.Config
	cancel  context.CancelFunc
	done    chan error
}

func (r *replica) last() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.applied) == 0 {
		return nil
	}
	return r.applied[len(r.applied)-1]
}

func startReplica(t *testing.T, cfg *rest.Config, leader bool) *replica {
	t.Helper()
	r := &replica{done: make(chan error, 1)}
	c, err := New(Options{
		REST: cfg, LeaderElection: leader, LeaderElectionNamespace: "default", Debounce: 50 * time.Millisecond,
		Translate: translate.Options{AddressService: "default/switchyard"},
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Apply: func(c *config.Config) error {
			if _, err := config.Compile("test", c); err != nil {
				return err
			}
			r.mu.Lock()
			r.applied = append(r.applied, c)
			r.mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			t.Error("controller did not stop")
		}
	})
	return r
}

// eventually polls cond until it holds or 30 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func create(t *testing.T, cl client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := cl.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func seedObjects() []client.Object {
	port := gwv1.PortNumber(80)
	ready := true
	epPort := int32(8080)
	name := "http"
	return []client.Object{
		&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "switchyard"}, Spec: gwv1.GatewayClassSpec{ControllerName: "switchyard.dev/gateway-controller"}},
		&gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "my-gateway", Namespace: "default"}, Spec: gwv1.GatewaySpec{
			GatewayClassName: "switchyard", Listeners: []gwv1.Listener{{Name: "http", Port: 8080, Protocol: gwv1.HTTPProtocolType}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: "default"}, Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "echo-1", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: "echo"}}, AddressType: discoveryv1.AddressTypeIPv4,
			Ports:     []discoveryv1.EndpointPort{{Name: &name, Port: &epPort}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}},
		&gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "my-route", Namespace: "default"}, Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "my-gateway"}}},
			Rules: []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{
				BackendObjectReference: gwv1.BackendObjectReference{Name: "echo", Port: &port}}}}}}}},
	}
}

// TestControllerFollowsTheCluster creates, updates and deletes resources in
// a real API server and watches the applied configuration and the status follow.
func TestControllerFollowsTheCluster(t *testing.T) {
	cfg, cl := apiServer(t)
	ctx := context.Background()
	create(t, cl, seedObjects()...)
	create(t, cl, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "switchyard", Namespace: "default"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}}})
	r := startReplica(t, cfg, false)

	eventually(t, "the seed route applied", func() bool {
		c := r.last()
		if c == nil || len(c.Routes) != 1 || len(c.Backends) != 1 {
			return false
		}
		snap, err := config.Compile("t", c)
		return err == nil && snap.Binds[0].Key == "8080/default/my-gateway" && snap.Routes[0].RuleKeys[0] == "default.my-route.0.0"
	})
	eventually(t, "Gateway Programmed and HTTPRoute Accepted in status", func() bool {
		var g gwv1.Gateway
		var rt gwv1.HTTPRoute
		var gc gwv1.GatewayClass
		if cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-gateway"}, &g) != nil ||
			cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-route"}, &rt) != nil ||
			cl.Get(ctx, client.ObjectKey{Name: "switchyard"}, &gc) != nil {
			return false
		}
		return meta.IsStatusConditionTrue(g.Status.Conditions, "Programmed") &&
			len(g.Status.Addresses) == 1 && g.Status.Addresses[0].Value != "" && // the Service's cluster IP
			len(g.Status.Listeners) == 1 && g.Status.Listeners[0].AttachedRoutes == 1 &&
			len(rt.Status.Parents) == 1 && meta.IsStatusConditionTrue(rt.Status.Parents[0].Conditions, "Accepted") &&
			meta.IsStatusConditionTrue(rt.Status.Parents[0].Conditions, "ResolvedRefs") &&
			meta.IsStatusConditionTrue(gc.Status.Conditions, "Accepted")
	})

	// Update: a new endpoint appears, the route gets a path match.
	var es discoveryv1.EndpointSlice
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "echo-1"}, &es); err != nil {
		t.Fatal(err)
	}
	es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.2"}})
	if err := cl.Update(ctx, &es); err != nil {
		t.Fatal(err)
	}
	var rt gwv1.HTTPRoute
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-route"}, &rt); err != nil {
		t.Fatal(err)
	}
	prefix, v := gwv1.PathMatchPathPrefix, "/api"
	rt.Spec.Rules[0].Matches = []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: &prefix, Value: &v}}}
	if err := cl.Update(ctx, &rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the update applied", func() bool {
		c := r.last()
		return len(c.Routes) == 1 && len(c.Routes[0].Rules[0].Matches) == 1 && c.Routes[0].Rules[0].Matches[0].Path.Value == "/api" &&
			len(c.Backends) == 1 && len(c.Backends[0].Static.Endpoints) == 2
	})

	// A route to a missing Service keeps its rule and says ResolvedRefs=False.
	var svc corev1.Service
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "echo"}, &svc); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, &svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the missing Service answered with an invalid ref and ResolvedRefs=False", func() bool {
		c := r.last()
		if len(c.Routes) != 1 || c.Routes[0].Rules[0].BackendRefs[0].Invalid == "" {
			return false
		}
		var rt gwv1.HTTPRoute
		if cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-route"}, &rt) != nil || len(rt.Status.Parents) != 1 {
			return false
		}
		c2 := meta.FindStatusCondition(rt.Status.Parents[0].Conditions, "ResolvedRefs")
		return c2 != nil && c2.Status == metav1.ConditionFalse && c2.Reason == "BackendNotFound"
	})

	// A ListenerSet adds a listener once the Gateway allows it.
	var g gwv1.Gateway
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "my-gateway"}, &g); err != nil {
		t.Fatal(err)
	}
	same := gwv1.NamespacesFromSame
	g.Spec.AllowedListeners = &gwv1.AllowedListeners{Namespaces: &gwv1.ListenerNamespaces{From: &same}}
	if err := cl.Update(ctx, &g); err != nil {
		t.Fatal(err)
	}
	create(t, cl, &gwv1.ListenerSet{ObjectMeta: metav1.ObjectMeta{Name: "extra", Namespace: "default"}, Spec: gwv1.ListenerSetSpec{
		ParentRef: gwv1.ParentGatewayReference{Name: "my-gateway"},
		Listeners: []gwv1.ListenerEntry{{Name: "alt", Port: 9090, Protocol: gwv1.HTTPProtocolType}}}})
	eventually(t, "the ListenerSet's listener applied and its status Programmed", func() bool {
		c := r.last()
		if len(c.Listeners) != 2 || c.Listeners[1].Gateway != "extra" || c.Listeners[1].Port != 9090 {
			return false
		}
		var s gwv1.ListenerSet
		return cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "extra"}, &s) == nil &&
			meta.IsStatusConditionTrue(s.Status.Conditions, "Programmed") && len(s.Status.Listeners) == 1
	})

	// Delete the route: the configuration loses it.
	if err := cl.Delete(ctx, &rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the route removed", func() bool { c := r.last(); return len(c.Routes) == 0 && len(c.Listeners) == 2 })
}

// TestCRDValidation checks that the API server refuses invalid Switchyard
// resources by their CRDs' schemas and CEL rules.
func TestCRDValidation(t *testing.T) {
	_, cl := apiServer(t)
	om := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: n, Namespace: "default"} }
	cases := []struct {
		name string
		obj  client.Object
		ok   bool
	}{
		{"ai backend", &v1alpha1.Backend{ObjectMeta: om("ok"), Spec: v1alpha1.BackendSpec{AI: &v1alpha1.AIBackend{Provider: "sim"}}}, true},
		{"both ai and static", &v1alpha1.Backend{ObjectMeta: om("both"), Spec: v1alpha1.BackendSpec{AI: &v1alpha1.AIBackend{Provider: "sim"},
			Static: &v1alpha1.StaticBackend{Endpoints: []v1alpha1.Endpoint{{Host: "a", Port: 80}}}}}, false},
		{"unknown provider", &v1alpha1.Backend{ObjectMeta: om("prov"), Spec: v1alpha1.BackendSpec{AI: &v1alpha1.AIBackend{Provider: "nope"}}}, false},
		{"port out of range", &v1alpha1.Backend{ObjectMeta: om("port"), Spec: v1alpha1.BackendSpec{Static: &v1alpha1.StaticBackend{
			Endpoints: []v1alpha1.Endpoint{{Host: "a", Port: 70000}}}}}, false},
		{"policy", &v1alpha1.Policy{ObjectMeta: om("p"), Spec: v1alpha1.PolicySpec{CORS: &config.CORS{AllowOrigins: []string{"*"}},
			TargetRefs: []v1alpha1.TargetRef{{Group: gwv1.GroupName, Kind: "HTTPRoute", Name: "r"}}}}, true},
		{"policy targets a Pod", &v1alpha1.Policy{ObjectMeta: om("pod"), Spec: v1alpha1.PolicySpec{CORS: &config.CORS{},
			TargetRefs: []v1alpha1.TargetRef{{Kind: "Pod", Name: "x"}}}}, false},
		{"policy without targets", &v1alpha1.Policy{ObjectMeta: om("none"), Spec: v1alpha1.PolicySpec{CORS: &config.CORS{}}}, false},
		{"budget with usd and tokens", &v1alpha1.Consumer{ObjectMeta: om("c"), Spec: v1alpha1.ConsumerSpec{
			Budgets: []config.Budget{{USD: 5, Tokens: 10, Period: "month"}}}}, false},
		{"consumer", &v1alpha1.Consumer{ObjectMeta: om("c2"), Spec: v1alpha1.ConsumerSpec{Team: "t",
			Budgets: []config.Budget{{USD: 5, Period: "month"}}}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := cl.Create(context.Background(), c.obj)
			switch {
			case c.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !c.ok && err == nil:
				t.Fatal("accepted an invalid resource")
			case !c.ok && !apierrors.IsInvalid(err):
				t.Fatalf("err = %v, want an Invalid error", err)
			}
		})
	}

	// The rules the generated CRDs take from the markers of the config types
	// a Policy and a Consumer embed: each refusal names the field or rule.
	target := []v1alpha1.TargetRef{{Group: gwv1.GroupName, Kind: "Gateway", Name: "g"}}
	policy := func(n string, s v1alpha1.PolicySpec) client.Object {
		if s.TargetRefs == nil {
			s.TargetRefs = target
		}
		return &v1alpha1.Policy{ObjectMeta: om(n), Spec: s}
	}
	consumer := func(n string, s v1alpha1.ConsumerSpec) client.Object {
		return &v1alpha1.Consumer{ObjectMeta: om(n), Spec: s}
	}
	badTimeout := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": "Policy", "metadata": map[string]any{"name": "tmo", "namespace": "default"},
		"spec": map[string]any{"targetRefs": []any{map[string]any{"group": gwv1.GroupName, "kind": "Gateway", "name": "g"}},
			"timeouts": map[string]any{"request": "soon"}},
	}}
	for _, c := range []struct {
		name string
		obj  client.Object
		want string // "" when accepted
	}{
		{"timeouts, retry and rate limits", policy("pok", v1alpha1.PolicySpec{Timeouts: &config.Timeouts{Request: config.Duration(time.Minute)},
			Retry:      &config.Retry{Attempts: 3, Codes: []int{503}},
			RateLimits: []config.Limit{{Per: "minute", Requests: 10, TokenType: "input", By: []string{"consumer"}, OnExceeded: "Audit"}}}), ""},
		{"no policy", policy("p0", v1alpha1.PolicySpec{}), "a Policy sets at least one policy"},
		{"Service in the gateway group", policy("p1", v1alpha1.PolicySpec{CORS: &config.CORS{},
			TargetRefs: []v1alpha1.TargetRef{{Group: gwv1.GroupName, Kind: "Service", Name: "s"}}}), "a target is a Gateway or HTTPRoute"},
		{"timeout not a duration", badTimeout, "spec.timeouts.request"},
		{"retry attempts past 10", policy("p2", v1alpha1.PolicySpec{Retry: &config.Retry{Attempts: 11}}), "spec.retry.attempts"},
		{"retry code 600", policy("p3", v1alpha1.PolicySpec{Retry: &config.Retry{Codes: []int{600}}}), "spec.retry.codes[0]"},
		{"unknown token type", policy("p4", v1alpha1.PolicySpec{RateLimits: []config.Limit{{Per: "minute", TokenType: "cached"}}}),
			"spec.rateLimits[0].tokenType"},
		{"unknown by", policy("p5", v1alpha1.PolicySpec{RateLimits: []config.Limit{{Per: "minute", By: []string{"ip"}}}}),
			"spec.rateLimits[0].by[0]"},
		{"negative requests", consumer("c3", v1alpha1.ConsumerSpec{Limits: []config.Limit{{Per: "minute", Requests: -1}}}),
			"spec.limits[0].requests"},
		{"budget with period and window", consumer("c4", v1alpha1.ConsumerSpec{Budgets: []config.Budget{{USD: 5, Period: "month",
			Window: config.Duration(time.Hour)}}}), "a budget sets one of period and window"},
		{"unknown period", consumer("c5", v1alpha1.ConsumerSpec{Budgets: []config.Budget{{USD: 5, Period: "year"}}}),
			"spec.budgets[0].period"},
		{"key without its hash Secret", consumer("c6", v1alpha1.ConsumerSpec{Keys: []v1alpha1.ConsumerKey{{ID: "k"}}}),
			"spec.keys[0].hashSecretRef.name"},
	} {
		t.Run(c.name, func(t *testing.T) { checkCreated(t, cl.Create(context.Background(), c.obj), c.want) })
	}
}

// TestLeaderElection runs two replicas: both apply the configuration, one
// holds the lease and writes status; when it stops, the other takes over.
func TestLeaderElection(t *testing.T) {
	cfg, cl := apiServer(t)
	create(t, cl, seedObjects()...)
	a := startReplica(t, cfg, true)
	b := startReplica(t, cfg, true)
	eventually(t, "both replicas applied the route", func() bool {
		ca, cb := a.last(), b.last()
		return ca != nil && cb != nil && len(ca.Routes) == 1 && len(cb.Routes) == 1
	})
	elected := func(r *replica) bool {
		select {
		case <-r.c.Elected():
			return true
		default:
			return false
		}
	}
	eventually(t, "one replica elected", func() bool { return elected(a) || elected(b) })
	time.Sleep(500 * time.Millisecond)
	if elected(a) && elected(b) {
		t.Fatal("both replicas hold the lease")
	}
	leader, follower := a, b
	if elected(b) {
		leader, follower = b, a
	}
	leader.cancel()
	<-leader.done
	leader.done <- nil // for the cleanup
	eventually(t, "the other replica takes over", func() bool { return elected(follower) })
}
