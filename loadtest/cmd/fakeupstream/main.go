// Command fakeupstream is the fake OpenAI / Bedrock upstream of the load
// tests. It listens on loopback and serves POST /v1/chat/completions (JSON,
// the answer chosen by -response, or SSE when the body has "stream":true), POST /model/{id}/converse and GET
// /stats (its own CPU time and request counts). With -mcp it is an MCP
// server instead (mcp.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/loadtest/fake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeupstream:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	chunks := flag.Int("chunks", 20, "content chunks per streamed answer")
	gap := flag.Duration("gap", 5*time.Millisecond, "pause between two chunks")
	delay := flag.Duration("delay", 0, "pause before the first chunk")
	response := flag.String("response", fake.ResponseFixed,
		"non-streamed chat answer: fixed (643 bytes) or openai (591 bytes, shaped as OpenAI's today)")
	mcpMode := flag.Bool("mcp", false, "serve an MCP server (the official Go SDK, one echo tool) at /mcp instead")
	flag.Parse()
	if *mcpMode {
		return runMCP(*addr)
	}
	srv, err := fake.New(fake.Config{Chunks: *chunks, Gap: *gap, Delay: *delay, Response: *response})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	s := &fasthttp.Server{
		Handler:               srv.Handle,
		Name:                  "fakeupstream",
		NoDefaultDate:         true,
		NoDefaultServerHeader: true,
		Concurrency:           1 << 20,
		MaxRequestBodySize:    64 << 20,
		ReadBufferSize:        16 << 10,
	}
	// The harness reads the chosen address from the first line of stdout.
	fmt.Println(ln.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	st := srv.Snapshot()
	fmt.Fprintf(os.Stderr, "fakeupstream: requests=%d streams=%d cpu=%.2fs\n", st.Requests, st.Streams, st.CPUSeconds)
	return s.Shutdown()
}
