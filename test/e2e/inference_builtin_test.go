package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// llmdSim is the llm-d-inference-sim binary, built from tools/llmd by
// `make llmd-sim` (make test and .ci/run build it).
func llmdSim(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../bin/llm-d-inference-sim")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make llmd-sim` (it builds llm-d-inference-sim v0.10.2 from tools/llmd)", p)
	}
	return p
}

// startLLMD runs llm-d-inference-sim (echo mode, a dummy model) on a free
// loopback port and returns its host:port.
func startLLMD(t *testing.T, args ...string) string {
	t.Helper()
	port := testutil.FreePort(t)
	cmd := exec.Command(llmdSim(t), append([]string{"--model", "llama", "--mode", "echo", "--port", strconv.Itoa(port)}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitHTTP(t, "http://"+addr+"/health", out)
	return addr
}

// TestInferencePoolBuiltinSkewLLMD: the built-in picker, reading the
// vllm:* metrics of two llm-d-inference-sim servers, sends new requests away
// from the one with a queue.
func TestInferencePoolBuiltinSkewLLMD(t *testing.T) {
	busy := startLLMD(t, "--max-num-seqs", "1", "--time-to-first-token", "3s")
	idle := startLLMD(t)
	g := startAIGateway(t, poolYAML("{name: pool}", fmt.Sprintf(`
  - name: pool
    inferencePool:
      endpoints: ["%s", "%s"]
      picker: {interval: 50ms}
`, busy, idle)))
	// Load the busy server directly: one running, three waiting.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post("http://"+busy+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"llama","messages":[{"role":"user","content":"slow"}]}`))
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	t.Cleanup(wg.Wait)
	testutil.Eventually(t, 5*time.Second, func() bool {
		resp, err := http.Get("http://" + busy + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b := drain(resp)
		return strings.Contains(b, `vllm:num_requests_waiting{model_name="llama"} 3`)
	}, "the busy server's queue")
	// The gateway's picker has seen the queue too (3 s per request: it lasts).
	testutil.Eventually(t, 5*time.Second, func() bool {
		return g.metric(`switchyard_inference_endpoint_requests_waiting{endpoint="`+busy+`",pool="default/pool"}`) == 3
	}, "the picker to scrape the busy server's queue")
	for i := range 8 {
		status, served, _, body := poolChat(t, g, fmt.Sprintf("request %d", i))
		if status != 200 || served != idle {
			t.Fatalf("request %d: %d served by %q, want the idle %s: %s", i, status, served, idle, body)
		}
	}
}

// TestInferencePoolPrefixAffinity: requests that share a long prompt prefix
// land on one server of three; different prefixes spread over them.
func TestInferencePoolPrefixAffinity(t *testing.T) {
	a, b, c := startSim(t, "127.0.0.1", 0), startSim(t, "127.0.0.1", 0), startSim(t, "127.0.0.1", 0)
	g := startAIGateway(t, poolYAML("{name: pool}", fmt.Sprintf(`
  - name: pool
    inferencePool:
      endpoints: ["%s", "%s", "%s"]
`, a, b, c)))
	system := strings.Repeat("You answer questions about the gateway's configuration. ", 8)
	first := ""
	for turn := range 10 {
		status, served, _, body := poolChat(t, g, fmt.Sprintf("%s\nquestion %d", system, turn))
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		if first == "" {
			first = served
		} else if served != first {
			t.Fatalf("turn %d served by %s, the prefix's server is %s", turn, served, first)
		}
	}
	spread := map[string]bool{}
	for i := range 24 {
		_, served, _, _ := poolChat(t, g, fmt.Sprintf("%d %s", i, system))
		spread[served] = true
	}
	if len(spread) != 3 {
		t.Errorf("24 different prefixes reached %d servers, want 3", len(spread))
	}
}

// TestInferencePoolWeights: a rule over two pools splits traffic by weight.
func TestInferencePoolWeights(t *testing.T) {
	a, b := startSim(t, "127.0.0.1", 0), startSim(t, "127.0.0.1", 0)
	g := startAIGateway(t, poolYAML("{name: big, weight: 3}, {name: small, weight: 1}", fmt.Sprintf(`
  - name: big
    inferencePool: {endpoints: ["%s"]}
  - name: small
    inferencePool: {endpoints: ["%s"]}
`, a, b)))
	counts := map[string]int{}
	for i := range 80 {
		status, _, backend, body := poolChat(t, g, fmt.Sprint(i))
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		counts[backend]++
	}
	// 3:1 of 80 is 60:20; a binomial spread of 4 standard deviations is ±15.
	if big := counts["default/big"]; big < 45 || big > 75 || big+counts["default/small"] != 80 {
		t.Errorf("split %v, want about 60:20", counts)
	}
}

// TestInferencePoolTokenLimit: a token limit holds on a pool route, counted
// from the usage the model server reports.
func TestInferencePoolTokenLimit(t *testing.T) {
	sim := startSim(t, "127.0.0.1", 0, "--output-tokens", "300")
	g := startAIGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    policies:
      clientAuth: {apiKeys: {}}
    rules:
      - backendRefs: [{name: pool}]
backends:
  - name: pool
    inferencePool: {endpoints: ["%s"]}
access:
  consumers:
    - name: alice
      keys: [{id: alice, value: %s}]
      limits: [{tokens: 1000, per: minute}]
`, sim, aliceKey), "SWITCHYARD_DATA_DIR="+t.TempDir())
	for i := 1; i <= 4; i++ {
		resp := chat(t, g, aliceKey, 300, false)
		body := drain(resp)
		want := 200
		if i == 4 {
			want = 429
		}
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d: %s", i, resp.StatusCode, want, body)
		}
		if i < 4 && resp.Header.Get("x-gateway-destination-endpoint-served") != sim {
			t.Fatalf("request %d not served by the pool: %v", i, resp.Header)
		}
	}
	if resp := chat(t, g, "", 10, false); resp.StatusCode != 401 {
		t.Fatalf("no key: %d", resp.StatusCode)
	}
}

// TestInferencePoolReload: a hot reload that changes a pool's endpoints
// sends the next requests to the new ones; one that keeps the pool keeps
// serving through it.
func TestInferencePoolReload(t *testing.T) {
	a, b := startSim(t, "127.0.0.1", 0), startSim(t, "127.0.0.1", 0)
	cfg := func(ep string) string {
		return poolYAML("{name: pool}", fmt.Sprintf("  - name: pool\n    inferencePool: {endpoints: [%q]}\n", ep))
	}
	g := startAIGateway(t, cfg(a))
	for _, step := range []struct{ ep, note string }{{a, "before"}, {b, "after the change"}, {b, "after a reload that keeps it"}} {
		if step.note != "before" {
			g.rewrite(cfg(step.ep) + "# " + step.note + "\n")
		}
		for range 3 {
			if status, served, _, body := poolChat(t, g, "hi"); status != 200 || served != step.ep {
				t.Fatalf("%s: %d served by %q, want %s: %s", step.note, status, served, step.ep, body)
			}
		}
	}
}

// TestInferencePoolPerRoute: different routes (here by hostname) reach
// different pools.
func TestInferencePoolPerRoute(t *testing.T) {
	a, b := startSim(t, "127.0.0.1", 0), startSim(t, "127.0.0.1", 0)
	g := startAIGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: team-a
    hostnames: [a.example]
    rules: [{backendRefs: [{name: pool-a}]}]
  - name: team-b
    hostnames: [b.example]
    rules: [{backendRefs: [{name: pool-b}]}]
backends:
  - name: pool-a
    inferencePool: {endpoints: [%q]}
  - name: pool-b
    inferencePool: {endpoints: [%q]}
`, a, b))
	for _, tt := range []struct{ host, want string }{{"a.example", a}, {"b.example", b}, {"a.example", a}} {
		req := newRequest(t, "POST", g.URL("/v1/chat/completions"), strings.NewReader(`{"model":"llama","messages":[{"role":"user","content":"hi"}]}`))
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := drain(resp)
		if resp.StatusCode != 200 || resp.Header.Get("x-gateway-destination-endpoint-served") != tt.want {
			t.Fatalf("%s: %d served by %q, want %s: %s", tt.host, resp.StatusCode, resp.Header.Get("x-gateway-destination-endpoint-served"), tt.want, body)
		}
	}
}
