package mcp

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// TestListenerCoalesces writes each changed list once however many
// list_changed came before the stream took them.
func TestListenerCoalesces(t *testing.T) {
	l := &listener{out: make(chan []byte, 1), wake: make(chan struct{}, 1)}
	for _, k := range []int{0, 0, 2, 0} {
		l.change(k)
	}
	if len(l.wake) != 1 {
		t.Fatalf("wake holds %d, want 1", len(l.wake))
	}
	if got := l.takeChanged(); got != [3]bool{true, false, true} {
		t.Fatalf("changed = %v", got)
	}
	if got := l.takeChanged(); got != [3]bool{} {
		t.Fatalf("changed again = %v", got)
	}
}

// TestListen relays a target's standalone stream — a log message split on
// two data lines, a request (its id wrapped), a list_changed (as the
// gateway's own, without the target's params), a response (dropped) —
// skips a target that answers 405, and closes the target's stream when the
// client leaves.
func TestListen(t *testing.T) {
	closed := make(chan struct{})
	var header atomic.Value
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header.Store(r.Header.Clone())
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "id: 1\ndata: {\"jsonrpc\":\"2.0\",\ndata: \"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"hi\"}}\n\n"+
			"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"+
			"data: {\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"roots/list\"}\n\n"+
			": a comment\n\n"+
			"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\",\"params\":{\"_meta\":{\"of\":\"a\"}}}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(closed)
	}))
	defer a.Close()
	var refused atomic.Int32
	n := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refused.Add(1)
		w.WriteHeader(http.StatusMethodNotAllowed)
	}))
	defer n.Close()
	b, err := New("ns/tools", &config.MCPBackend{Targets: []config.MCPTarget{{Name: "a", URL: a.URL}, {Name: "n", URL: n.URL}}},
		Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.keepAlive = 20 * time.Millisecond
	s := &session{V: 1, IssuedAt: time.Now().Unix(), Targets: map[string][2]string{"a": {"sid-a", "2025-11-25"}, "n": {"sid-n", ""}}}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.listen(s, &Caller{Authorization: "Bearer client"}, &eventWriter{w: bufio.NewWriter(pw)})
		_ = pw.Close()
	}()
	r := bufio.NewReader(pr)
	var got []string
	for len(got) < 3 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended after %q: %v", got, err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			got = append(got, strings.TrimSpace(data))
		}
	}
	want := []string{
		`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hi"}}`,
		`{"jsonrpc":"2.0","id":` + string(wrapServerID("a", json.RawMessage("5"))) + `,"method":"roots/list"}`,
		`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`,
	}
	// The list_changed is written when the stream gets to it: in any order.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	h, _ := header.Load().(http.Header)
	if h.Get("Mcp-Session-Id") != "sid-a" || h.Get("Mcp-Protocol-Version") != "2025-11-25" || h.Get("Accept") != "text/event-stream" ||
		h.Get("Authorization") != "" {
		t.Errorf("the target's GET carried %v; want its own session, SSE and no client credential (auth: none)", h)
	}
	_ = pr.Close() // the client leaves
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the target's stream outlived the client's")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("listen did not return")
	}
	if refused.Load() != 1 {
		t.Errorf("the target without a stream was asked %d times, want once", refused.Load())
	}
}

// TestListenEndsWithBackend ends the stream when the backend closes.
func TestListenEndsWithBackend(t *testing.T) {
	b, err := New("ns/tools", &config.MCPBackend{}, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.listen(&session{V: 1, IssuedAt: time.Now().Unix()}, nil, &eventWriter{w: bufio.NewWriter(io.Discard)})
	}()
	b.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived its backend")
	}
}
