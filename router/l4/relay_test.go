package l4

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestRelayIdle: a relay with no bytes either way ends after the idle
// time; one with bytes flowing one way only does not; the copy loop and
// the splice relay behave alike.
func TestRelayIdle(t *testing.T) {
	for _, mode := range []string{"splice", "loop"} {
		t.Run(mode, func(t *testing.T) {
			run := func(c, b net.Conn, idle time.Duration, in, out *atomic.Int64) error {
				if mode == "loop" {
					// A wrapper that is not a *net.TCPConn takes the copy loop.
					return relay(struct{ net.Conn }{c}, b, idle, in, out)
				}
				return relay(c, b, idle, in, out)
			}
			// Quiet: ends with errIdle.
			cc, cs := pair(t)
			bc, bs := pair(t)
			var in, out atomic.Int64
			start := time.Now()
			err := run(cs, bc, 300*time.Millisecond, &in, &out)
			if !errors.Is(err, errIdle) {
				t.Fatalf("quiet relay ended with %v", err)
			}
			if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
				t.Errorf("quiet relay ended after %v, want about 300ms", d)
			}
			_, _ = cc, bs

			// Busy one way for longer than the idle time: not idle; bytes counted.
			cc, cs = pair(t)
			bc, bs = pair(t)
			go func() { _, _ = io.Copy(io.Discard, bs) }()
			go func() {
				for range 10 {
					_, _ = cc.Write(make([]byte, 1000))
					time.Sleep(100 * time.Millisecond)
				}
				_ = cc.(*net.TCPConn).CloseWrite()
				_ = bs.Close()
			}()
			in.Store(0)
			err = run(cs, bc, 300*time.Millisecond, &in, &out)
			if errors.Is(err, errIdle) {
				t.Errorf("a relay with bytes every 100ms went idle after %d bytes", in.Load())
			}
			if in.Load() != 10000 {
				t.Errorf("in = %d bytes, want 10000", in.Load())
			}
		})
	}
}
