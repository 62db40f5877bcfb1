package policies

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestMetricsDone(t *testing.T) {
	start := time.Now().Add(-2 * time.Second)
	tests := []struct {
		name      string
		x         Exchange
		u         schema.Usage
		wantTTFT  int
		wantToken int // observations of gen_ai_client_token_usage
		want      string
	}{
		{name: "chat stream", x: Exchange{Backend: "default/openai", Provider: "openai", Model: "gpt-4o", Operation: schema.OpChat,
			Stream: true, Status: 200, Start: start, FirstByte: start.Add(100 * time.Millisecond)},
			u: schema.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}, wantTTFT: 1, wantToken: 2,
			want: `switchyard_ai_requests_total{backend="default/openai",model="gpt-4o",status="200"} 1`},
		{name: "embeddings no output", x: Exchange{Backend: "default/emb", Provider: "azure", Model: "e", Operation: schema.OpEmbeddings,
			Status: 200, Start: start}, u: schema.Usage{PromptTokens: 3, TotalTokens: 3}, wantToken: 1,
			want: `switchyard_ai_requests_total{backend="default/emb",model="e",status="200"} 1`},
		{name: "error without usage", x: Exchange{Operation: schema.OpChat, Status: 400, Start: start},
			want: `switchyard_ai_requests_total{backend="",model="",status="400"} 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			c := NewChain(m)
			var rs Reservations
			if err := c.Observe(context.Background(), &tt.x, &rs); err != nil {
				t.Fatal(err)
			}
			rs.Settle(context.Background(), &tt.x, tt.u)
			got := gather(t, reg)
			if reqs := got["switchyard_ai_requests_total"]; len(reqs) != 1 || reqs[0] != tt.want {
				t.Errorf("requests = %v, want [%s]", reqs, tt.want)
			}
			if n := len(got["gen_ai_server_time_to_first_token"]); n != tt.wantTTFT {
				t.Errorf("ttft series = %d, want %d", n, tt.wantTTFT)
			}
			if n := len(got["gen_ai_client_token_usage"]); n != tt.wantToken {
				t.Errorf("token series = %d, want %d", n, tt.wantToken)
			}
			if n := len(got["gen_ai_server_request_duration"]); n != 1 {
				t.Errorf("duration series = %d, want 1", n)
			}
		})
	}
}

func TestMetricsTokenLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Settle(context.Background(), &Exchange{Provider: "openai", Model: "m", Operation: schema.OpChat, Status: 200, Start: time.Now()},
		schema.Usage{PromptTokens: 7, CompletionTokens: 2})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "gen_ai_client_token_usage" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["gen_ai_operation_name"] != "chat" || labels["gen_ai_provider_name"] != "openai" || labels["gen_ai_request_model"] != "m" {
				t.Errorf("labels = %v", labels)
			}
			found[labels["gen_ai_token_type"]] = true
			if mt.GetHistogram().GetSampleSum() == 0 {
				t.Error("empty histogram")
			}
		}
	}
	if !found["input"] || !found["output"] {
		t.Errorf("token types = %v, want input and output", found)
	}
}

// gather renders each series as name{label="v",...} value (counters) or
// name{...} count (histograms).
func gather(t *testing.T, reg *prometheus.Registry) map[string][]string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			var v float64
			if mf.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			} else {
				v = float64(m.GetHistogram().GetSampleCount())
			}
			out[mf.GetName()] = append(out[mf.GetName()], mf.GetName()+"{"+strings.Join(ls, ",")+"} "+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return out
}

// TestMetricsModelCardinality: client-chosen model names (a catch-all
// backend) cannot grow the label values without bound, and hostile names
// (huge, not UTF-8) neither panic nor become labels.
func TestMetricsModelCardinality(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	done := func(model string, listed bool) {
		m.Settle(context.Background(), &Exchange{Backend: "default/any", Provider: "openai", Model: model, ModelListed: listed,
			Operation: schema.OpChat, Status: 200, Start: time.Now()}, schema.Usage{PromptTokens: 1, CompletionTokens: 1})
	}
	for i := 0; i < 10*MaxUnlistedModels; i++ {
		done("client-model-"+strconv.Itoa(i), false)
	}
	done(strings.Repeat("x", 1<<20), false)
	done("bad\xff", false)
	done("bad\xff", true)
	done("gpt-4o", true)
	models := map[string]bool{}
	for _, s := range gather(t, reg)["switchyard_ai_requests_total"] {
		i := strings.Index(s, `model="`)
		models[s[i+7:i+7+strings.IndexByte(s[i+7:], '"')]] = true
	}
	if len(models) != MaxUnlistedModels+2 {
		t.Errorf("model label values = %d, want %d", len(models), MaxUnlistedModels+2)
	}
	if !models[OtherModel] || !models["gpt-4o"] || !models["client-model-0"] || models["client-model-"+strconv.Itoa(MaxUnlistedModels)] {
		t.Errorf("labels: other %v, gpt-4o %v, first %v", models[OtherModel], models["gpt-4o"], models["client-model-0"])
	}
}

