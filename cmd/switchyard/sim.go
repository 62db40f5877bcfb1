package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/sim"
	"github.com/switchyard-ai/switchyard/providers/tokens"
)

// simCmd runs the built-in simulated model as a standalone OpenAI-compatible
// model server with vLLM-style metrics.
func simCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 8000, "port to listen on")
	model := fs.String("model", "sim", "model name served (comma-free; any requested name is answered)")
	ttft := fs.Duration("ttft", 0, "time to first token")
	itl := fs.Duration("itl", 0, "inter-token latency")
	out := fs.Int("output-tokens", 16, "completion length unless max_tokens asks for fewer")
	maxRunning := fs.Int("max-running", 0, "requests served at once before others wait (0: unbounded)")
	mode := fs.String("mode", "lorem", "lorem (deterministic text) or echo (repeat the last user message)")
	h2c := fs.Bool("h2c", false, "speak only HTTP/2 cleartext with prior knowledge (a model server of an appProtocol kubernetes.io/h2c pool)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg := config.SimConfig{TimeToFirstToken: config.Duration(*ttft), InterTokenLatency: config.Duration(*itl),
		OutputTokens: *out, MaxRunning: *maxRunning, Mode: *mode}
	reg := prometheus.NewRegistry()
	a := sim.NewAdapter(tokens.New())
	h := sim.NewServer(a, cfg, reg, sim.WithModels(*model))
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("sim: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if *h2c {
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		srv.Protocols = &protos
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("sim model server listening", "addr", ln.Addr().String(), "model", *model, "h2c", *h2c)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sim: serve: %w", err)
	}
	return nil
}
