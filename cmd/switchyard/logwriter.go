package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// bufferedWriter batches log lines so that the access log costs no system
// call per request. What is buffered is flushed interval after the first
// write into an empty buffer (a timer armed only then: an idle gateway does
// not wake up to flush nothing), when the buffer fills, and on Close; after
// Close, writes go straight through. Each Write is one whole log record, so
// lines never interleave.
type bufferedWriter struct {
	mu       sync.Mutex
	w        *bufio.Writer
	interval time.Duration
	timer    *time.Timer
	armed    bool // the timer will flush
	closed   bool
}

var _ io.WriteCloser = (*bufferedWriter)(nil)

func newBufferedWriter(w io.Writer, interval time.Duration) *bufferedWriter {
	b := &bufferedWriter{w: bufio.NewWriterSize(w, 64<<10), interval: interval}
	b.timer = time.AfterFunc(time.Hour, b.flush)
	b.timer.Stop()
	return b
}

// Write implements io.Writer.
func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.w.Write(p)
	switch {
	case b.closed:
		if ferr := b.w.Flush(); err == nil {
			err = ferr
		}
	case !b.armed && b.w.Buffered() > 0:
		b.armed = true
		b.timer.Reset(b.interval)
	}
	return n, err
}

// flush writes out what is buffered (the timer's function).
func (b *bufferedWriter) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	_ = b.w.Flush()
}

// Close flushes what is buffered and stops the timer.
func (b *bufferedWriter) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.timer.Stop()
	return b.w.Flush()
}
