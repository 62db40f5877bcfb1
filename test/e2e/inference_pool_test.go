package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// startSim runs `switchyard sim` on host:port (a free port when 0) and
// returns its host:port once it answers.
func startSim(t *testing.T, host string, port int, args ...string) string {
	t.Helper()
	if port == 0 {
		port = testutil.FreePort(t)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	cmd := exec.Command(binary, append([]string{"sim", "--host", host, "--port", strconv.Itoa(port), "--model", "llama",
		"--output-tokens", "3"}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitHTTP(t, "http://"+addr+"/health", out)
	return addr
}

func waitHTTP(t *testing.T, url string, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("%s never answered: %s", url, logs.String())
}

// poolYAML is a gateway with one OpenAI route over the given backends.
func poolYAML(refs, backends string) string {
	return fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    rules:
      - backendRefs: [%s]
backends:
%s`, refs, backends)
}

// poolChat sends one chat completion and returns the status, the endpoint that
// served, the backend and the body.
func poolChat(t *testing.T, g *gateway, content string, header ...string) (status int, served, backend, body string) {
	t.Helper()
	req := newRequest(t, "POST", g.URL("/v1/chat/completions"),
		strings.NewReader(`{"model":"llama","messages":[{"role":"user","content":`+strconv.Quote(content)+`}]}`))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-gateway-destination-endpoint-served"), resp.Header.Get("x-switchyard-backend"), string(b)
}

// TestInferencePoolConformance reproduces the conformance cases of the
// Inference Extension for the OpenAI API outside a cluster: requests reach
// only the endpoints the picker listed (one, two, three of them, over two
// pods with two target ports each, named in the request's
// test-epp-endpoint-selection header as the suite names them), in its
// order; the served endpoint is reported to the picker; the picker's body
// rewrite is what the server receives; its 429 and 503 are relayed.
func TestInferencePoolConformance(t *testing.T) {
	p1, p2 := testutil.FreePort(t), testutil.FreePort(t)
	var all []string
	for _, host := range []string{"127.0.0.1", "127.0.0.2"} {
		for _, port := range []int{p1, p2} {
			all = append(all, startSim(t, host, port, "--mode", "echo"))
		}
	}
	byHeader := eppfake.ByTestHeader(all)
	fake := &eppfake.Picker{Choose: func(s eppfake.Seen) eppfake.Answer {
		switch s.Headers["x-gateway-inference-objective"] {
		case "shed":
			return eppfake.Answer{Immediate: 429, ImmediateBody: "inference gateway: load shed"}
		case "none":
			return eppfake.Answer{Immediate: 503, ImmediateBody: "inference gateway: no ready endpoint"}
		case "rewrite":
			a := byHeader(s)
			a.Body = []byte(`{"model":"llama","messages":[{"role":"user","content":"rewritten by the picker"}]}`)
			return a
		}
		return byHeader(s)
	}}
	epp := eppfake.Start(t, fake, nil)
	g := startAIGateway(t, poolYAML("{name: pool}", fmt.Sprintf(`
  - name: pool
    inferencePool:
      endpoints: ["127.0.0.1", "127.0.0.2"]
      targetPorts: [%d, %d]
      endpointPicker: {address: "%s"}
`, p1, p2, epp)))
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d listed", n), func(t *testing.T) {
			listed := []string{all[3], all[1], all[2], all[0]}[:n]
			before := len(fake.Served())
			for i := range 6 {
				status, served, _, body := poolChat(t, g, fmt.Sprintf("hello %d", i), eppfake.HeaderTestSelection, strings.Join(listed, ","))
				if status != 200 || served != listed[0] {
					t.Fatalf("status %d served by %q, want 200 from %s (the picker's first): %s", status, served, listed[0], body)
				}
			}
			reported := fake.Served()[before:]
			if len(reported) != 6 || slices.ContainsFunc(reported, func(s string) bool { return s != listed[0] }) {
				t.Errorf("served endpoints reported to the picker %v, want 6 times %s", reported, listed[0])
			}
		})
	}
	t.Run("stream", func(t *testing.T) {
		client := openai.NewClient(option.WithBaseURL(g.URL("/v1")), option.WithAPIKey(""), option.WithMaxRetries(0),
			option.WithRequestTimeout(aiCallTimeout), option.WithHeader(eppfake.HeaderTestSelection, all[0]))
		res := collectStream(client, callCtx(t),
			openai.ChatCompletionNewParams{Model: "llama", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream me")}})
		if res.err != nil || !strings.Contains(res.text, "stream me") || res.finish == "" {
			t.Fatalf("stream through the pool: %+v", res)
		}
		if got := fake.Served(); got[len(got)-1] != all[0] {
			t.Fatalf("served reported %v", got)
		}
	})
	t.Run("body rewrite", func(t *testing.T) {
		status, _, _, body := poolChat(t, g, "original", "x-gateway-inference-objective", "rewrite", eppfake.HeaderTestSelection, all[0])
		if status != 200 || !strings.Contains(body, "rewritten by the picker") || strings.Contains(body, "original") {
			t.Fatalf("%d %s", status, body)
		}
	})
	for _, tt := range []struct {
		objective string
		status    int
		msg       string
	}{{"shed", 429, "load shed"}, {"none", 503, "no ready endpoint"}} {
		t.Run(fmt.Sprintf("immediate %d", tt.status), func(t *testing.T) {
			status, _, _, body := poolChat(t, g, "x", "x-gateway-inference-objective", tt.objective)
			var e struct {
				Error struct{ Message string }
			}
			if status != tt.status || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error.Message, tt.msg) {
				t.Fatalf("%d %s, want %d with %q in an OpenAI error", status, body, tt.status, tt.msg)
			}
		})
	}
	if v := g.metric(`switchyard_inference_picker_immediate_responses_total{pool="default/pool",status="429"}`); v != 1 {
		t.Errorf("immediate 429 counted %v times", v)
	}
}

// TestInferencePoolFailureModes: with the picker down, slow or answering
// garbage, FailOpen answers 200 from a pool endpoint and FailClose 500.
func TestInferencePoolFailureModes(t *testing.T) {
	sim := startSim(t, "127.0.0.1", 0)
	down := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	slow := eppfake.Start(t, &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer {
		return eppfake.Answer{Endpoints: []string{sim}, Delay: 5 * time.Second}
	}}, nil)
	garbage := eppfake.Start(t, &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Garbage: true} }}, nil)
	for _, picker := range []struct{ name, addr, reason string }{{"down", down, "connect"}, {"slow", slow, "timeout"}, {"garbage", garbage, "garbage"}} {
		for _, tt := range []struct {
			mode   string
			status int
		}{{"FailOpen", 200}, {"FailClose", 500}} {
			t.Run(picker.name+" "+tt.mode, func(t *testing.T) {
				t.Parallel()
				g := startAIGateway(t, poolYAML("{name: pool}", fmt.Sprintf(`
  - name: pool
    inferencePool:
      endpoints: ["%s"]
      endpointPicker: {address: "%s", failureMode: %s, timeout: 500ms}
`, sim, picker.addr, tt.mode)))
				for range 2 {
					status, served, _, body := poolChat(t, g, "hi")
					if status != tt.status {
						t.Fatalf("status %d, want %d: %s", status, tt.status, body)
					}
					if tt.status == 200 && served != sim {
						t.Fatalf("served by %q", served)
					}
				}
				series := fmt.Sprintf(`switchyard_inference_picker_failures_total{mode="%s",pool="default/pool",reason="%s"}`, tt.mode, picker.reason)
				if v := g.metric(series); v != 2 {
					t.Errorf("%s = %v, want 2", series, v)
				}
			})
		}
	}
}

// TestInferencePoolCloudFallback: a pool at priority 0 whose picker sheds
// (429), has no endpoint (503) or is down under FailClose fails over to a
// cloud provider at priority 1 before the first byte, streams included; a
// token limit holds on the pool route.
func TestInferencePoolCloudFallback(t *testing.T) {
	sim := startSim(t, "127.0.0.1", 0)
	cloud := openaifake.New(t, openaifake.Options{APIKey: upstreamKey})
	mode := "ok"
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer {
		switch mode {
		case "shed":
			return eppfake.Answer{Immediate: 429}
		case "none":
			return eppfake.Answer{Immediate: 503}
		}
		return eppfake.Answer{Endpoints: []string{sim}}
	}}
	epp := eppfake.Start(t, fake, nil)
	down := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfg := poolYAML("{name: pool, priority: 0}, {name: cloud, priority: 1}", fmt.Sprintf(`
  - name: pool
    inferencePool:
      endpoints: ["%s"]
      endpointPicker: {address: "%s"}
  - name: deadpool
    inferencePool:
      endpoints: ["%s"]
      endpointPicker: {address: "%s", failureMode: FailClose}
  - name: cloud
    ai: {provider: openai-compatible, baseURL: %s, aliases: {llama: gpt-4o-mini}, auth: {apiKey: "%s"}}
`, sim, epp, sim, down, cloud.URL, upstreamKey))
	g := startAIGateway(t, cfg)
	for _, tt := range []struct{ mode, backend string }{
		{"ok", "default/pool"}, {"shed", "default/cloud"}, {"none", "default/cloud"}, {"ok", "default/pool"},
	} {
		mode = tt.mode
		status, _, backend, body := poolChat(t, g, "hi")
		if status != 200 || backend != tt.backend {
			t.Fatalf("picker %s: %d from %q, want 200 from %s: %s", tt.mode, status, backend, tt.backend, body)
		}
	}
	if v := g.metric(`switchyard_inference_fallbacks_total{pool="default/pool",status="429"}`); v != 1 {
		t.Errorf("fallbacks on 429 counted %v", v)
	}
	t.Run("picker down, stream", func(t *testing.T) {
		g := startAIGateway(t, strings.Replace(cfg, "{name: pool, priority: 0}", "{name: deadpool, priority: 0}", 1))
		res := collectStream(sdkClient(g, ""), callCtx(t), openai.ChatCompletionNewParams{Model: "llama",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		if res.err != nil || res.text == "" {
			t.Fatalf("stream after the picker failed closed: %+v", res)
		}
		if cloud.Count() == 0 {
			t.Fatal("the cloud provider saw nothing")
		}
	})
}

// TestInferencePoolExample runs examples/inference-pool.yaml as it is: with
// a TLS picker (self-signed) at EPP_ADDRESS, then with the built-in picker.
func TestInferencePoolExample(t *testing.T) {
	a, b := startSim(t, "127.0.0.1", 0), startSim(t, "127.0.0.1", 0)
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: []string{b, a}} }}
	epp := eppfake.Start(t, fake, eppfake.SelfSigned(t))
	for _, tt := range []struct {
		name, epp string
		want      []string
	}{{"external picker over TLS", epp, []string{b}}, {"built-in picker", "", []string{a, b}}} {
		t.Run(tt.name, func(t *testing.T) {
			port := testutil.FreePort(t)
			g := runGateway(t, []string{"run", "-c", mustAbs(t, "../../examples/inference-pool.yaml")},
				[]string{"PORT=" + strconv.Itoa(port), "POOL_ENDPOINTS=" + a + "," + b, "EPP_ADDRESS=" + tt.epp, "EPP_TLS=true"})
			g.Port = port
			t.Cleanup(func() { checkGatewayHealth(t, g) })
			for i := range 4 {
				status, served, _, body := poolChat(t, g, fmt.Sprint("hello ", i))
				if status != 200 || !slices.Contains(tt.want, served) {
					t.Fatalf("%d served by %q, want one of %v: %s", status, served, tt.want, body)
				}
			}
		})
	}
	if len(fake.Served()) != 4 {
		t.Errorf("the TLS picker was told of %d served requests, want 4", len(fake.Served()))
	}
}

// TestInferencePoolWalksListAndHints: the picker's list is walked in order
// past an endpoint that refuses connections, and the next request's subset
// hint leaves that endpoint out.
func TestInferencePoolWalksListAndHints(t *testing.T) {
	sim := startSim(t, "127.0.0.1", 0)
	dead := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: []string{dead, sim}} }}
	epp := eppfake.Start(t, fake, nil)
	g := startAIGateway(t, poolYAML("{name: pool}", fmt.Sprintf(`
  - name: pool
    inferencePool:
      endpoints: ["%s", "%s"]
      endpointPicker: {address: "%s"}
`, dead, sim, epp)))
	for i := range 2 {
		status, served, _, body := poolChat(t, g, "hi")
		if status != 200 || served != sim {
			t.Fatalf("request %d: %d served by %q, want 200 from %s: %s", i, status, served, sim, body)
		}
	}
	seen := fake.Seen()
	if len(seen) != 2 || seen[0].Subset != nil || !slices.Equal(seen[1].Subset, []string{sim}) {
		t.Fatalf("subset hints %v then %v, want none then [%s]", seen[0].Subset, seen[len(seen)-1].Subset, sim)
	}
}

// TestInferencePoolRouteSubset: a rule that restricts a pool to some of its
// endpoints sends them as the subset hint, and only they serve.
func TestInferencePoolRouteSubset(t *testing.T) {
	a, b := startSim(t, "127.0.0.1", 0), startSim(t, "127.0.0.1", 0)
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: []string{a, b}} }}
	epp := eppfake.Start(t, fake, nil)
	g := startAIGateway(t, poolYAML(fmt.Sprintf("{name: pool, endpoints: [%q]}", b), fmt.Sprintf(`
  - name: pool
    inferencePool:
      endpoints: ["%s", "%s"]
      endpointPicker: {address: "%s"}
`, a, b, epp)))
	for i := range 3 {
		status, served, _, body := poolChat(t, g, "hi")
		if status != 200 || served != b {
			t.Fatalf("request %d: %d served by %q, want 200 from %s: %s", i, status, served, b, body)
		}
	}
	for _, s := range fake.Seen() {
		if !slices.Equal(s.Subset, []string{b}) {
			t.Fatalf("subset hint %v, want [%s]", s.Subset, b)
		}
	}
}
