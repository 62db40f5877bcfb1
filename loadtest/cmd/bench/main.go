// Command bench runs the load-test scenarios of loadtest/harness against the
// fake upstream directly, the bare proxy (the floor), Switchyard and, when
// installed, the Portkey gateway, and writes results/report.md and
// results/latency.png. loadtest/run.sh (make bench) is the usual entry point.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard-ai/switchyard/loadtest/harness"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var o harness.Options
	flag.StringVar(&o.Switchyard, "switchyard", "bin/switchyard", "the gateway binary")
	flag.StringVar(&o.Tools, "tools", "loadtest/bin", "directory of fakeupstream, bareproxy and loadgen")
	flag.StringVar(&o.PeerDir, "peer", "loadtest/.peer", "directory where @portkey-ai/gateway is installed")
	flag.StringVar(&o.Out, "out", "loadtest/results", "results directory")
	flag.IntVar(&o.Reps, "reps", 3, "repetitions of each scenario")
	flag.DurationVar(&o.Duration, "d", 2500*time.Millisecond, "measured window of a run")
	flag.DurationVar(&o.Warmup, "warmup", 500*time.Millisecond, "warm-up of a run")
	flag.StringVar(&o.ServerCPUs, "server-cpus", "", "taskset CPU list of the gateway, proxy and peer")
	flag.StringVar(&o.ClientCPUs, "client-cpus", "", "taskset CPU list of the fake upstream and the generator")
	only := flag.String("only", "", "comma-separated scenario names (default all)")
	from := flag.String("from", "", "do not run: rewrite the report from this samples.json of an earlier run")
	flag.Parse()
	o.Log = os.Stderr

	scenarios := harness.Default()
	if *only != "" {
		want := map[string]bool{}
		for _, n := range strings.Split(*only, ",") {
			want[strings.TrimSpace(n)] = true
		}
		var keep []harness.Scenario
		for _, s := range scenarios {
			if want[s.Name] {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("-only %q matches no scenario", *only)
		}
		scenarios = keep
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	var samples []harness.Sample
	var runErr error
	if *from != "" {
		b, err := os.ReadFile(*from)
		if err != nil {
			return fmt.Errorf("read samples: %w", err)
		}
		if err := json.Unmarshal(b, &samples); err != nil {
			return fmt.Errorf("decode %s: %w", *from, err)
		}
	} else {
		samples, runErr = harness.Run(ctx, o, scenarios)
		if len(samples) == 0 {
			return runErr
		}
		raw, err := json.MarshalIndent(samples, "", " ")
		if err != nil {
			return fmt.Errorf("encode samples: %w", err)
		}
		if err := os.WriteFile(filepath.Join(o.Out, "raw", "samples.json"), raw, 0o644); err != nil {
			return fmt.Errorf("write samples: %w", err)
		}
	}
	elapsed := time.Since(start)
	if *from != "" {
		elapsed = 0 // unknown: the run was earlier
	}
	aggs := harness.Aggregate(scenarios, samples)
	var md bytes.Buffer
	peerOK, why := harness.PeerAvailable(o.PeerDir)
	harness.WriteReport(&md, harness.ReportInfo{
		Machine: harness.Machine(), Reps: o.Reps, Duration: o.Duration, Warmup: o.Warmup,
		ServerCPUs: o.ServerCPUs, ClientCPUs: o.ClientCPUs, Elapsed: elapsed, Peer: peerOK, PeerWhy: why,
		Skipped: harness.Skipped(scenarios), Err: runErr,
	}, scenarios, aggs)
	if err := os.WriteFile(filepath.Join(o.Out, "report.md"), md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	f, err := os.Create(filepath.Join(o.Out, "latency.png"))
	if err != nil {
		return fmt.Errorf("create plot: %w", err)
	}
	if err := harness.PlotLatency(f, scenarios, aggs); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s and %s in %s\n", filepath.Join(o.Out, "report.md"),
		filepath.Join(o.Out, "latency.png"), time.Since(start).Round(time.Second))
	return runErr
}
