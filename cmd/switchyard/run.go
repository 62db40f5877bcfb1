package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/policies/meter"
	"github.com/switchyard-ai/switchyard/router"
	"github.com/switchyard-ai/switchyard/router/a2aroute"
	"github.com/switchyard-ai/switchyard/router/ai"
	"github.com/switchyard-ai/switchyard/router/mcproute"
)

// runCmd serves until ctx ends (SIGTERM or SIGINT), then drains.
func runCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "configuration file (default: the embedded default configuration)")
	admin := fs.String("admin", envOr("SWITCHYARD_ADMIN", defaultAdmin),
		"admin server address (/healthz, /readyz, /metrics, /config, and /debug/pprof/ with --pprof); empty disables it; SWITCHYARD_ADMIN sets the default")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	dataDir := fs.String("data-dir", envOr("SWITCHYARD_DATA_DIR", ".switchyard"),
		"directory of the embedded store (keys, spend, usage records) when the configuration meters access; SWITCHYARD_DATA_DIR sets the default")
	profiling := fs.Bool("pprof", os.Getenv("SWITCHYARD_PPROF") == "1",
		"serve Go's profiles under /debug/pprof/ on the admin server; SWITCHYARD_PPROF=1 sets the default")
	kf := addKubeFlags(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", *level)
	}
	logOut := newBufferedWriter(stderr, 100*time.Millisecond)
	defer func() { _ = logOut.Close() }()
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: lvl}))

	var snap *config.Snapshot
	var kubeBase *config.Config
	var err error
	if *kf.enabled {
		snap, kubeBase, err = kubeSnapshot(*file)
	} else if *file == "" {
		snap, err = defaultSnapshot(ctx, log)
	} else {
		snap, err = config.Load(*file)
	}
	if err != nil {
		var list config.Errors
		if errors.As(err, &list) {
			return fmt.Errorf("configuration is invalid:\n%s", err.Error())
		}
		return err
	}
	if *file != "" {
		log.Info("configuration loaded", "file", *file, "listeners", len(snap.Listeners), "routes", len(snap.Routes),
			"backends", len(snap.Backends))
	}
	for _, p := range snap.Problems {
		log.Warn("route disabled", "problem", p.Error())
	}
	for _, p := range keyWarnings(snap) {
		log.Warn("backend has no API key", "problem", p.Error())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := router.Options{
		Log:       log,
		Registry:  reg,
		Profiling: *profiling,
		Handlers: []router.HandlerFactory{
			ai.NewFactory(ai.Options{Log: log, Providers: newProviders(log, reg), Context: ctx, Inference: inference.NewMetrics(reg)}),
			mcproute.NewFactory(mcproute.Options{Log: log, Registry: reg, Context: ctx}),
			a2aroute.NewFactory(log),
		},
		Policies: []policies.Policy{policies.NewMetrics(reg)},
		Builders: []policies.Builder{noMetering{}},
	}
	if metered(snap.Config) {
		m, err := openMetering(ctx, snap.Config, *dataDir, log, reg)
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m.close(cctx)
		}()
		token, err := adminToken(snap.Config.Access)
		if err != nil {
			return err
		}
		opts.Builders = []policies.Builder{m.svc}
		opts.Policies = append(opts.Policies, m.svc.Policy())
		opts.Admin = m.svc.Admin(meter.AdminOptions{Token: token, Loopback: loopback(*admin), Usage: m.usage})
		opts.Ready = m.ready
		if token == "" && *admin != "" && !loopback(*admin) {
			log.Warn("admin API: keys and usage endpoints refused: they need access.admin.token on a non-loopback address", "admin", *admin)
		}
	}
	var kubeSynced atomic.Bool
	if *kf.enabled {
		opts.Ready = kubeReady(opts.Ready, &kubeSynced)
	}
	gw := router.New(opts)
	if err := gw.Apply(snap); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w (another process holds the port: change the listener's port in the configuration, or set PORT for the embedded default)", err)
		}
		return err
	}
	logServed(log, snap)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	if *admin != "" {
		go func() { errc <- adminError(gw.ServeAdmin(runCtx, *admin)) }()
	}
	if *kf.enabled {
		go func() { errc <- runKubernetes(runCtx, kf, kubeBase, gw, &kubeSynced, log) }()
	} else if *file != "" {
		go func() { errc <- gw.Watch(runCtx, *file) }()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining requests in flight", "drainTimeout", snap.Config.Server.DrainTimeout.D().String())
	case err := <-errc:
		if err != nil {
			cancel()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			_ = gw.Shutdown(sctx)
			return err
		}
	}
	err = gw.Shutdown(context.Background())
	cancel()
	if err != nil {
		log.Warn("shutdown", "err", err.Error())
	}
	log.Info("stopped")
	return nil
}

