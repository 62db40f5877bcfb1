// Package controller is Switchyard's Kubernetes control plane: informers on
// the resources k8s/translate reads, a debounced translation on every change,
// the resulting configuration handed to the data plane (every replica), and
// the status written back by the one replica that holds the leader lease.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	infv1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
	"github.com/switchyard-ai/switchyard/k8s/translate"
)

// Options configure a Controller.
type Options struct {
	// REST is how to reach the API server.
	REST *rest.Config
	// Translate are the translation's options (controller name, base configuration).
	Translate translate.Options
	// Apply hands a new configuration to the data plane; an error keeps the
	// running one (and is logged).
	Apply func(*config.Config) error
	// LeaderElection makes only the lease holder write status (every replica serves).
	LeaderElection bool
	// LeaderElectionNamespace and LeaderElectionID name the Lease (default
	// the in-cluster namespace, "switchyard-status-writer").
	LeaderElectionNamespace string
	LeaderElectionID        string
	// Debounce is how long the controller waits for more changes before translating (default 200ms).
	Debounce time.Duration
	// Log receives the controller's events.
	Log *slog.Logger
}

// Controller watches, translates, applies and writes status.
type Controller struct {
	opts  Options
	mgr   manager.Manager
	log   *slog.Logger
	kinds []watched // the kinds watched (optional CRDs that are absent are not)

	kick        chan struct{}
	statusKick  chan struct{}
	mu          sync.Mutex
	last        *translate.Output
	applied     *config.Config
	generations int
}

// watched is one kind the controller watches.
type watched struct {
	obj  client.Object
	list client.ObjectList
	gvk  schema.GroupVersionKind
	// optional kinds are skipped when their CRD is not installed.
	optional bool
}

// Scheme returns a scheme with every type the controller reads.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gwv1.Install, infv1.Install, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("controller: scheme: %w", err)
		}
	}
	return s, nil
}

