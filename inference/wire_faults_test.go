package inference

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// TestWireHandOff: three requests wait on one connection; the picker
// answers the first two together and the third later. The third is read
// (by whichever request reads next), not left until its timeout.
func TestWireHandOff(t *testing.T) {
	fake := &eppfake.Picker{Choose: func(s eppfake.Seen) eppfake.Answer {
		a := eppfake.Answer{Endpoints: poolEndpoints[:1]}
		if s.Headers["x-late"] != "" {
			a.Delay = 40 * time.Millisecond
		} else {
			a.Delay = 10 * time.Millisecond
		}
		return a
	}}
	pool := newTimedPool(t, eppfake.Start(t, fake, nil), "FailClose", nil, 3*time.Second)
	// One P: a request woken for its answer does not run before the reader
	// hands its role off, the picker's answers go out together.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for trial := range 20 {
		var wg sync.WaitGroup
		for i := range 3 {
			r := chatRequest(`{"model":"m"}`)
			if i == 2 {
				r.Headers = append(r.Headers, Header{Name: "x-late", Value: "1"})
			}
			wg.Go(func() {
				t0 := time.Now()
				d, err := pool.Pick(context.Background(), r)
				if err != nil {
					t.Errorf("trial %d, request %d: %v", trial, i, err)
					return
				}
				d.Close()
				if el := time.Since(t0); el > time.Second {
					t.Errorf("trial %d, request %d: answered after %s (left to its timeout)", trial, i, el)
				}
			})
			time.Sleep(time.Millisecond)
		}
		wg.Wait()
	}
}

// hungServed answers decisions and never answers the served report (or,
// with answerServed, answers it and never ends the stream); it records
// when a stream's context ends (the gateway reset it).
type hungServed struct {
	extprocv3.UnimplementedExternalProcessorServer
	answerServed bool
	ended        atomic.Int32
}

func (h *hungServed) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	defer h.ended.Add(1)
	for {
		req, err := stream.Recv()
		if err != nil {
			return err
		}
		switch req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
				RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{
					SetHeaders: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: HeaderDestination, RawValue: []byte(poolEndpoints[0])}}}}}}}}); err != nil {
				return err
			}
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			if h.answerServed {
				if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{
					ResponseHeaders: &extprocv3.HeadersResponse{}}}); err != nil {
					return err
				}
			}
			<-stream.Context().Done()
			return stream.Context().Err()
		}
	}
}

// TestWireServedTimeout: a served report the picker never answers ends
// with the timeout and resets the stream: the picker's handler ends, and
// the connection keeps no stream.
func TestWireServedTimeout(t *testing.T) {
	h := &hungServed{}
	ln := listen(t, "127.0.0.1:0")
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, h)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	pool := newTimedPool(t, ln.Addr().String(), "FailClose", nil, 100*time.Millisecond)
	for range 3 {
		d, err := pool.Pick(context.Background(), &Request{Method: "GET", Path: "/v1/models"})
		if err != nil {
			t.Fatal(err)
		}
		if hs := d.Served(context.Background(), d.Endpoints[0], 200, ""); hs != nil {
			t.Errorf("served answer %v from a picker that gives none", hs)
		}
		d.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for h.ended.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.ended.Load(); n != 3 {
		t.Errorf("%d of 3 picker streams ended", n)
	}
	for _, c := range wireConns(pool) {
		if idle, _ := c.idle(); !idle {
			t.Errorf("the connection still holds streams")
		}
	}
}

// TestWireLingerReset: a picker that answers the served report and never
// ends the stream (no trailers) gets it reset after the linger: neither
// its handler nor the connection's stream table keeps it.
func TestWireLingerReset(t *testing.T) {
	h := &hungServed{answerServed: true}
	ln := listen(t, "127.0.0.1:0")
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, h)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	pool := newTimedPool(t, ln.Addr().String(), "FailClose", nil, time.Second)
	pool.ext.conn.wire.linger = 100 * time.Millisecond
	for range 3 {
		d, err := pool.Pick(context.Background(), &Request{Method: "GET", Path: "/v1/models"})
		if err != nil {
			t.Fatal(err)
		}
		d.Served(context.Background(), d.Endpoints[0], 200, "")
		d.Close()
	}
	deadline := time.Now().Add(3 * wirePoll)
	for h.ended.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.ended.Load(); n != 3 {
		t.Errorf("%d of 3 picker streams without trailers were reset", n)
	}
	for _, c := range wireConns(pool) {
		if idle, _ := c.idle(); !idle {
			t.Errorf("the connection still holds streams without trailers")
		}
	}
}

// deafPicker is an HTTP/2 server that grants every window and then reads
// nothing more: a picker frozen mid-request.
func deafPicker(t *testing.T) string {
	t.Helper()
	ln := listen(t, "127.0.0.1:0")
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			fr := http2.NewFramer(c, c)
			_ = fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
			_ = fr.WriteWindowUpdate(0, 1<<31-1-65535)
		}
	}()
	return ln.Addr().String()
}

