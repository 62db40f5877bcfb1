package dialer

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDialReturnsResult checks that Dial hands back what the dial returned.
func TestDialReturnsResult(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errRefused := errors.New("refused")
	tests := []struct {
		name    string
		dial    func() (net.Conn, error)
		wantErr error
	}{
		{name: "connection", dial: func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }},
		{name: "error", dial: func() (net.Conn, error) { return nil, errRefused }, wantErr: errRefused},
	}
	p := New(0, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.Dial(tt.dial)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if (c != nil) != (tt.wantErr == nil) {
				t.Fatalf("conn = %v with err %v", c, err)
			}
			if c != nil {
				_ = c.Close()
			}
		})
	}
}

// TestWorkersReusedBoundedAndEnded checks that sequential dials reuse one
// goroutine, that concurrent dials beyond max do not wait for busy workers
// (they run at once, on goroutines of their own) while the workers stay
// within max, and that idle workers end.
func TestWorkersReusedBoundedAndEnded(t *testing.T) {
	p := New(3, 50*time.Millisecond)
	for range 5 {
		if _, err := p.Dial(func() (net.Conn, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if w := p.Workers(); w != 1 {
		t.Fatalf("%d workers after sequential dials, want 1", w)
	}

	const n = 10
	var running atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = p.Dial(func() (net.Conn, error) {
				running.Add(1)
				<-release
				return nil, nil
			})
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := running.Load(); got != n {
		t.Fatalf("%d of %d dials running at once: dials beyond the workers waited", got, n)
	}
	if w := p.Workers(); w != 3 {
		t.Fatalf("%d workers with %d dials in flight, want the max, 3", w, n)
	}
	close(release)
	wg.Wait()
	for p.Workers() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if w := p.Workers(); w != 0 {
		t.Fatalf("%d workers still alive after the idle time", w)
	}
	// The pool starts workers again after they ended.
	if _, err := p.Dial(func() (net.Conn, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
}
