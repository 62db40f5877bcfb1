package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Proc names a server process whose CPU and memory the generator measures.
type Proc struct {
	// Name labels the process in the results.
	Name string
	// PID is its process id.
	PID int
}

// Options describe one load run.
type Options struct {
	// URL is the full target URL, http only (e.g. http://127.0.0.1:8080/v1/chat/completions).
	URL string
	// Method defaults to POST when Body is set, else GET.
	Method string
	// Body is sent with every request (shared, never modified).
	Body []byte
	// JSONRPC sends Body with its first `"id":1` replaced by a request id of
	// its own (the ids of one session's requests in flight must differ), and
	// counts an answer holding a JSON-RPC error as a failure.
	JSONRPC bool
	// Headers are set on every request, as name/value pairs.
	Headers [][2]string
	// Open selects the open loop (a fixed Rate); otherwise each of Conns
	// connections sends back to back (closed loop).
	Open bool
	// Conns is the number of connections (closed loop) or of sending workers (open loop).
	Conns int
	// Rate is the request rate of the open loop, per second.
	Rate float64
	// Deadline drops an open-loop request not sent within Deadline of its
	// intended time (default 1s); the drop is counted.
	Deadline time.Duration
	// Stream reads responses as SSE: time to first content chunk and gaps.
	Stream bool
	// ExpectChunks and ChunkGap, when set, give the expected spread of a
	// stream's chunks, to tell a relayed stream from a buffered one.
	ExpectChunks int
	ChunkGap     time.Duration
	// Warmup runs before the measured window; its results are discarded.
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// RampUp spreads the start of the connections over this time.
	RampUp time.Duration
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// Procs are measured (CPU, RSS) over the window.
	Procs []Proc
	// Progress receives a line per second while the load runs (nil: none).
	Progress io.Writer
}

// Result is the outcome of a run, as written in JSON.
type Result struct {
	URL         string  `json:"url"`
	Mode        string  `json:"mode"`
	Conns       int     `json:"conns"`
	Rate        float64 `json:"rate,omitempty"`
	Stream      bool    `json:"stream"`
	BodyBytes   int     `json:"body_bytes"`
	WindowSec   float64 `json:"window_seconds"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"errors"`
	Dropped     int64   `json:"dropped"`
	Throughput  float64 `json:"throughput_rps"`
	Latency     Dist    `json:"latency"`
	TTFT        Dist    `json:"ttft,omitzero"`
	ChunkGap    Dist    `json:"chunk_gap,omitzero"`
	Chunks      int64   `json:"chunks,omitempty"`
	SpreadRatio float64 `json:"spread_ratio,omitempty"`
	// Statuses counts the response statuses in the window.
	Statuses map[string]int64 `json:"statuses"`
	// ServedAll counts the 2xx responses over the whole run, warm-up and
	// requests that ended after the window included (every request is
	// waited for before the run returns): what the server served, to
	// compare with what it recorded. AnsweredAll counts every response.
	ServedAll   int64        `json:"served_all"`
	AnsweredAll int64        `json:"answered_all"`
	LastError   string       `json:"last_error,omitempty"`
	Procs       []ProcResult `json:"procs,omitempty"`
}

// window is the measured interval; samples completed outside it are dropped.
type window struct{ from, to time.Time }

