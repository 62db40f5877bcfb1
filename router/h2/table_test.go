package h2

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

func compileTable(t *testing.T, y string) *Table {
	t.Helper()
	snap, err := config.LoadBytes("t.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Problems) > 0 {
		t.Fatal(snap.Problems)
	}
	gen := upstream.NewState().Begin()
	tab, err := Compile(snap, gen, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gen.Commit()
	return tab
}

// TestLookupPrecedence checks GRPCRoute matching: hostnames (exact over
// wildcard over none), then the longest service and method, then headers.
func TestLookupPrecedence(t *testing.T) {
	tab := compileTable(t, `
listeners: [{name: g, port: 8080, h2c: true}]
grpcRoutes:
  - name: any
    rules:
      - backendRefs: [{name: b}]
      - matches: [{method: {service: pkg.Svc}}]
        backendRefs: [{name: b}]
      - matches: [{method: {service: pkg.Svc, method: Get}}]
        backendRefs: [{name: b}]
      - matches: [{method: {type: RegularExpression, service: 'pkg\..*', method: 'List.*'}, headers: [{name: x-v, value: '2'}]}]
        backendRefs: [{name: b}]
  - name: host
    hostnames: [api.example.com]
    rules: [{matches: [{method: {method: Get}}], backendRefs: [{name: b}]}]
  - name: wild
    hostnames: ['*.example.com']
    rules: [{backendRefs: [{name: b}]}]
backends: [{name: b, static: {endpoints: ['127.0.0.1:1']}}]
`)
	tests := []struct {
		name, host, path string
		header           http.Header
		want             string
	}{
		{"exact service and method", "gw", "/pkg.Svc/Get", nil, "default.any.2.0"},
		{"service only", "gw", "/pkg.Svc/Put", nil, "default.any.1.0"},
		{"regex with header", "gw", "/pkg.Other/ListAll", http.Header{"X-V": {"2"}}, "default.any.3.0"},
		{"regex without its header", "gw", "/pkg.Other/ListAll", nil, "default.any.0.0"},
		{"regex is anchored", "gw", "/xpkg.Other/ListAll", http.Header{"X-V": {"2"}}, "default.any.0.0"},
		{"exact host wins", "api.example.com:443", "/pkg.Svc/Get", nil, "default.host.0.0"},
		{"exact host, other method: wildcard", "API.example.com", "/pkg.Svc/Put", nil, "default.wild.0.0"},
		{"wildcard host", "a.b.example.com", "/pkg.Svc/Get", nil, "default.wild.0.0"},
		{"wildcard needs a label", "example.com", "/pkg.Svc/Get", nil, "default.any.2.0"},
		{"not a gRPC path", "gw", "/pkg.Svc", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			_, key := tab.Lookup(8080, tt.host, tt.path, h)
			if key != tt.want {
				t.Errorf("got %q, want %q", key, tt.want)
			}
		})
	}
	if r, _ := tab.Lookup(9999, "gw", "/pkg.Svc/Get", http.Header{}); r != nil {
		t.Error("a port without GRPCRoutes matched")
	}
}

func frame(n int) []byte {
	b := make([]byte, 5+n)
	binary.BigEndian.PutUint32(b[1:], uint32(n))
	return b
}

// TestBodyReplayAndLimit: a later attempt replays what an earlier one
// read; a message header over the limit fails the read.
func TestBodyReplayAndLimit(t *testing.T) {
	src := append(frame(10), frame(20)...)
	b := newBody(bytes.NewReader(src), 100)
	first := b.attempt()
	head := make([]byte, 7)
	if _, err := io.ReadFull(first, head); err != nil {
		t.Fatal(err)
	}
	_ = first.Close()
	if _, err := first.Read(head); err != errAttemptOver {
		t.Errorf("closed attempt read: %v", err)
	}
	if !b.replayable() {
		t.Fatal("not replayable after 7 bytes")
	}
	all, err := io.ReadAll(b.attempt())
	if err != nil || !bytes.Equal(all, src) {
		t.Fatalf("second attempt read %d bytes (%v), want %d", len(all), err, len(src))
	}

	big := newBody(bytes.NewReader(append(frame(10), frame(101)...)), 100)
	if _, err := io.ReadAll(big.attempt()); err != errTooLarge {
		t.Errorf("oversized message: %v", err)
	}
	if big.replayable() {
		t.Error("an oversized stream is replayable")
	}
}

func TestGRPCTimeout(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{{"100m", 100 * time.Millisecond, true}, {"2S", 2 * time.Second, true}, {"5u", 5 * time.Microsecond, true},
		{"1H", time.Hour, true}, {"", 0, false}, {"10x", 0, false}, {"-1m", 0, false}, {"1234567890m", 0, false}} {
		got, ok := parseTimeout(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTimeout(%q) = %v %v", tt.in, got, ok)
		}
	}
	if got := encodeMessage("50% off\n"); got != "50%25 off%0A" {
		t.Errorf("encodeMessage = %q", got)
	}
	if !strings.HasSuffix(formatTimeout(1500*time.Millisecond), "m") {
		t.Error("formatTimeout unit")
	}
}
