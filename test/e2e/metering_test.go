package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

const (
	aliceKey = "sk-e2e-alice-0123456789abcdef"
	bobKey   = "sk-e2e-bob-0123456789abcdef00"
)

// meteringYAML is a metered route over the sim: alice has a token rate
// limit, bob a money budget; extra is appended to the access block.
func meteringYAML(sim, access string) string {
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
    ai: {provider: sim, models: [gpt-4o-mini], sim: {` + sim + `}}
access:
  prices:
    gpt-4o-mini: {input: 0.15, output: 0.60}
  consumers:
    - name: alice
      keys: [{id: alice, value: ` + aliceKey + `}]
      limits: [{tokens: 1000, per: minute}]
    - name: bob
      keys: [{id: bob, value: ` + bobKey + `}]
      budgets: [{usd: 0.0001, period: day}]
` + access
}

// chat sends one chat request with key and returns the response.
func chat(t testing.TB, g *gateway, key string, maxTokens int, stream bool) *http.Response {
	t.Helper()
	body := fmt.Sprintf(`{"model":"gpt-4o-mini","max_tokens":%d,"stream":%v,"messages":[{"role":"user","content":"Say something."}]}`, maxTokens, stream)
	req := newRequest(t, http.MethodPost, g.URL("/v1/chat/completions"), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// drain reads and closes a response body, returning it.
func drain(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return string(b)
}

func TestMeteringTokenLimit(t *testing.T) {
	g := startAIGateway(t, meteringYAML("outputTokens: 300", ""), "SWITCHYARD_DATA_DIR="+t.TempDir())
	// Each request reserves and uses its prompt (10 tokens) and max_tokens
	// 300: three fit in 1000 tokens per minute, the fourth does not.
	var last *http.Response
	for i := 1; i <= 4; i++ {
		last = chat(t, g, aliceKey, 300, false)
		body := drain(last)
		if i < 4 && last.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, last.StatusCode, body)
		}
		for _, h := range []string{"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"} {
			if last.Header.Get(h) == "" {
				t.Fatalf("request %d: no %s header", i, h)
			}
		}
		if i == 4 {
			if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
				t.Fatalf("request 4: %d (Retry-After %q) %s", last.StatusCode, last.Header.Get("Retry-After"), body)
			}
			var e struct {
				Error struct{ Type, Code, Message string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "rate_limit_exceeded" || !strings.Contains(e.Error.Message, "consumer alice") {
				t.Fatalf("request 4 error body: %s", body)
			}
		}
	}
	if got := last.Header.Get("x-ratelimit-limit-tokens"); got != "1000" {
		t.Fatalf("x-ratelimit-limit-tokens = %q", got)
	}
	// The official client sees a 429 APIError.
	c := sdkClient(g, aliceKey)
	_, err := c.Chat.Completions.New(callCtx(t), openai.ChatCompletionNewParams{Model: "gpt-4o-mini", MaxTokens: openai.Int(300),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say something.")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("sdk error = %v, want a 429", err)
	}
}

func TestMeteringBadCredentials(t *testing.T) {
	g := startAIGateway(t, meteringYAML("", ""), "SWITCHYARD_DATA_DIR="+t.TempDir())
	tests := []struct{ name, auth, want string }{
		{"missing", "", "Missing credentials"},
		{"forged", "Bearer sk-e2e-forged-0000000000000", "Incorrect API key"},
		{"malformed", "Basic YWxpY2U6", "Authorization header must be"},
		{"jwt alg none", "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSJ9.", "Incorrect API key"},
		{"huge", "Bearer " + strings.Repeat("x", 8000), "Incorrect API key"},
		{"expired-looking jwt", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln", "Incorrect API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, g.URL("/v1/chat/completions"), strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := drain(resp)
			if resp.StatusCode != 401 || !strings.Contains(body, tc.want) || !strings.Contains(body, `"invalid_request_error"`) {
				t.Fatalf("%d %s; want 401 with %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

func TestMeteringMoneyBudget(t *testing.T) {
	// bob's $0.0001 a day; a request of 10 prompt + 50 output tokens costs
	// 10*0.15 + 50*0.60 = 31.5 microdollars: three fit ($0.0000945), the fourth does not.
	g := startAIGateway(t, meteringYAML("outputTokens: 50", ""), "SWITCHYARD_DATA_DIR="+t.TempDir())
	for i := 1; i <= 4; i++ {
		resp := chat(t, g, bobKey, 50, false)
		body := drain(resp)
		want := 200
		if i == 4 {
			want = 429
		}
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		if i == 4 && !strings.Contains(body, "budget_exceeded") {
			t.Fatalf("request 4: %s", body)
		}
	}
	// The consumer's remaining budget says the same.
	var st struct {
		Limits []struct {
			Unit      string
			Remaining float64
		}
	}
	getJSON(t, "http://"+g.Admin+"/consumers/bob", &st)
	if len(st.Limits) != 1 || st.Limits[0].Unit != "usd" || st.Limits[0].Remaining > 0.0001-3*31.5e-6+1e-12 {
		t.Fatalf("bob's limits: %+v", st.Limits)
	}
}

func TestMeteringConcurrentBudget(t *testing.T) {
	// Room for exactly 10 requests; 50 at once admit at most 10: every
	// reservation covers its request's whole cost, so none can overrun.
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	g2 := startAIGateway(t, strings.Replace(meteringYAML("outputTokens: 50, timeToFirstToken: 50ms", ""), "usd: 0.0001", "usd: 0.000315", 1),
		"SWITCHYARD_DATA_DIR="+t.TempDir())
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := chat(t, g2, bobKey, 50, false)
			drain(resp)
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != 40 {
		t.Fatalf("admitted %d, refused %d; want 10 and 40", ok.Load(), refused.Load())
	}
}

func TestMeteringStreamCutCharges(t *testing.T) {
	// A 200-token stream at 10ms a token; the client leaves after a few
	// chunks: what the upstream generated is charged, not nothing (the
	// gateway reads the rest of the stream for its usage, as the provider
	// bills it).
	g := startAIGateway(t, meteringYAML("outputTokens: 200, interTokenLatency: 10ms", ""), "SWITCHYARD_DATA_DIR="+t.TempDir())
	resp := chat(t, g, aliceKey, 200, true)
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d %s", resp.StatusCode, drain(resp))
	}
	r := bufio.NewReader(resp.Body)
	chunks := 0
	for chunks < 20 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: {") {
			chunks++
		}
	}
	_ = resp.Body.Close()
	// The usage record shows the estimated output; alice's bucket was charged it.
	var usage struct {
		Usage []struct{ OutputTokens, InputTokens int64 }
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		getJSON(t, "http://"+g.Admin+"/usage?consumer=alice", &usage)
		return len(usage.Usage) == 1 && usage.Usage[0].OutputTokens >= 20
	}, "a usage record for the cut stream")
	out := usage.Usage[0].OutputTokens
	if out > 200 {
		t.Fatalf("charged %d output tokens for a 200-token stream", out)
	}
	var st struct {
		Limits []struct{ Remaining float64 }
	}
	getJSON(t, "http://"+g.Admin+"/consumers/alice", &st)
	// alice's bucket was charged the prompt and out; it refills 1000 a
	// minute, so a few seconds give back at most about 100.
	if used := 1000 - st.Limits[0].Remaining; len(st.Limits) != 1 || used > float64(10+out) || used < float64(10+out)-100 {
		t.Fatalf("alice's remaining tokens after the cut stream: %+v", st.Limits)
	}
}

func TestMeteringKeysCommand(t *testing.T) {
	g := startAIGateway(t, meteringYAML("", ""), "SWITCHYARD_DATA_DIR="+t.TempDir())
	keys := func(args ...string) (string, error) {
		out, err := exec.Command(binary, append([]string{"keys"}, append(args, "--admin", g.Admin)...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	key, err := keys("create", "--consumer", "alice", "--name", "laptop")
	if err != nil || !strings.HasPrefix(key, "sk-sy-") {
		t.Fatalf("keys create: %q %v", key, err)
	}
	c := openai.NewClient(option.WithBaseURL(g.URL("/v1")), option.WithAPIKey(key), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", MaxTokens: openai.Int(5),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	if _, err := c.Chat.Completions.New(callCtx(t), params); err != nil {
		t.Fatalf("the new key is refused: %v", err)
	}
	list, err := keys("list", "--consumer", "alice")
	if err != nil || !strings.Contains(list, "laptop") || strings.Contains(list, key) {
		t.Fatalf("keys list: %v\n%s", err, list)
	}
	var id string
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "laptop") {
			id = strings.Fields(line)[0]
		}
	}
	if out, err := keys("revoke", id); err != nil {
		t.Fatalf("keys revoke %s: %v %s", id, err, out)
	}
	_, err = c.Chat.Completions.New(callCtx(t), params)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("the revoked key: %v, want 401", err)
	}
	// A key of the configuration cannot be revoked through the API.
	if out, err := keys("revoke", "alice"); err == nil {
		t.Fatalf("revoked a configured key: %s", out)
	}
}

// getJSON decodes a GET's JSON answer into v.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := drain(resp)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

func TestMeteringReusedRequestID(t *testing.T) {
	// A client that sends the same x-request-id on every request still
	// gets one usage record per request: the record's id is the
	// gateway's, not the client's (a reused id once made the store skip
	// every record after the first).
	g := startAIGateway(t, meteringYAML("", ""), "SWITCHYARD_DATA_DIR="+t.TempDir())
	const n = 3
	for range n {
		body := `{"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
		req := newRequest(t, http.MethodPost, g.URL("/v1/chat/completions"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+aliceKey)
		req.Header.Set("x-request-id", "same-id-every-time")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if b := drain(resp); resp.StatusCode != 200 {
			t.Fatalf("chat: %d %s", resp.StatusCode, b)
		}
	}
	var usage struct {
		Usage []struct{ Requests int64 }
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		getJSON(t, "http://"+g.Admin+"/usage?consumer=alice", &usage)
		return len(usage.Usage) == 1 && usage.Usage[0].Requests == n
	}, fmt.Sprintf("%d usage records for %d requests with one x-request-id", n, n))
}
