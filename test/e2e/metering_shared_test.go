package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// sharedYAML is a metered route over the sim with the given consumers
// (YAML list items indented by four spaces) and store block (indented by
// four spaces, under access.store).
func sharedYAML(consumers, store string) string {
	return `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    policies:
      clientAuth: {apiKeys: {}}
    rules:
      - backendRefs: [{name: sim}]
backends:
  - name: sim
    ai: {provider: sim, models: [gpt-4o-mini], sim: {outputTokens: 50}}
access:
  prices:
    gpt-4o-mini: {input: 0.15, output: 0.60}
  consumers:
` + consumers + `  store:
` + store
}

// storeYAML is an access.store block: Redis when redisAddr is set (with
// failureMode when set), PostgreSQL when pgURL is set.
func storeYAML(redisAddr, failureMode, pgURL string) string {
	var b strings.Builder
	if redisAddr != "" {
		fmt.Fprintf(&b, "    redis: {address: %q", redisAddr)
		if failureMode != "" {
			fmt.Fprintf(&b, ", failureMode: %s", failureMode)
		}
		b.WriteString("}\n")
	}
	if pgURL != "" {
		fmt.Fprintf(&b, "    postgres: {url: %q}\n", pgURL)
	}
	if b.Len() == 0 {
		b.WriteString("    flushInterval: 1s\n")
	}
	return b.String()
}

// startReplicas starts n gateways on cfg, each with a data directory of its own.
func startReplicas(t *testing.T, cfg string, n int) []*gateway {
	t.Helper()
	gs := make([]*gateway, n)
	for i := range gs {
		gs[i] = startAIGateway(t, cfg, "SWITCHYARD_DATA_DIR="+t.TempDir())
	}
	return gs
}

// reply is what tryChat got back.
type reply struct {
	Status  int
	Header  http.Header
	Body    string
	Elapsed time.Duration
	Err     error
}

// tryChat sends one chat request bounded by timeout; it never fails the
// test, so that goroutines may call it.
func tryChat(g *gateway, key string, maxTokens int, timeout time.Duration) reply {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	body := fmt.Sprintf(`{"model":"gpt-4o-mini","max_tokens":%d,"messages":[{"role":"user","content":"Say something."}]}`, maxTokens)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL("/v1/chat/completions"), strings.NewReader(body))
	if err != nil {
		return reply{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{Err: err, Elapsed: time.Since(start)}
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Elapsed: time.Since(start), Err: err}
}

// fanOut sends total requests with key from workers goroutines, request i
// to gateway i mod len(gs), and counts the answers by status (-1: no answer).
func fanOut(t *testing.T, gs []*gateway, key string, maxTokens, total, workers int) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var bodies []string
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := tryChat(gs[i%len(gs)], key, maxTokens, 30*time.Second)
				st := r.Status
				if r.Err != nil {
					st = -1
				}
				mu.Lock()
				counts[st]++
				if st != 200 && st != 429 {
					bodies = append(bodies, fmt.Sprintf("%d %v %s", r.Status, r.Err, r.Body))
				} else if st == 429 && !strings.Contains(r.Body, "rate_limit_exceeded") {
					bodies = append(bodies, "429 without rate_limit_exceeded: "+r.Body)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, b := range bodies {
		t.Errorf("unexpected answer: %s", b)
	}
	return counts
}

func TestMeteringSharedLimit(t *testing.T) {
	rd := testutil.StartRedis(t)
	pg := testutil.StartPostgres(t)
	// alice: 30 requests an hour; bob: 630 tokens an hour, and each request
	// reserves about 60 (a 10-token prompt and max_tokens 50): 10 fit.
	// Hourly windows refill one request every 2 minutes: nothing refills
	// while the test runs.
	cfg := sharedYAML(`    - name: alice
      keys: [{id: alice, value: `+aliceKey+`}]
      limits: [{requests: 30, per: hour}]
    - name: bob
      keys: [{id: bob, value: `+bobKey+`}]
      limits: [{tokens: 630, per: hour}]
`, storeYAML(rd.Addr(), "", pg.URL()))
	gs := startReplicas(t, cfg, 3)

	t.Run("requests", func(t *testing.T) {
		got := fanOut(t, gs, aliceKey, 5, 90, 30)
		if got[200] != 30 || got[429] != 60 {
			t.Fatalf("answers by status: %v; want 30 admitted and 60 refused across the three replicas", got)
		}
		// Every replica sees the same exhausted counter.
		for i, g := range gs {
			r := tryChat(g, aliceKey, 5, 10*time.Second)
			if r.Status != 429 || r.Header.Get("x-ratelimit-remaining-requests") != "0" {
				t.Fatalf("replica %d after the limit: %d (remaining %q) %v %s", i+1, r.Status,
					r.Header.Get("x-ratelimit-remaining-requests"), r.Err, r.Body)
			}
		}
	})
	t.Run("tokens", func(t *testing.T) {
		got := fanOut(t, gs, bobKey, 50, 30, 15)
		if got[200] != 10 || got[429] != 20 {
			t.Fatalf("answers by status: %v; want 10 admitted and 20 refused across the three replicas", got)
		}
	})
}

func TestMeteringSharedKeys(t *testing.T) {
	pg := testutil.StartPostgres(t)
	cfg := sharedYAML(`    - name: alice
      keys: [{id: alice, value: `+aliceKey+`}]
    - name: carol
`, storeYAML("", "", pg.URL()))
	gs := startReplicas(t, cfg, 3)

	// Gateway 1 makes a key for carol.
	req := newRequest(t, http.MethodPost, "http://"+gs[0].Admin+"/keys", strings.NewReader(`{"consumer":"carol","name":"shared"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := drain(resp)
	var created struct{ ID, Key string }
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &created) != nil || created.Key == "" || created.ID == "" {
		t.Fatalf("POST /keys: %d %s", resp.StatusCode, body)
	}
	status := func(g *gateway) int { return tryChat(g, created.Key, 5, 10*time.Second).Status }
	if st := status(gs[0]); st != 200 {
		t.Fatalf("the new key on the gateway that made it: %d", st)
	}
	// The other replicas hear of it through LISTEN/NOTIFY: within seconds,
	// where the periodic reload (every 30s) would take far longer. 5s, not
	// less: a loaded CI machine once took more than 2s.
	for i, g := range gs[1:] {
		testutil.Eventually(t, 5*time.Second, func() bool { return status(g) == 200 },
			fmt.Sprintf("the new key to work on gateway %d", i+2))
	}

	// Gateway 2 revokes it: all three refuse it.
	req = newRequest(t, http.MethodDelete, "http://"+gs[1].Admin+"/keys/"+created.ID, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := drain(resp); resp.StatusCode != 200 {
		t.Fatalf("DELETE /keys/%s: %d %s", created.ID, resp.StatusCode, body)
	}
	for i, g := range gs {
		testutil.Eventually(t, 5*time.Second, func() bool { return status(g) == 401 },
			fmt.Sprintf("the revoked key to be refused on gateway %d", i+1))
	}
	// A configured key is unaffected.
	for i, g := range gs {
		if r := tryChat(g, aliceKey, 5, 10*time.Second); r.Status != 200 {
			t.Fatalf("alice's configured key on gateway %d: %d %v %s", i+1, r.Status, r.Err, r.Body)
		}
	}
}
