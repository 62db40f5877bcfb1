package inference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"

	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
)

// serve runs p on ln with opts until the test ends or the returned server stops.
func serve(t *testing.T, ln net.Listener, p *eppfake.Picker, opts ...grpc.ServerOption) *grpc.Server {
	t.Helper()
	srv := grpc.NewServer(opts...)
	extprocv3.RegisterExternalProcessorServer(srv, p)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return srv
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// slowPicker answers at once, and after delay the requests with an x-slow
// header.
func slowPicker(delay time.Duration) *eppfake.Picker {
	return &eppfake.Picker{Choose: func(s eppfake.Seen) eppfake.Answer {
		a := eppfake.Answer{Endpoints: poolEndpoints[:1]}
		if s.Headers["x-slow"] != "" {
			a.Delay = delay
		}
		return a
	}}
}

// pickServed runs one request's whole exchange: its decision, then the
// served report, whose answer (the picker's served header) it returns.
func pickServed(ctx context.Context, pool *Pool, r *Request, hold time.Duration) (*Decision, string, error) {
	d, err := pool.Pick(ctx, r)
	if err != nil {
		return nil, "", err
	}
	defer d.Close()
	if d.Immediate != nil {
		return d, "", fmt.Errorf("immediate %d", d.Immediate.Status)
	}
	time.Sleep(hold)
	for _, h := range d.Served(ctx, d.Endpoints[0], 200, "application/json") {
		if h.Name == eppfake.HeaderTestServed {
			return d, h.Value, nil
		}
	}
	return d, "", errors.New("no served answer")
}

// TestWireConcurrentStreams: many requests share the picker connection, the
// picker answering them out of order; each gets its own decision and its
// own served answer, and one connection carries them all.
func TestWireConcurrentStreams(t *testing.T) {
	fake := &eppfake.Picker{Choose: func(s eppfake.Seen) eppfake.Answer {
		a := eppfake.ByTestHeader(poolEndpoints)(s)
		a.Delay = time.Duration(rand.IntN(3000)) * time.Microsecond
		return a
	}}
	pool := newTestPool(t, eppfake.Start(t, fake, nil), "FailClose", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 100 {
		wg.Go(func() {
			for i := range 5 {
				want := poolEndpoints[(g+i)%len(poolEndpoints)]
				r := chatRequest(fmt.Sprintf(`{"model":"m","n":%d}`, g*10+i))
				r.Headers = append(r.Headers, Header{Name: eppfake.HeaderTestSelection, Value: want})
				d, served, err := pickServed(context.Background(), pool, r, time.Duration(rand.IntN(2000))*time.Microsecond)
				switch {
				case err != nil:
					errs <- err
				case d.Endpoints[0] != want || served != want:
					errs <- fmt.Errorf("request for %s: decided %v, served answer %q", want, d.Endpoints, served)
				case !bytes.Equal(d.Body, r.Body):
					errs <- fmt.Errorf("request for %s: body %q, sent %q", want, d.Body, r.Body)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(pool.ext.conn.wire.conns); n != 1 {
		t.Errorf("%d connections to the picker, want 1", n)
	}
}

// TestWireLargeBodies: bodies past both sides' flow-control windows (the
// picker's 64 KiB initial stream window, our 1 MiB one) go through whole,
// the picker's rewrite included.
func TestWireLargeBodies(t *testing.T) {
	rewrite := bytes.Repeat([]byte("rewritten body "), 200_000) // 3 MB
	fake := &eppfake.Picker{Choose: func(s eppfake.Seen) eppfake.Answer {
		a := eppfake.Answer{Endpoints: poolEndpoints[:1]}
		if len(s.Body) > 2<<20 {
			a.Body = rewrite
		}
		return a
	}}
	pool := newTimedPool(t, eppfake.Start(t, fake, nil), "FailClose", nil, 10*time.Second)
	for _, size := range []int{100, 70_000, 3 << 20} {
		body := bytes.Repeat([]byte{'x'}, size)
		d, _, err := pickServed(context.Background(), pool, &Request{Method: "POST", Path: "/v1/completions", Body: body}, 0)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		want := body
		if size > 2<<20 {
			want = rewrite
		}
		if !bytes.Equal(d.Body, want) {
			t.Errorf("%d bytes: forwarded %d bytes, want %d", size, len(d.Body), len(want))
		}
		if got := fake.Seen()[len(fake.Seen())-1].Body; !bytes.Equal(got, body) {
			t.Errorf("%d bytes: the picker received %d bytes", size, len(got))
		}
	}
}

// TestWirePickerRestart: a picker that restarts (gracefully, with GOAWAY, or
// dropping its connections) costs no request: a stream it never saw is
// tried again on a new connection.
func TestWirePickerRestart(t *testing.T) {
	for _, graceful := range []bool{true, false} {
		t.Run(fmt.Sprintf("graceful=%v", graceful), func(t *testing.T) {
			fake := &eppfake.Picker{Pool: poolEndpoints}
			ln := listen(t, "127.0.0.1:0")
			addr := ln.Addr().String()
			srv := serve(t, ln, fake)
			pool := newTestPool(t, addr, "FailClose", nil)
			r := chatRequest(`{"model":"m"}`)
			if _, _, err := pickServed(context.Background(), pool, r, 0); err != nil {
				t.Fatal(err)
			}
			if graceful {
				srv.GracefulStop()
			} else {
				srv.Stop()
			}
			serve(t, listen(t, addr), fake)
			for i := range 3 {
				if _, _, err := pickServed(context.Background(), pool, r, 0); err != nil {
					t.Fatalf("request %d after the restart: %v", i, err)
				}
			}
		})
	}
}

// TestWireStreamLimit: a picker that allows few concurrent streams gets more
// connections, and requests holding their stream (between decision and
// served report) do not block the others.
func TestWireStreamLimit(t *testing.T) {
	fake := &eppfake.Picker{Pool: poolEndpoints}
	ln := listen(t, "127.0.0.1:0")
	serve(t, ln, fake, grpc.MaxConcurrentStreams(2))
	pool := newTestPool(t, ln.Addr().String(), "FailClose", nil)
	// The first request learns the picker's settings.
	if _, _, err := pickServed(context.Background(), pool, chatRequest(`{"model":"m"}`), 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, _, err := pickServed(context.Background(), pool, chatRequest(`{"model":"m"}`), 50*time.Millisecond); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(pool.ext.conn.wire.conns); n < 2 {
		t.Errorf("%d connections for 20 streams at 2 per connection", n)
	}
}

// TestWireSlowAndCancelled: a request whose decision the picker holds past
// the timeout fails with "timeout" without holding up requests answered
// meanwhile on the same connection, even while it reads the connection; a
// request whose client leaves returns at once; the connection stays usable.
func TestWireSlowAndCancelled(t *testing.T) {
	fake := slowPicker(5 * time.Second)
	pool := newTimedPool(t, eppfake.Start(t, fake, nil), "FailClose", nil, time.Second)
	slow := chatRequest(`{"model":"m"}`)
	slow.Headers = append(slow.Headers, Header{Name: "x-slow", Value: "1"})
	slowDone := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := pool.Pick(context.Background(), slow)
		slowDone <- err
	}()
	time.Sleep(20 * time.Millisecond) // the slow request reads the connection
	for i := range 5 {
		t0 := time.Now()
		if _, _, err := pickServed(context.Background(), pool, chatRequest(`{"model":"m"}`), 0); err != nil {
			t.Fatalf("fast request %d: %v", i, err)
		}
		if d := time.Since(t0); d > 500*time.Millisecond {
			t.Errorf("fast request %d took %s behind the slow one", i, d)
		}
	}
	err := <-slowDone
	var pe *Error
	if !errors.As(err, &pe) || pe.Reason != "timeout" {
		t.Errorf("slow request: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("slow request ended after %s, the timeout being 1s", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	t0 := time.Now()
	if _, err := pool.Pick(ctx, slow); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}
	if d := time.Since(t0); d > 500*time.Millisecond {
		t.Errorf("cancelled request returned after %s", d)
	}
	if _, _, err := pickServed(context.Background(), pool, chatRequest(`{"model":"m"}`), 0); err != nil {
		t.Fatalf("after the cancelled request: %v", err)
	}
}

// earlyAnswer answers every stream's first message with a 429 and ends the
// stream without reading the body.
type earlyAnswer struct {
	extprocv3.UnimplementedExternalProcessorServer
}

func (earlyAnswer) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode_TooManyRequests}, Body: []byte("shed")}}})
}

// TestWireEarlyAnswer: a picker that sheds a request on its headers, while
// the gateway still sends a body larger than the picker's window, is
// relayed (429), not taken for a failed stream or a timeout.
func TestWireEarlyAnswer(t *testing.T) {
	ln := listen(t, "127.0.0.1:0")
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, earlyAnswer{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	pool := newTimedPool(t, ln.Addr().String(), "FailClose", nil, 5*time.Second)
	for _, size := range []int{10, 3 << 20} {
		t0 := time.Now()
		d, err := pool.Pick(context.Background(), &Request{Method: "POST", Path: "/v1/completions", Body: bytes.Repeat([]byte{'x'}, size)})
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if d.Immediate == nil || d.Immediate.Status != 429 || string(d.Immediate.Body) != "shed" {
			t.Errorf("%d bytes: decision %+v, want the picker's 429", size, d)
		}
		if el := time.Since(t0); el > 2*time.Second {
			t.Errorf("%d bytes: took %s", size, el)
		}
		d.Close()
	}
}