// TestWireWriteDeadline: a request body the picker does not read fails the
// request at its timeout (FailOpen then chooses), and a request behind it
// on the same connection is not held either.
func TestWireWriteDeadline(t *testing.T) {
	pool := newTimedPool(t, deafPicker(t), "FailOpen", nil, 500*time.Millisecond)
	var wg sync.WaitGroup
	for _, size := range []int{64 << 20, 10} {
		wg.Go(func() {
			t0 := time.Now()
			d, err := pool.Pick(context.Background(), &Request{Method: "POST", Path: "/v1/completions", Body: bytes.Repeat([]byte{'x'}, size)})
			if err != nil || !d.FailedOpen {
				t.Errorf("%d bytes: %+v, %v; want the gateway's choice", size, d, err)
			}
			if el := time.Since(t0); el > 3*time.Second {
				t.Errorf("%d bytes: decided after %s, the timeout being 500ms", size, el)
			}
		})
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
}

// TestWirePingDuringLongWait: a picker with keepalive pings (grpc-go's
// shortest: after 1 s without traffic, 2 s to answer) keeps its
// connection through a decision that takes longer than both: the pings
// are answered while the request waits.
func TestWirePingDuringLongWait(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 3.5 s")
	}
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer {
		return eppfake.Answer{Endpoints: poolEndpoints[:1], Delay: 3500 * time.Millisecond}
	}}
	ln := listen(t, "127.0.0.1:0")
	serve(t, ln, fake, grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Second, Timeout: 2 * time.Second}))
	pool := newTimedPool(t, ln.Addr().String(), "FailClose", nil, 6*time.Second)
	d, err := pool.Pick(context.Background(), chatRequest(`{"model":"m"}`))
	if err != nil {
		t.Fatalf("pick: %v", err)
	}
	d.Close()
}

// freezer forwards TCP connections to a target until freeze: from then on
// the connections it carries forward nothing (their bytes are dropped, as
// a host gone without a word would), while new connections forward again.
type freezer struct {
	mu     sync.Mutex
	frozen map[net.Conn]bool
	all    []net.Conn
}

func startFreezer(t *testing.T, target string) (*freezer, string) {
	t.Helper()
	ln := listen(t, "127.0.0.1:0")
	f := &freezer{frozen: map[net.Conn]bool{}}
	t.Cleanup(func() {
		_ = ln.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, c := range f.all {
			_ = c.Close()
		}
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			f.mu.Lock()
			f.all = append(f.all, in, out)
			f.mu.Unlock()
			go f.pipe(in, out, in)
			go f.pipe(out, in, in)
		}
	}()
	return f, ln.Addr().String()
}

// pipe copies src to dst while key's connection is not frozen.
func (f *freezer) pipe(src, dst, key net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		frozen := f.frozen[key]
		f.mu.Unlock()
		if !frozen {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

// freeze stops every connection accepted so far.
func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < len(f.all); i += 2 {
		f.frozen[f.all[i]] = true
	}
}

// TestWireDeadPicker: the picker's host goes silent without closing the
// connection. The request that times out on it pings the picker; the ping
// unanswered, the connection is given up within seconds and the requests
// that follow reach the picker on a new one, instead of each waiting out
// its timeout on the silent connection for as long as TCP keeps it.
func TestWireDeadPicker(t *testing.T) {
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: poolEndpoints[:1]} }}
	f, addr := startFreezer(t, eppfake.Start(t, fake, nil))
	pool := newTimedPool(t, addr, "FailClose", nil, 200*time.Millisecond)
	pick := func() error {
		d, err := pool.Pick(context.Background(), chatRequest(`{"model":"m"}`))
		if err == nil {
			d.Close()
		}
		return err
	}
	// The first pick dials within its 200 ms: retried, for a loaded machine.
	testutil.Eventually(t, 5*time.Second, func() bool { return pick() == nil }, "a pick before the freeze")
	f.freeze()
	if err := pick(); err == nil {
		t.Fatal("a silent picker answered")
	}
	deadline := time.Now().Add(wireProbe + 3*wirePoll)
	for {
		err := pick()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing %s after the first timeout: %v", wireProbe+3*wirePoll, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWireSlowPickerKept: a picker slower than the timeout but alive keeps
// its connection: it sent frames meanwhile (window updates, pings), or it
// answers the probe.
func TestWireSlowPickerKept(t *testing.T) {
	fake := slowPicker(400 * time.Millisecond)
	pool := newTimedPool(t, eppfake.Start(t, fake, nil), "FailClose", nil, 100*time.Millisecond)
	// The connection first (its dial is within the 100 ms: retried, for a
	// loaded machine), then the slow request.
	testutil.Eventually(t, 5*time.Second, func() bool {
		d, err := pool.Pick(context.Background(), chatRequest(`{"model":"m"}`))
		d.Close()
		return err == nil
	}, "a fast pick")
	slow := chatRequest(`{"model":"m"}`)
	slow.Headers = append(slow.Headers, Header{Name: "x-slow", Value: "1"})
	if _, err := pool.Pick(context.Background(), slow); err == nil {
		t.Fatal("a picker slower than the timeout answered in time")
	}
	conns := wireConns(pool)
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	c := conns[0]
	// A probe as an operation that heard nothing would send.
	c.probe(&wireStream{c: c, armFrames: c.frames.Load()})
	time.Sleep(wireProbe + 2*wirePoll)
	c.mu.Lock()
	err, sent, unanswered := c.err, !c.lastProbe.IsZero(), !c.probeSent.IsZero()
	c.mu.Unlock()
	if !sent || err != nil || unanswered {
		t.Errorf("the slow picker's connection: probe sent %v, unanswered %v, error %v; want it probed and kept", sent, unanswered, err)
	}
	if got := wireConns(pool); len(got) != 1 || got[0] != c {
		t.Errorf("the pool's connections changed: %d", len(got))
	}
}

// wireConns returns the pool's picker connections.
func wireConns(pool *Pool) []*wireConn {
	w := pool.ext.conn.wire
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.conns)
}
