// Package load is the load generator of the benchmarks: closed-loop and
// open-loop (coordinated-omission-free) HTTP load, SSE streaming with time to
// first token and inter-chunk gaps, and the CPU and memory of server processes
// read from /proc during the run.
package load

import (
	"math"
	"slices"
	"time"
)

// Dist summarises a set of durations in milliseconds.
type Dist struct {
	// Count is the number of samples.
	Count int `json:"count"`
	// Mean, P50, P90, P99 and Max are in milliseconds.
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// Summarize computes the distribution of samples. It sorts samples in place.
func Summarize(samples []time.Duration) Dist {
	if len(samples) == 0 {
		return Dist{}
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += ms(s)
	}
	return Dist{
		Count: len(samples),
		Mean:  sum / float64(len(samples)),
		P50:   ms(Percentile(samples, 50)),
		P90:   ms(Percentile(samples, 90)),
		P99:   ms(Percentile(samples, 99)),
		Max:   ms(samples[len(samples)-1]),
	}
}

// Percentile returns the p-th percentile (nearest rank) of sorted samples, or
// 0 when there are none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// recorder collects the samples of one worker; merged at the end, so workers
// never share memory while the load runs.
type recorder struct {
	lat      []time.Duration
	ttft     []time.Duration
	gaps     []time.Duration
	spread   []float64 // per stream: (last chunk - first chunk) / expected
	ok       int64
	errs     int64
	dropped  int64
	chunks   int64
	bytesIn  int64
	lastErr  string
	statuses map[int]int64
	// servedAll and answeredAll count 2xx responses and all responses over
	// the whole run (warm-up and requests that end after the window too).
	servedAll, answeredAll int64
}

func newRecorder() *recorder { return &recorder{statuses: map[int]int64{}} }

func (r *recorder) merge(o *recorder) {
	r.lat = append(r.lat, o.lat...)
	r.ttft = append(r.ttft, o.ttft...)
	r.gaps = append(r.gaps, o.gaps...)
	r.spread = append(r.spread, o.spread...)
	r.ok += o.ok
	r.errs += o.errs
	r.dropped += o.dropped
	r.chunks += o.chunks
	r.bytesIn += o.bytesIn
	r.servedAll += o.servedAll
	r.answeredAll += o.answeredAll
	if o.lastErr != "" {
		r.lastErr = o.lastErr
	}
	for k, v := range o.statuses {
		r.statuses[k] += v
	}
}