// TestMetricsCachedSeries: the children cached per label values count each
// exchange in its own series, however the exchanges interleave, and a series
// appears only once observed.
func TestMetricsCachedSeries(t *testing.T) {
	type call struct {
		backend, provider, model string
		op                       schema.Operation
		status                   int
		stream                   bool
	}
	tests := []struct {
		name  string
		calls []call
		want  map[string][]string // sorted series per metric
	}{
		{name: "repeats and interleaving",
			calls: []call{
				{"default/a", "openai", "m1", schema.OpChat, 200, false},
				{"default/b", "azure", "m1", schema.OpChat, 200, false},
				{"default/a", "openai", "m1", schema.OpChat, 200, false},
				{"default/a", "openai", "m1", schema.OpChat, 502, false},
				{"default/a", "openai", "m2", schema.OpEmbeddings, 200, false},
			},
			want: map[string][]string{
				"switchyard_ai_requests_total": {
					`switchyard_ai_requests_total{backend="default/a",model="m1",status="200"} 2`,
					`switchyard_ai_requests_total{backend="default/a",model="m1",status="502"} 1`,
					`switchyard_ai_requests_total{backend="default/a",model="m2",status="200"} 1`,
					`switchyard_ai_requests_total{backend="default/b",model="m1",status="200"} 1`,
				},
				"gen_ai_server_request_duration": {
					`gen_ai_server_request_duration{gen_ai_operation_name="chat",gen_ai_provider_name="azure",gen_ai_request_model="m1"} 1`,
					`gen_ai_server_request_duration{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="m1"} 3`,
					`gen_ai_server_request_duration{gen_ai_operation_name="embeddings",gen_ai_provider_name="openai",gen_ai_request_model="m2"} 1`,
				},
			}},
		{name: "ttft only once a stream is seen",
			calls: []call{
				{"default/a", "openai", "m1", schema.OpChat, 200, false},
				{"default/a", "openai", "m1", schema.OpChat, 200, true},
			},
			want: map[string][]string{
				"gen_ai_server_time_to_first_token": {
					`gen_ai_server_time_to_first_token{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="m1"} 1`,
				},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			start := time.Now()
			for _, c := range tt.calls {
				x := &Exchange{Backend: c.backend, Provider: c.provider, Model: c.model, ModelListed: true,
					Operation: c.op, Status: c.status, Stream: c.stream, Start: start}
				if c.stream {
					x.FirstByte = start.Add(time.Millisecond)
				}
				m.Settle(context.Background(), x, schema.Usage{})
			}
			got := gather(t, reg)
			for name, want := range tt.want {
				g := slices.Clone(got[name])
				slices.Sort(g)
				if !slices.Equal(g, want) {
					t.Errorf("%s:\n got %q\nwant %q", name, g, want)
				}
			}
		})
	}
}

// BenchmarkMetricsDone is the per-exchange cost of the metrics policy on a
// non-streamed chat with usage.
func BenchmarkMetricsDone(b *testing.B) {
	m := NewMetrics(prometheus.NewRegistry())
	x := &Exchange{Backend: "default/fake", Provider: "openai-compatible", Model: "gpt-4o-mini", ModelListed: true,
		Operation: schema.OpChat, Status: 200, Start: time.Now()}
	u := schema.Usage{PromptTokens: 25, CompletionTokens: 12, TotalTokens: 37}
	b.ReportAllocs()
	for b.Loop() {
		m.Settle(context.Background(), x, u)
	}
}