func (w window) in(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

// Run applies the load described by o until the window closes or ctx ends.
func Run(ctx context.Context, o Options) (*Result, error) {
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("load: bad URL %q: want http://host:port/path", o.URL)
	}
	if o.Conns <= 0 {
		o.Conns = 1
	}
	if o.Open && o.Rate <= 0 {
		return nil, errors.New("load: the open loop needs a positive rate")
	}
	if o.Duration <= 0 {
		return nil, errors.New("load: the duration must be positive")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Deadline <= 0 {
		o.Deadline = time.Second
	}
	if o.Method == "" {
		o.Method = fasthttp.MethodGet
		if o.Body != nil {
			o.Method = fasthttp.MethodPost
		}
	}
	client := &fasthttp.HostClient{
		Addr:                          u.Host,
		MaxConns:                      o.Conns,
		MaxConnWaitTimeout:            o.Timeout,
		ReadTimeout:                   o.Timeout,
		WriteTimeout:                  o.Timeout,
		StreamResponseBody:            o.Stream,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		MaxResponseBodySize:           64 << 20,
		ReadBufferSize:                16 << 10,
	}
	g := &gen{o: o, client: client, uri: u.String()}
	start := time.Now()
	g.win = window{from: start.Add(o.Warmup), to: start.Add(o.Warmup + o.Duration)}
	runCtx, cancel := context.WithDeadline(ctx, g.win.to)
	defer cancel()

	meter := newProcMeter(o.Procs)
	go meter.run(runCtx, g.win.from)
	go g.progress(runCtx, start)

	recs := make([]*recorder, o.Conns)
	var wg sync.WaitGroup
	var ticks chan time.Time
	if o.Open {
		ticks = make(chan time.Time, int(o.Rate*o.Deadline.Seconds())+o.Conns)
		wg.Add(1)
		go func() { defer wg.Done(); g.schedule(runCtx, start, ticks) }()
	}
	for i := range recs {
		recs[i] = newRecorder()
		delay := time.Duration(0)
		if o.RampUp > 0 {
			delay = o.RampUp * time.Duration(i) / time.Duration(o.Conns)
		}
		wg.Add(1)
		go func(r *recorder) {
			defer wg.Done()
			if delay > 0 && !sleepCtx(runCtx, delay) {
				return
			}
			if o.Open {
				g.openWorker(runCtx, r, ticks)
			} else {
				g.closedWorker(runCtx, r)
			}
		}(recs[i])
	}
	wg.Wait()
	procs := meter.finish()

	all := newRecorder()
	for _, r := range recs {
		all.merge(r)
	}
	all.dropped += g.schedDropped.Load()
	return g.result(all, procs), nil
}

type gen struct {
	o            Options
	client       *fasthttp.HostClient
	uri          string
	win          window
	ok, errs     atomic.Int64
	schedDropped atomic.Int64
	// rpcID numbers JSON-RPC requests (Options.JSONRPC).
	rpcID atomic.Uint64
}

func (g *gen) result(all *recorder, procs []ProcResult) *Result {
	o := g.o
	res := &Result{
		URL: o.URL, Mode: "closed", Conns: o.Conns, Stream: o.Stream, BodyBytes: len(o.Body),
		WindowSec: o.Duration.Seconds(), Requests: all.ok, Errors: all.errs, Dropped: all.dropped,
		Throughput: float64(all.ok) / o.Duration.Seconds(),
		Latency:    Summarize(all.lat), TTFT: Summarize(all.ttft), ChunkGap: Summarize(all.gaps),
		Chunks: all.chunks, Statuses: map[string]int64{}, LastError: all.lastErr, Procs: procs,
		ServedAll: all.servedAll, AnsweredAll: all.answeredAll,
	}
	if o.Open {
		res.Mode, res.Rate = "open", o.Rate
	}
	if len(all.spread) > 0 {
		res.SpreadRatio = median(all.spread)
	}
	for k, v := range all.statuses {
		res.Statuses[strconv.Itoa(k)] = v
	}
	for i := range res.Procs {
		if all.ok > 0 {
			res.Procs[i].CPUPerRequestUS = res.Procs[i].CPUSeconds / float64(all.ok) * 1e6
		}
	}
	return res
}

// closedWorker sends requests back to back on its connection.
func (g *gen) closedWorker(ctx context.Context, r *recorder) {
	for ctx.Err() == nil {
		t0 := time.Now()
		if !g.do(ctx, r, t0) {
			sleepCtx(ctx, 10*time.Millisecond) // do not spin on a failing target
		}
	}
}

// openWorker sends at the intended times it receives; latency counts from
// the intended time, and a request later than the deadline is dropped.
func (g *gen) openWorker(ctx context.Context, r *recorder, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-ticks:
			if time.Since(t) > g.o.Deadline {
				if g.win.in(t) {
					r.dropped++
				}
				continue
			}
			g.do(ctx, r, t)
		}
	}
}

// schedule emits the intended send times of the open loop, start + i/Rate,
// catching up after a late wake-up rather than skipping.
func (g *gen) schedule(ctx context.Context, start time.Time, ticks chan<- time.Time) {
	interval := time.Duration(float64(time.Second) / g.o.Rate)
	next := start
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for {
		now := time.Now()
		for !next.After(now) {
			select {
			case ticks <- next:
			default: // every worker busy and the queue full: the request is lost
				if g.win.in(next) {
					g.schedDropped.Add(1)
				}
			}
			next = next.Add(interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
