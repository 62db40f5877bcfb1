package inference

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// metricsServer serves vllm:* metrics with a settable queue depth.
type metricsServer struct {
	*httptest.Server
	waiting atomic.Int64
	kv      atomic.Int64 // per mille
}

func newMetricsServer(t *testing.T) *metricsServer {
	m := &metricsServer{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"m\"} %d\n"+
			"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 1\n"+
			"# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{model_name=\"m\"} %g\n",
			m.waiting.Load(), float64(m.kv.Load())/1000)
	}))
	t.Cleanup(m.Close)
	return m
}

func builtinPool(t *testing.T, servers ...*metricsServer) *Pool {
	t.Helper()
	var eps []string
	for _, s := range servers {
		eps = append(eps, strings.TrimPrefix(s.URL, "http://"))
	}
	p, err := New("default/pool", &config.InferencePool{Endpoints: eps,
		Picker: &config.BuiltinPicker{Interval: config.Duration(20 * time.Millisecond), PrefixBytes: 256}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func waitScraped(t *testing.T, p *Pool, i int, waiting int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.stats[i].waiting.Load() != waiting || !p.stats[i].scraped.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %d: waiting %d never scraped", i, waiting)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBuiltinSkew: new requests go away from a server with a queue, and
// from one the gateway already keeps busy.
func TestBuiltinSkew(t *testing.T) {
	busy, idle := newMetricsServer(t), newMetricsServer(t)
	busy.waiting.Store(8)
	p := builtinPool(t, busy, idle)
	waitScraped(t, p, 0, 8)
	idleAddr := strings.TrimPrefix(idle.URL, "http://")
	for i := range 20 {
		d, err := p.Pick(context.Background(), chatRequest(fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"%d"}]}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		if d.Endpoints[0] != idleAddr {
			t.Fatalf("request %d went to %s, the server with 8 queued", i, d.Endpoints[0])
		}
		if len(d.Endpoints) != 2 {
			t.Fatalf("order %v lacks the busy server as the fallback", d.Endpoints)
		}
		d.Close()
	}
	// In flight through the gateway counts before any scrape sees it.
	busy.waiting.Store(0)
	waitScraped(t, p, 0, 0)
	var held []*Decision
	counts := map[string]int{}
	for i := range 10 {
		d, _ := p.Pick(context.Background(), chatRequest(fmt.Sprintf(`{"model":"m","prompt":"%d"}`, i)))
		counts[d.Endpoints[0]]++
		held = append(held, d)
	}
	for _, d := range held {
		d.Close()
	}
	if counts[idleAddr] != 5 {
		t.Errorf("10 concurrent requests to two idle servers split %v, want 5 and 5", counts)
	}
}

// TestBuiltinPrefixAffinity: requests that share a long prefix land on one
// server; different prefixes spread; a much busier server loses its prefix.
func TestBuiltinPrefixAffinity(t *testing.T) {
	servers := []*metricsServer{newMetricsServer(t), newMetricsServer(t), newMetricsServer(t)}
	p := builtinPool(t, servers...)
	for i := range servers {
		waitScraped(t, p, i, 0)
	}
	system := strings.Repeat("You are a careful assistant. ", 20)
	target := ""
	for turn := range 12 {
		body := fmt.Sprintf(`{"model":"m","messages":[{"role":"system","content":%q},{"role":"user","content":"question %d"}]}`, system, turn)
		d, _ := p.Pick(context.Background(), chatRequest(body))
		if target == "" {
			target = d.Endpoints[0]
		} else if d.Endpoints[0] != target {
			t.Fatalf("turn %d went to %s, the conversation's prefix is on %s", turn, d.Endpoints[0], target)
		}
		d.Close()
	}
	spread := map[string]bool{}
	for i := range 30 {
		body := fmt.Sprintf(`{"model":"m","messages":[{"role":"system","content":"%d %s"}]}`, i, system)
		d, _ := p.Pick(context.Background(), chatRequest(body))
		spread[d.Endpoints[0]] = true
		d.Close()
	}
	if len(spread) != 3 {
		t.Errorf("30 different prefixes reached %d servers, want 3", len(spread))
	}
	i := p.index[target]
	servers[i].waiting.Store(20)
	waitScraped(t, p, i, 20)
	body := fmt.Sprintf(`{"model":"m","messages":[{"role":"system","content":%q},{"role":"user","content":"again"}]}`, system)
	d, _ := p.Pick(context.Background(), chatRequest(body))
	defer d.Close()
	if d.Endpoints[0] == target {
		t.Errorf("the prefix stayed on %s with 20 queued", target)
	}
}

func TestParseLoad(t *testing.T) {
	tests := []struct {
		name     string
		page     string
		w, r, kv float64
		wantErr  bool
	}{
		{name: "vllm", page: "vllm:num_requests_waiting{model_name=\"a\"} 2\nvllm:num_requests_waiting{model_name=\"b\"} 3\n" +
			"vllm:num_requests_running 4\nvllm:kv_cache_usage_perc 0.5\n", w: 5, r: 4, kv: 0.5},
		{name: "older kv name", page: "vllm:num_requests_waiting 1\nvllm:gpu_cache_usage_perc 0.25\n", w: 1, kv: 0.25},
		{name: "no series yet", page: "up 1\n"},
		{name: "garbage", page: "{{{", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r, kv, err := parseLoad(strings.NewReader(tt.page))
			if (err != nil) != tt.wantErr || w != tt.w || r != tt.r || kv != tt.kv {
				t.Errorf("got %v %v %v %v", w, r, kv, err)
			}
		})
	}
}

// TestBuiltinLoadMetrics: the built-in picker's view of each server is
// exported as it scrapes it, and dropped when the server's metrics stop
// answering and when the pool closes.
func TestBuiltinLoadMetrics(t *testing.T) {
	up, down := newMetricsServer(t), newMetricsServer(t)
	up.waiting.Store(3)
	up.kv.Store(250)
	reg := prometheus.NewRegistry()
	eps := []string{strings.TrimPrefix(up.URL, "http://"), strings.TrimPrefix(down.URL, "http://")}
	p, err := New("default/pool", &config.InferencePool{Endpoints: eps,
		Picker: &config.BuiltinPicker{Interval: config.Duration(20 * time.Millisecond)}}, Options{Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// load returns the endpoint's three gauges (absent: -1).
	load := func(ep string) [3]float64 {
		out := [3]float64{-1, -1, -1}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			k := slices.Index([]string{"switchyard_inference_endpoint_requests_waiting",
				"switchyard_inference_endpoint_requests_running", "switchyard_inference_endpoint_kv_cache_usage_ratio"}, mf.GetName())
			if k < 0 {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["pool"] == "default/pool" && labels["endpoint"] == ep {
					out[k] = m.GetGauge().GetValue()
				}
			}
		}
		return out
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return load(eps[0]) == [3]float64{3, 1, 0.25} }, "the scraped load of the first server")
	testutil.Eventually(t, 5*time.Second, func() bool { return load(eps[1]) == [3]float64{0, 1, 0} }, "the scraped load of the second server")
	down.Close()
	testutil.Eventually(t, 5*time.Second, func() bool { return load(eps[1]) == [3]float64{-1, -1, -1} }, "the load of a server whose metrics are gone to be dropped")
	if got := load(eps[0]); got != [3]float64{3, 1, 0.25} {
		t.Errorf("the live server's load: %v", got)
	}
	p.Close()
	if got := load(eps[0]); got != [3]float64{-1, -1, -1} {
		t.Errorf("after the pool closed: %v, want no series", got)
	}
}
