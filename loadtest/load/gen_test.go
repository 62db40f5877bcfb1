package load

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/loadtest/fake"
)

// startFake serves the fake upstream on loopback and returns its address.
func startFake(t *testing.T, cfg fake.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fake.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: f.Handle}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return ln.Addr().String()
}

func TestRun(t *testing.T) {
	addr := startFake(t, fake.Config{Chunks: 5, Gap: 2 * time.Millisecond})
	url := "http://" + addr + "/v1/chat/completions"
	tests := []struct {
		name  string
		opts  Options
		check func(t *testing.T, r *Result)
	}{
		{name: "closed loop", opts: Options{URL: url, Body: ChatBody("m", false, 1024), Conns: 4,
			Procs: []Proc{{Name: "self", PID: os.Getpid()}}},
			check: func(t *testing.T, r *Result) {
				if r.Mode != "closed" || r.Requests < 10 || r.Errors != 0 || r.Statuses["200"] != r.Requests {
					t.Fatalf("result %+v", r)
				}
				if len(r.Procs) != 1 || r.Procs[0].RSSPeakBytes <= 0 {
					t.Fatalf("procs %+v", r.Procs)
				}
			}},
		{name: "open loop at 200/s", opts: Options{URL: url, Body: ChatBody("m", false, 100), Open: true, Rate: 200, Conns: 8},
			check: func(t *testing.T, r *Result) {
				// 200/s over 500ms: about 100 requests, none dropped.
				if r.Mode != "open" || r.Requests < 80 || r.Requests > 120 || r.Dropped != 0 {
					t.Fatalf("requests %d dropped %d", r.Requests, r.Dropped)
				}
			}},
		{name: "stream", opts: Options{URL: url, Body: ChatBody("m", true, 100), Conns: 2, Stream: true,
			ExpectChunks: 5, ChunkGap: 2 * time.Millisecond},
			check: func(t *testing.T, r *Result) {
				if r.Requests == 0 || r.Chunks != 5*r.Requests || r.TTFT.Count != int(r.Requests) {
					t.Fatalf("requests %d chunks %d ttft %+v err %q", r.Requests, r.Chunks, r.TTFT, r.LastError)
				}
				if r.ChunkGap.P50 < 1.5 || r.SpreadRatio < 0.7 {
					t.Fatalf("gap %+v spread %v: chunks not spread in time", r.ChunkGap, r.SpreadRatio)
				}
			}},
		{name: "errors counted", opts: Options{URL: "http://" + addr + "/stats", Method: "GET", Conns: 1, Stream: true},
			check: func(t *testing.T, r *Result) {
				if r.Errors == 0 || r.Requests != 0 || r.LastError == "" {
					t.Fatalf("errors %d requests %d", r.Errors, r.Requests)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Duration, tt.opts.Warmup = 500*time.Millisecond, 100*time.Millisecond
			r, err := Run(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "https", opts: Options{URL: "https://x/", Duration: time.Second}},
		{name: "no duration", opts: Options{URL: "http://127.0.0.1:1/"}},
		{name: "open without rate", opts: Options{URL: "http://127.0.0.1:1/", Open: true, Duration: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tt.opts); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
