package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
	contentKey = []byte(`"content":"`)
)

// do sends one request whose latency counts from t0 and records it when it
// completes inside the window. It reports whether the request succeeded.
func (g *gen) do(ctx context.Context, r *recorder, t0 time.Time) bool {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(g.uri)
	req.Header.SetMethod(g.o.Method)
	for _, h := range g.o.Headers {
		req.Header.Set(h[0], h[1])
	}
	if g.o.Body != nil {
		req.Header.SetContentType("application/json")
		if g.o.JSONRPC {
			req.SetBodyRaw(rpcBody(g.o.Body, g.rpcID.Add(1)))
		} else {
			req.SetBodyRaw(g.o.Body)
		}
	}
	err := g.client.DoDeadline(req, resp, t0.Add(g.o.Timeout))
	if err != nil {
		if ctx.Err() != nil {
			return true // the run ended: not a target failure
		}
		g.fail(r, time.Now(), fmt.Errorf("request: %w", err))
		return false
	}
	status := resp.StatusCode()
	r.answeredAll++
	if status >= 200 && status < 300 {
		r.servedAll++
	}
	var s streamStats
	if g.o.Stream {
		s, err = readStream(ctx, resp, t0)
		_ = resp.CloseBodyStream()
	} else {
		r.bytesIn += int64(len(resp.Body()))
	}
	end := time.Now()
	if !g.win.in(end) {
		return err == nil && status < 400
	}
	r.statuses[status]++
	if err != nil {
		g.fail(r, end, fmt.Errorf("read stream: %w", err))
		return false
	}
	if status >= 400 {
		g.fail(r, end, fmt.Errorf("status %d: %.200s", status, resp.Body()))
		return false
	}
	if g.o.JSONRPC && bytes.Contains(resp.Body(), []byte(`"error":`)) {
		g.fail(r, end, fmt.Errorf("json-rpc error: %.200s", resp.Body()))
		return false
	}
	if g.o.Stream && s.chunks == 0 {
		g.fail(r, end, fmt.Errorf("stream without content chunks"))
		return false
	}
	r.ok++
	g.ok.Add(1)
	r.lat = append(r.lat, end.Sub(t0))
	if g.o.Stream {
		r.ttft = append(r.ttft, s.ttft)
		r.gaps = append(r.gaps, s.gaps...)
		r.chunks += int64(s.chunks)
		if g.o.ExpectChunks > 1 && g.o.ChunkGap > 0 {
			want := time.Duration(g.o.ExpectChunks-1) * g.o.ChunkGap
			r.spread = append(r.spread, float64(s.last.Sub(s.first))/float64(want))
		}
	}
	return true
}

func (g *gen) fail(r *recorder, at time.Time, err error) {
	if !g.win.in(at) {
		return
	}
	r.errs++
	g.errs.Add(1)
	r.lastErr = err.Error()
}

type streamStats struct {
	ttft        time.Duration
	gaps        []time.Duration
	chunks      int
	first, last time.Time
}

// readStream reads an SSE body, timing each event that carries content,
// until [DONE], the end of the body or the end of the run.
func readStream(ctx context.Context, resp *fasthttp.Response, t0 time.Time) (streamStats, error) {
	var s streamStats
	var src io.Reader = resp.BodyStream()
	if src == nil {
		src = bytes.NewReader(resp.Body())
	}
	br := bufio.NewReaderSize(src, 8<<10)
	for {
		line, err := br.ReadSlice('\n')
		if bytes.HasPrefix(line, dataPrefix) {
			if bytes.Contains(line, doneMarker) {
				return s, nil
			}
			if bytes.Contains(line, contentKey) {
				now := time.Now()
				if s.chunks == 0 {
					s.ttft, s.first = now.Sub(t0), now
				} else {
					s.gaps = append(s.gaps, now.Sub(s.last))
				}
				s.last = now
				s.chunks++
			}
		}
		if ctx.Err() != nil {
			return s, nil // the run is over: stop reading (the connection is closed)
		}
		if err == bufio.ErrBufferFull {
			continue // an over-long line: skip the rest of it
		}
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, err
		}
	}
}

// progress writes one line a second until ctx ends.
func (g *gen) progress(ctx context.Context, start time.Time) {
	if g.o.Progress == nil {
		return
	}
	tk := time.NewTicker(time.Second)
	defer tk.Stop()
	var prev int64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			ok := g.ok.Load()
			phase := "measure"
			if now.Before(g.win.from) {
				phase = "warmup"
			}
			fmt.Fprintf(g.o.Progress, "loadgen: %4.0fs %-7s ok=%d (+%d/s) errors=%d dropped=%d\n",
				now.Sub(start).Seconds(), phase, ok, ok-prev, g.errs.Load(), g.schedDropped.Load())
			prev = ok
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// procMeter samples the server processes over the window.
type procMeter struct {
	procs   []Proc
	cpu0    []float64
	res     []ProcResult
	started chan struct{}
	done    chan struct{}
}

func newProcMeter(procs []Proc) *procMeter {
	m := &procMeter{procs: procs, cpu0: make([]float64, len(procs)), res: make([]ProcResult, len(procs)),
		started: make(chan struct{}), done: make(chan struct{})}
	for i, p := range procs {
		m.res[i] = ProcResult{Name: p.Name, PID: p.PID}
		if mem, err := ReadMemory(p.PID); err == nil {
			m.res[i].RSSBeforeBytes = mem.RSS
		}
	}
	return m
}

// run opens the window at from, samples VmRSS every 50ms and closes the
// window (CPU and HWM read) when ctx ends.
func (m *procMeter) run(ctx context.Context, from time.Time) {
	defer close(m.done)
	if !sleepCtx(ctx, time.Until(from)) {
		return
	}
	for i, p := range m.procs {
		m.cpu0[i], _ = CPUSeconds(p.PID)
		mem, _ := ReadMemory(p.PID)
		m.res[i].RSSStartBytes, m.res[i].RSSPeakBytes = mem.RSS, mem.RSS
	}
	close(m.started)
	tk := time.NewTicker(50 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			for i, p := range m.procs {
				if c, err := CPUSeconds(p.PID); err == nil {
					m.res[i].CPUSeconds = c - m.cpu0[i]
				}
				mem, _ := ReadMemory(p.PID)
				m.res[i].HWMBytes = mem.HWM
				m.res[i].RSSPeakBytes = max(m.res[i].RSSPeakBytes, mem.RSS)
			}
			return
		case <-tk.C:
			for i, p := range m.procs {
				if mem, err := ReadMemory(p.PID); err == nil {
					m.res[i].RSSPeakBytes = max(m.res[i].RSSPeakBytes, mem.RSS)
				}
			}
		}
	}
}

// finish waits for the meter and returns its results (nil when the window
// never opened).
func (m *procMeter) finish() []ProcResult {
	<-m.done
	select {
	case <-m.started:
		return m.res
	default:
		return nil
	}
}

// rpcBody returns body with its first "id":1 replaced by id.
func rpcBody(body []byte, id uint64) []byte {
	i := bytes.Index(body, []byte(`"id":1`))
	if i < 0 {
		return body
	}
	out := make([]byte, 0, len(body)+20)
	out = append(out, body[:i+5]...)
	out = strconv.AppendUint(out, id, 10)
	return append(out, body[i+6:]...)
}
