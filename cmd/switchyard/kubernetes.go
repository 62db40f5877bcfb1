package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/controller"
	"github.com/switchyard-ai/switchyard/k8s/translate"
	"github.com/switchyard-ai/switchyard/router"
)

// kubeFlags are run's Kubernetes flags.
type kubeFlags struct {
	enabled     *bool
	kubeconfig  *string
	leaderElect *bool
	leaseNS     *string
	controller  *string
	address     *string
	service     *string
}

// addKubeFlags registers run's Kubernetes flags.
func addKubeFlags(fs *flag.FlagSet) kubeFlags {
	return kubeFlags{
		enabled: fs.Bool("kubernetes", false,
			"serve what the cluster's Gateway API and switchyard.dev resources say (-c, when given, supplies server limits and the access store)"),
		kubeconfig: fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file (default: in-cluster, then $KUBECONFIG)"),
		leaderElect: fs.Bool("leader-elect", true,
			"with --kubernetes: only the replica holding the Lease writes status (every replica serves)"),
		leaseNS:    fs.String("leader-elect-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the leader election Lease (default: the pod's)"),
		controller: fs.String("controller-name", translate.DefaultControllerName, "the GatewayClass controllerName served"),
		address:    fs.String("bind-address", "", "with --kubernetes: the IP every listener binds (default 0.0.0.0)"),
		service: fs.String("gateway-service", "",
			"with --kubernetes: namespace/name of the Service in front of the replicas, whose addresses Gateways' status reports"),
	}
}

// kubeSnapshot is the snapshot a --kubernetes gateway starts with: no
// listeners yet, the base file's server limits and access block (an access
// block is always present, so that Consumers and clientAuth Policies can
// appear later without a restart).
func kubeSnapshot(file string) (*config.Snapshot, *config.Config, error) {
	base := &config.Config{}
	if file != "" {
		snap, err := config.Load(file)
		if err != nil {
			return nil, nil, err
		}
		base = &config.Config{Server: snap.Config.Server, Access: snap.Config.Access}
	}
	if base.Access == nil {
		base.Access = config.DefaultAccess()
	}
	first := translate.Translate(&translate.Input{}, translate.Options{Base: base}).Config
	snap, err := config.Compile("kubernetes", first)
	if err != nil {
		return nil, nil, err
	}
	return snap, base, nil
}

// runKubernetes runs the controller until ctx ends, applying each
// translation to gw.
func runKubernetes(ctx context.Context, kf kubeFlags, base *config.Config, gw *router.Gateway, synced *atomic.Bool, log *slog.Logger) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kf.kubeconfig
	rest, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubernetes: client configuration: %w", err)
	}
	c, err := controller.New(controller.Options{
		REST: rest,
		Translate: translate.Options{ControllerName: *kf.controller, Address: *kf.address, AddressService: *kf.service,
			Base: base},
		LeaderElection:          *kf.leaderElect,
		LeaderElectionNamespace: *kf.leaseNS,
		Log:                     log,
		Apply: func(cfg *config.Config) error {
			snap, err := config.Compile("kubernetes", cfg)
			if err != nil {
				return err
			}
			for _, p := range snap.Problems {
				log.Warn("route disabled", "problem", p.Error())
			}
			if err := gw.Apply(snap); err != nil {
				return err
			}
			synced.Store(true)
			return nil
		},
	})
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// kubeReady makes /readyz fail until the first translation of the cluster's
// resources is served, then defers to prev (metering's health).
func kubeReady(prev func() (bool, []string), synced *atomic.Bool) func() (bool, []string) {
	return func() (bool, []string) {
		if !synced.Load() {
			return true, []string{"kubernetes: waiting for the first configuration from the cluster"}
		}
		if prev == nil {
			return false, nil
		}
		return prev()
	}
}

// translateCmd prints the configuration a directory of manifests yields;
// problems go to stderr.
func translateCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("f", "", "directory of Kubernetes manifests (.yaml, .yml, .json)")
	file := fs.String("c", "", "base configuration (server limits, access store and prices)")
	controllerName := fs.String("controller-name", translate.DefaultControllerName, "the GatewayClass controllerName served")
	address := fs.String("bind-address", "", "the IP every listener binds (default 0.0.0.0)")
	status := fs.Bool("status", false, "print the resources' status too (config:, status:, problems:)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *dir == "" {
		_, _ = fmt.Fprintln(stderr, "translate: -f DIR is required")
		return errUsage
	}
	in, err := translate.LoadDir(*dir)
	if err != nil {
		return err
	}
	opts := translate.Options{ControllerName: *controllerName, Address: *address}
	if *file != "" {
		snap, err := config.Load(*file)
		if err != nil {
			return err
		}
		opts.Base = &config.Config{Server: snap.Config.Server, Access: snap.Config.Access}
	}
	out := translate.Translate(in, opts)
	render := translate.RenderConfig
	if *status {
		render = translate.Render
	}
	b, err := render(out)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(b); err != nil {
		return fmt.Errorf("translate: %w", err)
	}
	if len(out.Problems) > 0 {
		_, _ = fmt.Fprintln(stderr, strings.Join(out.Problems, "\n"))
	}
	return nil
}
