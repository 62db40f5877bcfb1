// Command loadgen applies HTTP load to one URL and prints JSON results:
// closed loop (-c connections back to back) or open loop (-rate requests a
// second, latency from the intended send time, late requests dropped),
// optionally reading SSE streams (-stream: time to first token, chunk gaps),
// and the CPU seconds and RSS of the server processes named with -pid.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard-ai/switchyard/loadtest/load"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run() error {
	var o load.Options
	var headers, pids multi
	flag.StringVar(&o.URL, "url", "", "target URL (http://host:port/path)")
	flag.StringVar(&o.Method, "method", "", "HTTP method (default POST with a body, else GET)")
	bodyFile := flag.String("body-file", "", "request body file")
	bodySize := flag.Int("body-size", 0, "send a chat completions body of about this many bytes (with -model)")
	model := flag.String("model", "gpt-4o-mini", "model of the generated chat body")
	shape := flag.String("shape", load.ShapePadded, "generated request: padded (a chat body of -body-size bytes) or "+
		"sdk (the short body and the headers of an OpenAI SDK call with max_tokens; -body-size is ignored)")
	flag.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	key := flag.String("key", "", "API key sent as 'Authorization: Bearer KEY' (replaces -shape sdk's sk-loadtest)")
	mode := flag.String("mode", "closed", "closed (connections back to back) or open (fixed rate)")
	flag.IntVar(&o.Conns, "c", 1, "connections (closed) or sending workers (open)")
	flag.Float64Var(&o.Rate, "rate", 0, "open loop: requests per second")
	flag.DurationVar(&o.Deadline, "deadline", time.Second, "open loop: drop a request not sent within this of its intended time")
	flag.DurationVar(&o.Duration, "d", 5*time.Second, "measured duration")
	flag.DurationVar(&o.Warmup, "warmup", time.Second, "warm-up before the measured window")
	flag.DurationVar(&o.RampUp, "ramp", 0, "spread connection starts over this time")
	flag.DurationVar(&o.Timeout, "timeout", 30*time.Second, "per-request timeout")
	flag.BoolVar(&o.Stream, "stream", false, "read responses as SSE streams")
	flag.BoolVar(&o.JSONRPC, "jsonrpc", false, `number each request's JSON-RPC id (the body's "id":1) and count JSON-RPC error answers as failures`)
	flag.IntVar(&o.ExpectChunks, "expect-chunks", 0, "stream: chunks the upstream sends (for the spread ratio)")
	flag.DurationVar(&o.ChunkGap, "chunk-gap", 0, "stream: the upstream's gap between chunks")
	flag.Var(&pids, "pid", "server process to measure, name=PID (repeatable)")
	out := flag.String("o", "", "write the JSON results here (default stdout)")
	quiet := flag.Bool("q", false, "no progress lines on stderr")
	flag.Parse()

	switch *mode {
	case "closed":
	case "open":
		o.Open = true
	default:
		return fmt.Errorf("-mode %q: want closed or open", *mode)
	}
	switch {
	case *bodyFile != "":
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		o.Body = b
	case *shape == load.ShapeSDK:
		o.Body = load.SDKBody(*model, o.Stream)
		o.Headers = append(o.Headers, load.SDKHeaders()...)
	case *shape != load.ShapePadded:
		return fmt.Errorf("-shape %q: want %s or %s", *shape, load.ShapePadded, load.ShapeSDK)
	case *bodySize > 0:
		o.Body = load.ChatBody(*model, o.Stream, *bodySize)
	}
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("-H %q: want 'Name: value'", h)
		}
		o.Headers = append(o.Headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	if *key != "" {
		o.Headers = load.WithKey(o.Headers, *key)
	}
	for _, p := range pids {
		name, id, ok := strings.Cut(p, "=")
		n, err := strconv.Atoi(id)
		if !ok || err != nil {
			return fmt.Errorf("-pid %q: want name=PID", p)
		}
		o.Procs = append(o.Procs, load.Proc{Name: name, PID: n})
	}
	if !*quiet {
		o.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, o)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	b = append(b, '\n')
	if *out == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(*out, b, 0o644)
}