// New builds a Controller; Run starts it.
func New(opts Options) (*Controller, error) {
	if opts.Apply == nil {
		return nil, errors.New("controller: Options.Apply is required")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = "switchyard-status-writer"
	}
	if opts.Translate.ControllerName == "" {
		opts.Translate.ControllerName = translate.DefaultControllerName
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(opts.REST, manager.Options{
		Scheme:                        scheme,
		Logger:                        logr.FromSlogHandler(opts.Log.Handler()),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("controller: manager: %w", err)
	}
	c := &Controller{opts: opts, mgr: mgr, log: opts.Log, kick: make(chan struct{}, 1), statusKick: make(chan struct{}, 1)}
	gw := func(kind string) schema.GroupVersionKind {
		return schema.GroupVersion(gwv1.GroupVersion).WithKind(kind)
	}
	sy := func(kind string) schema.GroupVersionKind { return v1alpha1.GroupVersion.WithKind(kind) }
	core := func(kind string) schema.GroupVersionKind { return corev1.SchemeGroupVersion.WithKind(kind) }
	c.kinds = []watched{
		{&gwv1.GatewayClass{}, &gwv1.GatewayClassList{}, gw("GatewayClass"), false},
		{&gwv1.Gateway{}, &gwv1.GatewayList{}, gw("Gateway"), false},
		{&gwv1.ListenerSet{}, &gwv1.ListenerSetList{}, gw("ListenerSet"), true},
		{&gwv1.HTTPRoute{}, &gwv1.HTTPRouteList{}, gw("HTTPRoute"), false},
		{&gwv1.GRPCRoute{}, &gwv1.GRPCRouteList{}, gw("GRPCRoute"), true},
		{&gwv1.TCPRoute{}, &gwv1.TCPRouteList{}, gw("TCPRoute"), true},
		{&gwv1.TLSRoute{}, &gwv1.TLSRouteList{}, gw("TLSRoute"), true},
		{&gwv1.ReferenceGrant{}, &gwv1.ReferenceGrantList{}, gw("ReferenceGrant"), true},
		{&corev1.Namespace{}, &corev1.NamespaceList{}, core("Namespace"), false},
		{&corev1.Service{}, &corev1.ServiceList{}, core("Service"), false},
		{&corev1.Secret{}, &corev1.SecretList{}, core("Secret"), false},
		{&corev1.ConfigMap{}, &corev1.ConfigMapList{}, core("ConfigMap"), false},
		{&discoveryv1.EndpointSlice{}, &discoveryv1.EndpointSliceList{}, discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"), false},
		{&v1alpha1.Backend{}, &v1alpha1.BackendList{}, sy("Backend"), true},
		{&v1alpha1.Policy{}, &v1alpha1.PolicyList{}, sy("Policy"), true},
		{&v1alpha1.Consumer{}, &v1alpha1.ConsumerList{}, sy("Consumer"), true},
		{&infv1.InferencePool{}, &infv1.InferencePoolList{}, schema.GroupVersion(infv1.GroupVersion).WithKind("InferencePool"), true},
		{&corev1.Pod{}, &corev1.PodList{}, core("Pod"), false},
	}
	return c, nil
}

// Run watches, translates and applies until ctx ends; the status writer
// runs while this replica holds the lease.
func (c *Controller) Run(ctx context.Context) error {
	var kinds []watched
	for _, k := range c.kinds {
		if _, err := c.mgr.GetRESTMapper().RESTMapping(k.gvk.GroupKind(), k.gvk.Version); err != nil {
			if k.optional && meta.IsNoMatchError(err) {
				c.log.Warn("kubernetes: kind not installed; not watched", "kind", k.gvk.Kind, "group", k.gvk.Group)
				continue
			}
			return fmt.Errorf("controller: %s: %w", k.gvk.Kind, err)
		}
		inf, err := c.mgr.GetCache().GetInformer(ctx, k.obj)
		if err != nil {
			return fmt.Errorf("controller: watch %s: %w", k.gvk.Kind, err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { c.changed() },
			UpdateFunc: func(any, any) { c.changed() },
			DeleteFunc: func(any) { c.changed() },
		}); err != nil {
			return fmt.Errorf("controller: watch %s: %w", k.gvk.Kind, err)
		}
		kinds = append(kinds, k)
	}
	c.kinds = kinds
	if err := c.mgr.Add(runnable{fn: c.translateLoop, leader: false}); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	if err := c.mgr.Add(runnable{fn: c.statusLoop, leader: true}); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	if err := c.mgr.Start(ctx); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	return nil
}

// Elected is closed when this replica becomes the status writer.
func (c *Controller) Elected() <-chan struct{} { return c.mgr.Elected() }

// Last returns the latest translation (nil before the first).
func (c *Controller) Last() *translate.Output {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// changed records that a watched object changed.
func (c *Controller) changed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// runnable is a manager.Runnable that says whether it needs the lease.
type runnable struct {
	fn     func(context.Context) error
	leader bool
}

func (r runnable) Start(ctx context.Context) error { return r.fn(ctx) }
func (r runnable) NeedLeaderElection() bool        { return r.leader }

// translateLoop translates once the caches are in sync, then after every
// burst of changes (debounced).
func (c *Controller) translateLoop(ctx context.Context) error {
	if !c.mgr.GetCache().WaitForCacheSync(ctx) {
		return nil
	}
	c.sync(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
		}
		t := time.NewTimer(c.opts.Debounce)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-c.kick:
				// more changes: keep waiting (bounded by the timer)
			case <-t.C:
				break wait
			}
		}
		c.sync(ctx)
	}
}

// sync reads every watched object from the cache, translates, applies a
// changed configuration and wakes the status writer.
func (c *Controller) sync(ctx context.Context) {
	in, err := c.read(ctx)
	if err != nil {
		c.log.Error("kubernetes: read the cache", "err", err.Error())
		return
	}
	out := translate.Translate(in, c.opts.Translate)
	for _, p := range out.Problems {
		c.log.Warn("kubernetes: translation problem", "problem", p)
	}
	c.mu.Lock()
	same := c.applied != nil && reflect.DeepEqual(c.applied, out.Config)
	c.mu.Unlock()
	if !same {
		if err := c.opts.Apply(out.Config); err != nil {
			c.log.Error("kubernetes: configuration refused; keeping the running one", "err", err.Error())
		} else {
			// Translate afresh: Apply may have defaulted out.Config in place.
			fresh := translate.Translate(in, c.opts.Translate).Config
			c.mu.Lock()
			c.applied = fresh
			c.generations++
			c.mu.Unlock()
			c.log.Info("kubernetes: configuration applied", "listeners", len(out.Config.Listeners), "routes", len(out.Config.Routes),
				"backends", len(out.Config.Backends))
		}
	}
	c.mu.Lock()
	c.last = out
	c.mu.Unlock()
	select {
	case c.statusKick <- struct{}{}:
	default:
	}
}

// read lists every watched kind from the cache into a translation Input.
func (c *Controller) read(ctx context.Context) (*translate.Input, error) {
	cl := c.mgr.GetClient()
	in := &translate.Input{}
	for _, k := range c.kinds {
		l := k.list.DeepCopyObject().(client.ObjectList)
		if err := cl.List(ctx, l); err != nil {
			return nil, fmt.Errorf("list %s: %w", k.gvk.Kind, err)
		}
		switch l := l.(type) {
		case *gwv1.GatewayClassList:
			in.GatewayClasses = l.Items
		case *gwv1.GatewayList:
			in.Gateways = l.Items
		case *gwv1.ListenerSetList:
			in.ListenerSets = l.Items
		case *gwv1.HTTPRouteList:
			in.HTTPRoutes = l.Items
		case *gwv1.GRPCRouteList:
			in.GRPCRoutes = l.Items
		case *gwv1.TCPRouteList:
			in.TCPRoutes = l.Items
		case *gwv1.TLSRouteList:
			in.TLSRoutes = l.Items
		case *gwv1.ReferenceGrantList:
			in.ReferenceGrants = l.Items
		case *corev1.NamespaceList:
			in.Namespaces = l.Items
		case *corev1.ServiceList:
			in.Services = l.Items
		case *corev1.SecretList:
			in.Secrets = l.Items
		case *corev1.ConfigMapList:
			in.ConfigMaps = l.Items
		case *discoveryv1.EndpointSliceList:
			in.EndpointSlices = l.Items
		case *v1alpha1.BackendList:
			in.Backends = l.Items
		case *v1alpha1.PolicyList:
			in.Policies = l.Items
		case *v1alpha1.ConsumerList:
			in.Consumers = l.Items
		case *infv1.InferencePoolList:
			in.InferencePools = l.Items
		case *corev1.PodList:
			in.Pods = l.Items
		}
	}
	return in, nil
}
