package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBufferedWriter(t *testing.T) {
	tests := []struct {
		name  string
		close bool // flushed by Close rather than by the ticker
	}{
		{name: "flushed by the interval"},
		{name: "flushed on close", close: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			interval := 20 * time.Millisecond
			if tt.close {
				interval = time.Hour
			}
			w := newBufferedWriter(&out, interval)
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < 100; j++ {
						_, _ = w.Write([]byte("{\"line\":\"" + strings.Repeat("x", 50) + "\"}\n"))
					}
				}()
			}
			wg.Wait()
			if tt.close {
				if out.String() != "" && len(strings.Split(strings.TrimSpace(out.String()), "\n")) == 800 {
					t.Fatal("everything was written before Close: the writer does not buffer")
				}
				_ = w.Close()
			} else {
				deadline := time.Now().Add(2 * time.Second)
				for time.Now().Before(deadline) && strings.Count(out.String(), "\n") < 800 {
					time.Sleep(10 * time.Millisecond)
				}
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 800 {
				t.Fatalf("got %d lines, want 800", len(lines))
			}
			for _, l := range lines {
				if l != "{\"line\":\""+strings.Repeat("x", 50)+"\"}" {
					t.Fatalf("torn line %q", l)
				}
			}
			if !tt.close {
				// Written after a flush: flushed again after the interval.
				_, _ = w.Write([]byte("{\"line\":\"late\"}\n"))
				deadline := time.Now().Add(2 * time.Second)
				for time.Now().Before(deadline) && !strings.Contains(out.String(), "late") {
					time.Sleep(10 * time.Millisecond)
				}
				if !strings.Contains(out.String(), "late") {
					t.Fatal("a line written after a flush was never flushed")
				}
				_ = w.Close()
				_, _ = w.Write([]byte("{\"line\":\"after close\"}\n"))
				if !strings.Contains(out.String(), "after close") {
					t.Fatal("a line written after Close was buffered, not written")
				}
			}
		})
	}
}
