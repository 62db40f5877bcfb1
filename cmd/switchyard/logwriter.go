package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// bufferedWriter batches log lines so that the access log costs no system
// call per request. It is flushed every interval, when its buffer fills, and
// on Close. Each Write is one whole log record, so lines never interleave.
type bufferedWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

var _ io.WriteCloser = (*bufferedWriter)(nil)

func newBufferedWriter(w io.Writer, interval time.Duration) *bufferedWriter {
	b := &bufferedWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop(interval)
	return b
}

// Write implements io.Writer.
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedWriter) loop(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush()
		case <-b.stop:
			b.flush()
			return
		}
	}
}

func (b *bufferedWriter) flush() {
	b.mu.Lock()
	_ = b.w.Flush()
	b.mu.Unlock()
}

// Close flushes what is buffered and stops the flusher.
func (b *bufferedWriter) Close() error {
	close(b.stop)
	<-b.done
	return nil
}
