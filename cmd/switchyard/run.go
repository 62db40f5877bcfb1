package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router"
	"github.com/switchyard-ai/switchyard/router/ai"
)

// runCmd serves until ctx ends (SIGTERM or SIGINT), then drains.
func runCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "configuration file (default: the embedded default configuration)")
	admin := fs.String("admin", "127.0.0.1:15000", "admin server address (/healthz, /readyz, /metrics, /config); empty disables it")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logOut := newBufferedWriter(stderr, 100*time.Millisecond)
	defer func() { _ = logOut.Close() }()
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: lvl}))

	var snap *config.Snapshot
	var err error
	if *file == "" {
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
	for _, p := range snap.Problems {
		log.Warn("route disabled", "problem", p.Error())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	chain := policies.Chain{policies.NewMetrics(reg)}
	wiring := newProviderWiring(ctx, log, reg)
	gw := router.New(router.Options{
		Log:      log,
		Registry: reg,
		Frontend: func(s *config.Snapshot) (*ai.Frontend, error) {
			return ai.New(s, ai.Options{
				Log:          log,
				Policies:     chain,
				MaxBodyBytes: s.Config.Server.MaxBodyBytes,
				Adapters:     wiring.adapters,
				Direct:       wiring.direct,
				Signers:      wiring.signer,
			})
		},
	})
	if err := gw.Apply(snap); err != nil {
		return err
	}
	logModels(log, snap)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	if *admin != "" {
		go func() { errc <- gw.ServeAdmin(runCtx, *admin) }()
	}
	if *file != "" {
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

// logModels says which models each AI backend serves.
func logModels(log *slog.Logger, snap *config.Snapshot) {
	for _, l := range snap.Listeners {
		log.Info("listener", "key", l.Key, "bind", l.BindKey, "address", fmt.Sprintf("%s:%d", l.Listener.Address, l.Listener.Port), "protocol", l.Listener.Protocol)
	}
	for key, b := range snap.Backends {
		if b.AI == nil {
			continue
		}
		models := append([]string{}, b.AI.Models...)
		for alias := range b.AI.Aliases {
			models = append(models, alias)
		}
		served := strings.Join(models, ",")
		if served == "" {
			served = "any (" + firstNonEmpty(b.AI.Model, "passed through") + ")"
		}
		log.Info("serving models", "backend", key, "provider", b.AI.Provider, "models", served)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
