package sim

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// gather returns the value of metric name for model_name model (-1 if absent).
func gather(t *testing.T, reg *prometheus.Registry, name, model string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "model_name" && l.GetValue() == model {
					if g := m.GetGauge(); g != nil {
						return g.GetValue()
					}
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

func TestMetricsUnderConcurrency(t *testing.T) {
	a := NewAdapter(counter, WithKVCacheTokens(1000))
	reg := prometheus.NewRegistry()
	if err := a.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := a.Register(reg); err != nil {
		t.Errorf("second Register: %v", err)
	}
	cfg := config.SimConfig{TimeToFirstToken: config.Duration(150 * time.Millisecond), OutputTokens: 4, MaxRunning: 1}
	const model = "sim-model"
	req := userChat(model, "hello world")
	prompt := counter.CountChat(req)

	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := a.Do(context.Background(), schema.OpChat, backend(cfg), nil, userChat(model, "hello world"), nil); err != nil {
				t.Errorf("Do: %v", err)
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		running, waiting := gather(t, reg, "vllm:num_requests_running", model), gather(t, reg, "vllm:num_requests_waiting", model)
		if running == 1 && waiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw 1 running and 2 waiting: running %v waiting %v", running, waiting)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if kv := gather(t, reg, "vllm:kv_cache_usage_perc", model); kv <= 0 || kv > 1 {
		t.Errorf("kv cache usage %v while running, want in (0,1]", kv)
	}
	wg.Wait()

	tests := []struct {
		name, metric string
		want         float64
	}{
		{"running drained", "vllm:num_requests_running", 0},
		{"waiting drained", "vllm:num_requests_waiting", 0},
		{"kv freed", "vllm:kv_cache_usage_perc", 0},
		{"prompt tokens", "vllm:prompt_tokens_total", float64(3 * prompt)},
		{"generation tokens", "vllm:generation_tokens_total", 3 * 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gather(t, reg, tt.metric, model); got != tt.want {
				t.Errorf("%s = %v, want %v", tt.metric, got, tt.want)
			}
		})
	}
}

func TestWaitingCanceled(t *testing.T) {
	a := NewAdapter(counter)
	m := a.models.get("x")
	if err := m.acquire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := m.acquire(ctx, 1); err == nil {
		t.Fatal("second acquire succeeded past MaxRunning 1")
	}
	if r, w, _ := a.Stats("x"); r != 1 || w != 0 {
		t.Errorf("running %d waiting %d, want 1 and 0", r, w)
	}
	m.release(1)
	if r, _, _ := a.Stats("x"); r != 0 {
		t.Errorf("running %d after release", r)
	}
}

func TestModelNamesBounded(t *testing.T) {
	a := NewAdapter(counter)
	for i := range maxModels + 10 {
		a.models.get(string(rune('a'+i%26)) + string(rune(i)))
	}
	if n := len(a.models.names()); n > maxModels+1 {
		t.Errorf("%d model names tracked, want at most %d", n, maxModels+1)
	}
}
