package ai

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestUpstreamFailureIsDiagnosable checks that a failed upstream call tells
// the operator why (logs) and which backend (the header the access log reads),
// while the client gets only a generic OpenAI error.
func TestUpstreamFailureIsDiagnosable(t *testing.T) {
	var logs lockedBuf
	addr := closedAddr(t)
	h := newHarness(t, []backendSpec{{name: "dead", ai: config.AIBackend{Provider: "openai-compatible",
		BaseURL: "http://" + addr + "/v1?token=secret-in-query"}}},
		Options{Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	status, hdr, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
		[]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if status != 502 || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("status %d body %s", status, body)
	}
	if strings.Contains(string(body), addr) {
		t.Fatalf("the client error names the upstream address: %s", body)
	}
	if got := string(hdr.Peek(HeaderBackend)); got != "default/dead" {
		t.Fatalf("%s = %q, want default/dead", HeaderBackend, got)
	}
	out := logs.String()
	for _, want := range []string{"upstream request failed", "default/dead", addr} {
		if !strings.Contains(out, want) {
			t.Fatalf("logs lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret-in-query") {
		t.Fatalf("logs contain the URL's query: %s", out)
	}
}
