package ai

import (
	"bufio"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// sseAnswer is what the fake upstream of the stream benchmarks sends: two
// chunks, the usage-only chunk the gateway asked for, and [DONE].
const sseAnswer = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n" +
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n" +
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n" +
	"data: [DONE]\n\n"

// firstWrite is the client side of a benchmarked stream: it records when the
// first byte was written to it.
type firstWrite struct {
	at time.Time
	n  int
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.n == 0 {
		w.at = time.Now()
	}
	w.n += len(p)
	return len(p), nil
}

// BenchmarkStreamTTFB sends streamed chats through Frontend.Serve to a
// fasthttp fake upstream on loopback that answers the whole SSE stream at
// once, and writes the response as fasthttp's server would. It reports the
// median time from Serve to the first byte written to the client (ttfb-ns);
// ns/op is the whole stream.
func BenchmarkStreamTTFB(b *testing.B) {
	fe := benchFrontend(b, "text/event-stream", []byte(sseAnswer))
	route := Route{Key: "default.r.0.0", Refs: []config.BackendRef{{Name: "default/oa"}}}
	body := []byte(streamChat)
	ttfb := make([]time.Duration, 0, b.N)
	var ctx fasthttp.RequestCtx
	var w firstWrite
	bw := bufio.NewWriter(&w)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v1/chat/completions")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBody(body)
		w = firstWrite{}
		start := time.Now()
		fe.Serve(&ctx, route)
		// fasthttp's server: the response (headers, then the body stream, one
		// flushed chunk per event) is written after the handler returns.
		if err := ctx.Response.Write(bw); err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		if ctx.Response.StatusCode() != 200 || w.n == 0 {
			b.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), w.n)
		}
		ttfb = append(ttfb, w.at.Sub(start))
	}
	b.StopTimer()
	slices.Sort(ttfb)
	b.ReportMetric(float64(ttfb[len(ttfb)/2].Nanoseconds()), "ttfb-ns")
}

// BenchmarkStreamsHeld holds 1,000 streams open through a real fasthttp
// server and the front end, against an upstream that sends one chunk and
// then waits, and reports the Go heap and stacks in use per open stream
// (after a GC) and goroutines per stream. The figures include the
// in-process fake upstream (net/http: one goroutine and two buffers per
// connection) and the client's connections, which do not change between
// versions of the front end.
func BenchmarkStreamsHeld(b *testing.B) {
	const n = 1000
	for i := 0; i < b.N; i++ {
		perStream, goroutines := holdStreams(b, n)
		b.ReportMetric(perStream, "B/stream")
		b.ReportMetric(goroutines, "goroutines/stream")
	}
}

func holdStreams(b *testing.B, n int) (perStream, goroutines float64) {
	b.StopTimer()
	up := newStallingUpstream(b, 1)
	h := newHarness(b, []backendSpec{{name: "oa", ai: config.AIBackend{Provider: "openai", BaseURL: up.URL,
		Models: []string{"gpt-4o-mini"}, Auth: config.BackendAuth{APIKey: "k"}, MaxConnections: 2 * n,
		StreamIdleTimeout: config.Duration(3 * time.Second)}}}, Options{})
	// Warm up pools and the upstream's connection handling with one stream.
	warm, err := net.Dial("tcp", h.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer warm.Close()
	if err := readFirstEvent(warm); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	b.StartTimer()
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range conns {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readFirstEvent(c)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	if path := os.Getenv("HELD_HEAP_PROFILE"); path != "" { // heap of the open streams
		if f, err := os.Create(path); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
	}
	inUse := func(m *runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
	perStream = (inUse(&after) - inUse(&before)) / float64(n)
	b.ReportMetric((float64(after.StackInuse)-float64(before.StackInuse))/float64(n), "stack-B/stream")
	goroutines = float64(g1-g0) / float64(n)
	for _, c := range conns {
		_ = c.Close()
	}
	// The streams end at their idle timeout (the upstream sends nothing more).
	testutil.Eventually(b, 10*time.Second, func() bool { return len(h.rec.ch) >= n }, "not every stream ended")
	b.StartTimer()
	return perStream, goroutines
}

// readFirstEvent sends a streamed chat on c and reads until its first SSE
// data line; the connection stays open.
func readFirstEvent(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(streamChat), streamChat); err != nil {
		return err
	}
	// Read byte by byte: nothing beyond the first event may be buffered here.
	var line strings.Builder
	one := make([]byte, 1)
	for {
		if _, err := io.ReadFull(c, one); err != nil {
			return fmt.Errorf("read first event: %w", err)
		}
		if one[0] != '\n' {
			line.WriteByte(one[0])
			continue
		}
		if strings.HasPrefix(line.String(), "data: ") {
			return nil
		}
		line.Reset()
	}
}
