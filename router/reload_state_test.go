package router

import (
	"context"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/router/ai"
)

// countingUpstream is an OpenAI-compatible upstream that counts the
// connections it accepted and the requests it served; with fail set it
// answers 500.
type countingUpstream struct {
	*httptest.Server
	conns, requests atomic.Int64
}

func newCountingUpstream(t *testing.T, fail bool) *countingUpstream {
	t.Helper()
	u := &countingUpstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"message":"down","type":"server_error"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"x","object":"chat.completion","model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

// TestReloadKeepsUpstreamState reloads the configuration 100 times under
// load: no new upstream connection is made (the AI backends' and static
// endpoints' pools survive), and an AI backend ejected before the reloads
// stays ejected (its failures are not forgotten).
func TestReloadKeepsUpstreamState(t *testing.T) {
	good := newCountingUpstream(t, false)
	bad := newCountingUpstream(t, true)
	log := slog.New(slog.DiscardHandler)
	g := New(Options{Log: log, Handlers: []HandlerFactory{ai.NewFactory(ai.Options{Log: log})}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	port := testutil.FreePort(t)
	host, p, _ := strings.Cut(strings.TrimPrefix(good.URL, "http://"), ":")
	config := func(i int) string {
		// Every reload changes the routes (a route of its own), never the backends.
		return fmt.Sprintf(`
server: {drainTimeout: 50ms, accessLog: false}
listeners: [{name: web, address: 127.0.0.1, port: %d}]
routes:
  - name: llm
    rules:
      - matches: [{path: {type: PathPrefix, value: /v1}}]
        backendRefs: [{name: bad}, {name: good, priority: 1}]
      - matches: [{path: {type: PathPrefix, value: /static}}]
        backendRefs: [{name: web}]
  - name: reload-%d
    rules: [{matches: [{path: {type: Exact, value: /reload-%d}}], backendRefs: [{name: web}]}]
backends:
  - name: bad
    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: k}}
  - name: good
    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: k}}
  - name: web
    static: {endpoints: [{host: %s, port: %s}]}
`, port, i, i, bad.URL, good.URL, host, p)
	}
	if err := g.Apply(loadSnap(t, config(0))); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 5 * time.Second}
	post := func() error {
		resp, err := client.Post(addr+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"chat","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	get := func() error {
		resp, err := client.Get(addr + "/static/x")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("static status %d", resp.StatusCode)
		}
		return nil
	}
	// Three failures eject the bad backend; each request fails over to the good one.
	for range 3 {
		if err := post(); err != nil {
			t.Fatal(err)
		}
	}
	if n := bad.requests.Load(); n != 3 {
		t.Fatalf("bad backend saw %d requests before the reloads, want 3", n)
	}

	// Load on both kinds of route, with a fixed number of clients.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	var firstErr atomic.Value
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				do := post
				if i%2 == 1 {
					do = get
				}
				if err := do(); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // the pools reach their size
	conns := good.conns.Load()
	for i := 1; i <= 100; i++ {
		if err := g.Apply(loadSnap(t, config(i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // the old snapshots drain and retire under load
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d requests failed during the reloads, first: %v", n, firstErr.Load())
	}
	if got := good.conns.Load(); got != conns {
		t.Errorf("upstream connections went from %d to %d across 100 reloads, want no new one", conns, got)
	}
	if n := bad.requests.Load(); n != 3 {
		t.Errorf("the ejected backend saw %d requests after the reloads, want still 3 (ejection reset)", n)
	}
}
