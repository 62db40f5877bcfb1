package inference

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchyard-ai/switchyard/config"
)

// The model-server metrics the built-in picker reads.
const (
	metricWaiting = "vllm:num_requests_waiting"
	metricRunning = "vllm:num_requests_running"
	metricKV      = "vllm:kv_cache_usage_perc"
	metricKVOld   = "vllm:gpu_cache_usage_perc"
)

// scrapeFailures is how many failed scrapes in a row take an endpoint out.
const scrapeFailures = 3

// maxMetricsBytes bounds one scraped /metrics page.
const maxMetricsBytes = 4 << 20

// builtin is the gateway's own picker: it scrapes every endpoint's vllm:*
// metrics on an interval (when scrape is set) and orders the endpoints by
// load, the prefix's preferred endpoint first while it is not much busier
// than the least loaded. Without scraping (an external picker's FailOpen
// fallback) the load is the gateway's own requests in flight.
type builtin struct {
	p           *Pool
	cfg         *config.BuiltinPicker
	prefixBytes int
	client      *http.Client
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	hashes      []uint64 // each endpoint's hash, for rendezvous hashing
}

func newBuiltin(p *Pool, cfg *config.BuiltinPicker, scrape bool) *builtin {
	if cfg == nil {
		cfg = &config.BuiltinPicker{}
	}
	b := &builtin{p: p, cfg: cfg, hashes: make([]uint64, len(p.addrs))}
	if cfg.PrefixAffinity == nil || *cfg.PrefixAffinity {
		b.prefixBytes = cfg.PrefixBytes
	}
	for i, a := range p.addrs {
		b.hashes[i] = hashBytes([]byte(a))
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	if !scrape {
		return b
	}
	interval := cfg.Interval.D()
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	b.client = &http.Client{Timeout: max(interval, time.Second), Transport: scrapeTransport(p.cfg.AppProtocol)}
	path := cfg.MetricsPath
	if path == "" {
		path = "/metrics"
	}
	for i, a := range p.addrs {
		b.wg.Add(1)
		go b.scrapeLoop(ctx, i, "http://"+a+path, interval)
	}
	return b
}

// scrapeTransport speaks the pool's appProtocol to its servers' metrics
// endpoints: h2c with prior knowledge for an h2c pool (its servers may
// speak nothing else), net/http's default transport (HTTP/1.1) otherwise.
func scrapeTransport(appProtocol string) http.RoundTripper {
	if appProtocol != config.AppProtocolH2C {
		return nil
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	return &http.Transport{Protocols: &protos, IdleConnTimeout: 90 * time.Second}
}

func (b *builtin) stop() {
	b.cancel()
	b.wg.Wait()
	if b.client != nil {
		b.client.CloseIdleConnections()
		// A pool that replaces this one under the same name sets its own
		// figures again at its next scrape.
		for _, a := range b.p.addrs {
			b.p.metrics.unscraped(b.p.name, a)
		}
	}
}

// scrapeLoop scrapes endpoint i until ctx ends.
func (b *builtin) scrapeLoop(ctx context.Context, i int, url string, interval time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	failures := 0
	for {
		if err := b.scrape(ctx, i, url); err != nil && ctx.Err() == nil {
			// A server that does not answer its metrics scrapeFailures times
			// in a row is avoided until it does: one slow answer is not a
			// dead server.
			if failures++; failures >= scrapeFailures {
				st := &b.p.stats[i]
				if st.scraped.Swap(false) || failures == scrapeFailures {
					b.p.metrics.unscraped(b.p.name, b.p.addrs[i])
					b.p.log.Warn("inference: model server metrics unavailable", "pool", b.p.name, "endpoint", b.p.addrs[i], "err", err.Error())
				}
				st.downUntil.Store(time.Now().Add(interval * 2).UnixNano())
			}
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scrape reads one endpoint's metrics into its stats.
func (b *builtin) scrape(ctx context.Context, i int, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	w, r, kv, err := parseLoad(io.LimitReader(resp.Body, maxMetricsBytes))
	if err != nil {
		return err
	}
	st := &b.p.stats[i]
	st.waiting.Store(int64(w))
	st.running.Store(int64(r))
	st.kv.Store(int64(math.Round(kv * 1000)))
	b.p.metrics.scraped(b.p.name, b.p.addrs[i], w, r, kv)
	if !st.scraped.Swap(true) {
		st.downUntil.Store(0)
	}
	return nil
}

// parseLoad reads the queue depth, running requests and KV-cache use (0 to
// 1) from a Prometheus text page, summed over label sets (models, adapters);
// absent series count as zero.
func parseLoad(r io.Reader) (waiting, running, kv float64, err error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("metrics: %w", err)
	}
	sum := func(name string) (float64, bool) {
		f := fams[name]
		if f == nil {
			return 0, false
		}
		var s float64
		for _, m := range f.GetMetric() {
			s += value(m)
		}
		return s, true
	}
	// A server exports a model's series once it served it: none yet is no load.
	waiting, _ = sum(metricWaiting)
	running, _ = sum(metricRunning)
	kv, okKV := sum(metricKV)
	if !okKV {
		kv, _ = sum(metricKVOld)
	}
	return waiting, running, min(max(kv, 0), 1), nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// load is endpoint i's score, lower is better: requests queued at the
// server, the gateway's own requests in flight to it (fresher than any
// scrape), and its KV-cache use (a full cache queues what comes next).
func (b *builtin) load(i int) float64 {
	st := &b.p.stats[i]
	return 2*float64(st.waiting.Load()) + float64(st.inflight.Load()) + 4*float64(st.kv.Load())/1000
}

// affinitySlack is how much busier than the least loaded endpoint the
// prefix's endpoint may be and still be preferred: its cached prefix saves
// more than a short wait costs, a queue does not.
func affinitySlack(least float64) float64 { return 2 + least/2 }

// order returns the endpoints for r: up before down, the pick first, then
// by load.
func (b *builtin) order(r *Request) []string {
	p := b.p
	now := time.Now().UnixNano()
	n := len(p.addrs)
	type cand struct {
		i    int
		load float64
		down bool
	}
	cands := make([]cand, 0, n)
	start := int(p.rr.Add(1) % uint64(n)) // ties go round robin
	for k := range n {
		i := (start + k) % n
		if r.Subset != nil && !inSubset(p.addrs[i], r.Subset) {
			continue
		}
		cands = append(cands, cand{i: i, load: b.load(i), down: !p.up(i, now)})
	}
	less := func(a, c cand) bool {
		if a.down != c.down {
			return !a.down
		}
		return a.load < c.load
	}
	for x := 1; x < len(cands); x++ { // stable insertion sort: pools are small
		for y := x; y > 0 && less(cands[y], cands[y-1]); y-- {
			cands[y], cands[y-1] = cands[y-1], cands[y]
		}
	}
	if len(cands) > 1 && b.prefixBytes > 0 {
		if h, ok := prefixHash(r.Body, b.prefixBytes); ok {
			best, bestScore := -1, uint64(0)
			for k, c := range cands {
				if c.down {
					continue
				}
				if s := mix(h ^ b.hashes[c.i]); best < 0 || s > bestScore {
					best, bestScore = k, s
				}
			}
			if best > 0 && cands[best].load <= cands[0].load+affinitySlack(cands[0].load) {
				c := cands[best]
				copy(cands[1:best+1], cands[:best])
				cands[0] = c
			}
		}
	}
	out := make([]string, len(cands))
	for k, c := range cands {
		out[k] = p.addrs[c.i]
	}
	return out
}