// noMetering refuses a reload that adds metering to a gateway started
// without it: its stores are opened at start, so that takes a restart.
type noMetering struct{}

// Compile implements [policies.Builder].
func (noMetering) Compile(snap *config.Snapshot) (policies.Compiled, error) {
	if metered(snap.Config) {
		return nil, errors.New("the configuration now meters access (access block, clientAuth or rateLimits): restart the gateway to open its stores")
	}
	return noMetering{}, nil
}

// Policies implements [policies.Compiled].
func (noMetering) Policies(string, config.Policies) ([]policies.Policy, error) { return nil, nil }

// adminToken reads the admin credential of the access block ("" for none).
func adminToken(a *config.Access) (string, error) {
	if a == nil {
		return "", nil
	}
	if a.Admin.TokenFile != "" {
		b, err := os.ReadFile(a.Admin.TokenFile)
		if err != nil {
			return "", fmt.Errorf("access.admin.tokenFile: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return a.Admin.Token.Value(), nil
}

// defaultAdmin is the admin server's address unless --admin or SWITCHYARD_ADMIN says otherwise.
const defaultAdmin = "127.0.0.1:15000"

// envOr returns the environment variable k, or def when it is unset.
func envOr(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}

// adminError says how to get past an admin server that cannot start.
func adminError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (choose another admin address with --admin ADDR or SWITCHYARD_ADMIN=ADDR, or disable the admin server with --admin '')", err)
}

// logServed says what a snapshot serves: each listener's address, each route
// with its listeners and backends, and the models of each AI backend.
func logServed(log *slog.Logger, snap *config.Snapshot) {
	for _, l := range snap.Listeners {
		scheme := "http"
		if l.Listener.Protocol == config.ProtocolHTTPS {
			scheme = "https"
		}
		attrs := []any{"key", l.Key, "url", scheme + "://" + net.JoinHostPort(l.Listener.Address, strconv.Itoa(l.Listener.Port))}
		if l.Listener.Hostname != "" {
			attrs = append(attrs, "hostname", l.Listener.Hostname)
		}
		log.Info("listener", attrs...)
	}
	for _, r := range snap.Routes {
		if r.Disabled {
			continue // logged with its problem
		}
		var backends []string
		seen := map[string]bool{}
		for _, rule := range r.Route.Rules {
			for _, ref := range rule.BackendRefs {
				if !seen[ref.Name] {
					seen[ref.Name] = true
					backends = append(backends, ref.Name)
				}
			}
		}
		attrs := []any{"key", r.Key, "listeners", strings.Join(r.Listeners, ",")}
		if len(r.Route.Hostnames) > 0 {
			attrs = append(attrs, "hostnames", strings.Join(r.Route.Hostnames, ","))
		}
		attrs = append(attrs, "backends", strings.Join(backends, ","))
		log.Info("route", attrs...)
	}
	keys := make([]string, 0, len(snap.Backends))
	for k, b := range snap.Backends {
		if b.AI != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := snap.Backends[k].AI
		log.Info("serving models", "backend", k, "provider", a.Provider, "models", describeModels(a))
	}
	logPools(log, snap)
}

// describeModels says which client-facing models an AI backend serves, each
// once, sorted, with the upstream model when it differs:
// "claude-sonnet (as claude-sonnet-4-5-20250929),haiku".
func describeModels(a *config.AIBackend) string {
	upstream := map[string]string{}
	for _, m := range a.Models {
		upstream[m] = firstNonEmpty(a.Model, m)
	}
	for alias, up := range a.Aliases {
		upstream[alias] = up
	}
	if len(upstream) == 0 {
		if a.Model != "" {
			return "any (as " + a.Model + ")"
		}
		return "any (passed through)"
	}
	names := make([]string, 0, len(upstream))
	for m := range upstream {
		names = append(names, m)
	}
	sort.Strings(names)
	for i, m := range names {
		if up := upstream[m]; up != m {
			names[i] = m + " (as " + up + ")"
		}
	}
	return strings.Join(names, ",")
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
