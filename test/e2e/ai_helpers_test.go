package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"
)

// aiCallTimeout bounds one SDK call against the gateway.
const aiCallTimeout = 15 * time.Second

// sdkClient returns a real OpenAI Go SDK client pointed at the gateway, with
// no retries so that every error reaches the test.
func sdkClient(g *gateway, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(g.URL("/v1")), option.WithAPIKey(key),
		option.WithMaxRetries(0), option.WithRequestTimeout(aiCallTimeout))
}

// callCtx returns a context bounded by aiCallTimeout.
func callCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), aiCallTimeout)
	t.Cleanup(cancel)
	return ctx
}

// weatherTool is the tool every tool-call test offers.
func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Current weather in a city"),
		Parameters: openai.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string", "description": "the city"}},
			"required":   []string{"city"},
		},
	})
}

// streamResult is everything a client collected from one stream.
type streamResult struct {
	chunks      int    // every chunk received
	text        string // content deltas joined
	finish      string // the last non-empty finish_reason
	usageChunks int    // chunks carrying a usage object
	usageLast   bool   // the (only) usage chunk was the last chunk, with no choices
	usage       openai.CompletionUsage
	toolID      string // tool call 0, reassembled
	toolName    string
	toolArgs    string
	toolIndexes map[int64]bool
	err         error
}

// collectStream drains a streamed chat completion.
func collectStream(c openai.Client, ctx context.Context, p openai.ChatCompletionNewParams) streamResult {
	st := c.Chat.Completions.NewStreaming(ctx, p)
	defer st.Close()
	r := streamResult{toolIndexes: map[int64]bool{}}
	var text, args strings.Builder
	for st.Next() {
		ch := st.Current()
		r.chunks++
		raw := ch.RawJSON()
		hasUsage := gjson.Get(raw, "usage").IsObject()
		r.usageLast = false
		if hasUsage {
			r.usageChunks++
			r.usage = ch.Usage
			r.usageLast = len(ch.Choices) == 0
		}
		for _, choice := range ch.Choices {
			text.WriteString(choice.Delta.Content)
			if choice.FinishReason != "" {
				r.finish = choice.FinishReason
			}
			for _, tc := range choice.Delta.ToolCalls {
				r.toolIndexes[tc.Index] = true
				if tc.Index != 0 {
					continue
				}
				if tc.ID != "" {
					r.toolID = tc.ID
				}
				if tc.Function.Name != "" {
					r.toolName = tc.Function.Name
				}
				args.WriteString(tc.Function.Arguments)
			}
		}
	}
	r.err = st.Err()
	r.text, r.toolArgs = text.String(), args.String()
	return r
}

// metricSeries is one sample of a Prometheus text exposition.
type metricSeries struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads every sample of the gateway's /metrics.
func (g *gateway) scrape(t testing.TB) []metricSeries {
	t.Helper()
	resp, err := http.Get("http://" + g.Admin + "/metrics")
	if err != nil {
		t.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	var out []metricSeries
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, ok := parseSample(line)
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// parseSample parses `name{a="b",c="d"} value`; label values here never hold `",`.
func parseSample(line string) (metricSeries, bool) {
	s := metricSeries{labels: map[string]string{}}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return s, false
		}
		s.name, rest = line[:i], strings.TrimSpace(line[j+1:])
		for _, kv := range strings.Split(line[i+1:j], `",`) {
			k, v, ok := strings.Cut(kv, `="`)
			if !ok {
				continue
			}
			s.labels[strings.TrimSpace(k)] = strings.TrimSuffix(v, `"`)
		}
	} else {
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			return s, false
		}
		s.name, rest = name, v
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return s, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, false
	}
	s.value = v
	return s, true
}

// sumMetric adds the samples named name whose labels include want.
func sumMetric(all []metricSeries, name string, want map[string]string) float64 {
	total := 0.0
	for _, s := range all {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			total += s.value
		}
	}
	return total
}

// usageLedger accumulates, per (operation, model), the usage the clients saw.
type usageLedger map[string]*usageTotals

type usageTotals struct {
	inCount, outCount int
	inSum, outSum     int64
}

func ledgerKey(op, model string) string { return op + "|" + model }

// add records one response's usage.
func (l usageLedger) add(op, model string, prompt, completion int64) {
	k := ledgerKey(op, model)
	if l[k] == nil {
		l[k] = &usageTotals{}
	}
	u := l[k]
	if prompt > 0 {
		u.inCount++
		u.inSum += prompt
	}
	if completion > 0 {
		u.outCount++
		u.outSum += completion
	}
}

// check compares the ledger with gen_ai_client_token_usage for provider
// (label names from policies/metrics.go).
func (l usageLedger) check(t *testing.T, g *gateway, provider string) {
	t.Helper()
	all := g.scrape(t)
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		op, model, _ := strings.Cut(k, "|")
		u := l[k]
		for _, side := range []struct {
			typ   string
			count int
			sum   int64
		}{{"input", u.inCount, u.inSum}, {"output", u.outCount, u.outSum}} {
			labels := map[string]string{"gen_ai_operation_name": op, "gen_ai_provider_name": provider,
				"gen_ai_request_model": model, "gen_ai_token_type": side.typ}
			count := sumMetric(all, "gen_ai_client_token_usage_count", labels)
			sum := sumMetric(all, "gen_ai_client_token_usage_sum", labels)
			if int(count) != side.count || int64(sum) != side.sum {
				t.Errorf("gen_ai_client_token_usage %s: count %v sum %v, want count %d sum %d (what the clients saw)",
					fmtLabels(labels), count, sum, side.count, side.sum)
			}
		}
		if u.inCount == 0 && op == "chat" {
			t.Errorf("%s %s: the clients saw no prompt tokens", provider, model)
		}
	}
}

func fmtLabels(m map[string]string) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// aiGatewayYAML is a gateway on loopback with one AI route over refs.
func aiGatewayYAML(backends string, refs ...string) string {
	var r []string
	for _, name := range refs {
		r = append(r, fmt.Sprintf("{name: %s}", name))
	}
	return fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    rules:
      - backendRefs: [%s]
backends:
%s`, strings.Join(r, ", "), backends)
}

// startAIGateway starts a gateway and, when the test ends, fails it if the
// (race-enabled) binary reported a data race or a panic in its logs.
func startAIGateway(t *testing.T, cfg string, env ...string) *gateway {
	t.Helper()
	g := startGateway(t, cfg, env...)
	t.Cleanup(func() { checkGatewayHealth(t, g) })
	return g
}

// checkGatewayHealth fails t when the gateway's logs show a data race or a panic.
func checkGatewayHealth(t *testing.T, g *gateway) {
	logs := g.Logs()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if i := strings.Index(logs, bad); i >= 0 {
			end := min(len(logs), i+6000)
			t.Errorf("gateway logged %q:\n%s", bad, logs[i:end])
		}
	}
}
