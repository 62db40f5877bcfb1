package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RecorderOptions configure a [Recorder]. Zero values take the defaults.
type RecorderOptions struct {
	// FlushInterval is how often buffered records are written (default 1s).
	FlushInterval time.Duration
	// MaxBatch is the most records per Usage.Write; a buffer that reaches it
	// is written at once (default 1000).
	MaxBatch int
	// MemoryQueue is how many records the memory buffer holds before the
	// overflow goes to the disk spool (default 10000).
	MemoryQueue int
	// QueueDir is the disk spool's directory (required; created if missing).
	QueueDir string
	// QueueMaxBytes bounds the disk spool (default 1 GiB); past it, records
	// are dropped, counted and logged.
	QueueMaxBytes int64
	// WriteTimeout bounds one Usage.Write (default 10s).
	WriteTimeout time.Duration
	// MaxBackoff caps the wait between retries while the database is down
	// (default 5s; the first retry waits 100ms).
	MaxBackoff time.Duration
	// Log receives outages, recoveries and drops (default: slog.Default()).
	Log *slog.Logger
}

// RecorderStats are a [Recorder]'s counters since it was made.
type RecorderStats struct {
	// Recorded counts calls to Record.
	Recorded uint64
	// Written counts records the database accepted (a replayed record may
	// count twice; the database keeps one).
	Written uint64
	// Spooled counts records appended to the disk spool.
	Spooled uint64
	// Dropped counts records lost: the spool was full or could not be written.
	Dropped uint64
	// WriteErrors counts failed Usage.Write calls.
	WriteErrors uint64
	// QueuedRecords and QueuedBytes are what the disk spool holds now.
	QueuedRecords int64
	QueuedBytes   int64
	// Down is true while the database is failing writes.
	Down bool
}

// overflowBatches is how many full memory buffers may wait for the spool
// writer; past that Record drops rather than block the request path.
const overflowBatches = 8

// Recorder is the one batching writer of usage records. Record appends to a
// memory buffer and never blocks; a goroutine writes the buffer every
// FlushInterval (or MaxBatch records). A full buffer, and every batch the
// database refuses, goes to an on-disk spool that is replayed, oldest first,
// once the database answers again; a spool segment is deleted only after
// it is written, and writes are idempotent by record ID, so a crash can
// repeat a write but not lose one. Close flushes what is buffered. Its
// methods are safe for concurrent use.
type Recorder struct {
	u     Usage
	o     RecorderOptions
	log   *slog.Logger
	spool *spool

	ids *RecordIDs // names the records that come without an ID

	mu     sync.Mutex
	buf    []Record
	closed bool

	kick     chan struct{}  // buffer reached MaxBatch
	overflow chan []Record  // full buffers for the spool writer
	quit     chan struct{}  // closed by Close
	done     chan struct{}  // closed when the flusher has finished
	spooler  sync.WaitGroup // the spool writer

	recorded, written, spooled, dropped, writeErrors atomic.Uint64
	down                                             atomic.Bool
	closeOnce                                        sync.Once
	closeCtx                                         context.Context // set before quit is closed
}

// NewRecorder opens the spool in opts.QueueDir and starts the recorder's
// goroutines; leftover spool segments of a previous run are replayed.
func NewRecorder(u Usage, opts RecorderOptions) (*Recorder, error) {
	if u == nil {
		return nil, errors.New("usage recorder: no usage store")
	}
	if opts.QueueDir == "" {
		return nil, errors.New("usage recorder: QueueDir is required")
	}
	opts.FlushInterval = orDefault(opts.FlushInterval, time.Second)
	opts.MaxBatch = orDefault(opts.MaxBatch, 1000)
	opts.MemoryQueue = orDefault(opts.MemoryQueue, 10000)
	opts.QueueMaxBytes = orDefault(opts.QueueMaxBytes, 1<<30)
	opts.WriteTimeout = orDefault(opts.WriteTimeout, 10*time.Second)
	opts.MaxBackoff = orDefault(opts.MaxBackoff, 5*time.Second)
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	sp, err := openSpool(opts.QueueDir, opts.QueueMaxBytes)
	if err != nil {
		return nil, fmt.Errorf("usage recorder: %w", err)
	}
	r := &Recorder{
		u: u, o: opts, log: opts.Log, spool: sp, ids: NewRecordIDs(),
		buf:      make([]Record, 0, opts.MemoryQueue),
		kick:     make(chan struct{}, 1),
		overflow: make(chan []Record, overflowBatches),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if n, _ := sp.size(); n > 0 {
		r.log.Info("usage: replaying records queued on disk by a previous run", "records", n)
	}
	r.spooler.Add(1)
	go r.spoolLoop()
	go r.flushLoop()
	return r, nil
}

func orDefault[T int | int64 | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// Record queues one record. It never blocks: the record, named by the
// recorder when its ID is empty, is copied into the memory buffer; a full buffer is handed to the spool writer. A record is
// dropped (and counted) only when the spool is full or the spool writer is
// overflowBatches buffers behind, or after Close.
func (r *Recorder) Record(rec Record) {
	r.recorded.Add(1)
	now := time.Now()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	if rec.ID == "" {
		// Named under mu: ids increase in buffer order, so batches written
		// one after another never overlap (see Usage.Write).
		rec.ID = r.ids.Next(now)
	}
	r.buf = append(r.buf, rec)
	n := len(r.buf)
	if n >= r.o.MemoryQueue {
		// Sent under mu, so that it never races Close closing the channel.
		select {
		case r.overflow <- r.buf:
			r.buf = make([]Record, 0, r.o.MemoryQueue)
		default:
			r.dropped.Add(uint64(n))
			r.buf = r.buf[:0]
		}
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	if n == r.o.MaxBatch {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// spoolLoop writes full memory buffers to the disk spool; buffers that
// queued up meanwhile are written together, with one fsync.
func (r *Recorder) spoolLoop() {
	defer r.spooler.Done()
	for batch := range r.overflow {
		batches := [][]Record{batch}
	more:
		for {
			select {
			case b, ok := <-r.overflow:
				if !ok {
					break more
				}
				batches = append(batches, b)
			default:
				break more
			}
		}
		if len(batches) > 1 {
			batch = slices.Concat(batches...)
		}
		r.toSpool(batch)
	}
}

// toSpool appends batch to the disk spool, counting what does not fit.
func (r *Recorder) toSpool(batch []Record) {
	if len(batch) == 0 {
		return
	}
	n, err := r.spool.append(batch)
	r.spooled.Add(uint64(n))
	if err != nil {
		lost := len(batch) - n
		r.dropped.Add(uint64(lost))
		r.log.Error("usage: disk queue cannot take records", "records", lost, "error", err)
	}
}

// take swaps the memory buffer for spare (emptied) and returns the old one.
func (r *Recorder) take(spare []Record) []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buf
	r.buf = spare[:0]
	return b
}

// pending returns how many records the memory buffer holds.
func (r *Recorder) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.buf)
}

// Stats returns the recorder's counters.
func (r *Recorder) Stats() RecorderStats {
	n, b := r.spool.size()
	return RecorderStats{
		Recorded:      r.recorded.Load(),
		Written:       r.written.Load(),
		Spooled:       r.spooled.Load(),
		Dropped:       r.dropped.Load(),
		WriteErrors:   r.writeErrors.Load(),
		QueuedRecords: n,
		QueuedBytes:   b,
		Down:          r.down.Load(),
	}
}

// Healthy reports whether usage records reach the database, for a
// readiness check; detail says why not, or what is being caught up.
func (r *Recorder) Healthy() (ok bool, detail string) {
	n, b := r.spool.size()
	switch {
	case r.down.Load():
		return false, fmt.Sprintf("usage: database unreachable, %d records queued on disk", n)
	case b >= r.o.QueueMaxBytes:
		return false, fmt.Sprintf("usage: disk queue full (%d records), new records are dropped", n)
	case n > 0:
		return true, fmt.Sprintf("usage: writing %d records queued on disk", n)
	}
	return true, "usage: ok"
}

// Close stops the recorder: what is buffered in memory is written to the
// database, or to the disk spool when the database does not take it, before
// it returns. Records left on disk are replayed by the next recorder on the
// same QueueDir. The Usage store is not closed. ctx bounds the final write.
func (r *Recorder) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		r.closeCtx = ctx
		close(r.quit)
	})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("usage recorder: close: %w", ctx.Err())
	}
}

// flushLoop writes the memory buffer every FlushInterval or MaxBatch
// records, replays the spool, and spools what the database refuses.
func (r *Recorder) flushLoop() {
	defer close(r.done)
	tick := time.NewTicker(r.o.FlushInterval)
	defer tick.Stop()
	retry := time.NewTimer(0) // replay a previous run's spool at once
	defer retry.Stop()
	var (
		backoff     time.Duration
		nextTry     time.Time
		loggedDrops uint64
	)
	spare := make([]Record, 0, r.o.MemoryQueue)
	for {
		select {
		case <-r.quit:
			r.shutdown(spare)
			return
		case <-tick.C:
		case <-r.kick:
		case <-retry.C:
		}
		batch := r.take(spare)
		spare = batch[:0] // reused once batch is written or spooled
		if r.down.Load() && time.Now().Before(nextTry) {
			r.toSpool(batch)
		} else {
			// The memory first: the spool can wait, and order does not
			// matter to idempotent writes.
			rest, err := r.write(context.Background(), batch)
			r.toSpool(rest) // what was not written (nothing when err is nil)
			tried := len(batch) > 0
			if err == nil && r.pending() < r.o.MaxBatch { // the live stream first
				var replayed bool
				replayed, err = r.replayOne()
				tried = tried || replayed
			}
			switch {
			case !tried:
				// Nothing was written, so nothing is known of the database;
				// nothing is queued either, so nothing is at risk: an idle
				// recorder is not reported down.
				backoff = 0
				r.down.Store(false)
			case err != nil:
				backoff = min(max(2*backoff, 100*time.Millisecond), r.o.MaxBackoff)
				nextTry = time.Now().Add(backoff)
				retry.Reset(backoff)
				if !r.down.Swap(true) {
					r.log.Warn("usage: database unreachable, queuing records on disk", "error", err)
				}
			default:
				backoff = 0
				if r.down.Swap(false) {
					r.log.Info("usage: database reachable again")
				}
				if n, _ := r.spool.size(); n > 0 {
					retry.Reset(0) // keep replaying, a segment per turn
				}
			}
		}
		if d := r.dropped.Load(); d != loggedDrops {
			r.log.Error("usage: records dropped", "dropped", d-loggedDrops, "droppedTotal", d)
			loggedDrops = d
		}
	}
}

// write writes batch in MaxBatch chunks and returns what it could not
// write (empty when err is nil).
func (r *Recorder) write(ctx context.Context, batch []Record) ([]Record, error) {
	for len(batch) > 0 {
		n := min(len(batch), r.o.MaxBatch)
		wctx, cancel := context.WithTimeout(ctx, r.o.WriteTimeout)
		err := r.u.Write(wctx, batch[:n])
		cancel()
		if err != nil {
			r.writeErrors.Add(1)
			return batch, err
		}
		r.written.Add(uint64(n))
		batch = batch[n:]
	}
	return batch, nil
}

// replayOne writes the oldest spool segment and deletes it; tried is true
// when it called the database, and the error is the database's. A segment that cannot be read is set aside (renamed
// *.bad) and its records counted as dropped, so that it cannot stop the
// replay for good.
func (r *Recorder) replayOne() (tried bool, err error) {
	num, recs, ok, err := r.spool.oldest()
	if !ok {
		return false, nil
	}
	if err != nil {
		r.dropped.Add(uint64(r.spool.quarantine(num)))
		r.log.Error("usage: unreadable disk queue segment set aside", "error", err)
		return false, nil
	}
	if _, err := r.write(context.Background(), recs); err != nil {
		return true, err // the segment stays whole; its written part is ignored when replayed
	}
	if err := r.spool.remove(num); err != nil {
		r.log.Error("usage: disk queue", "error", err)
	}
	return len(recs) > 0, nil
}

// shutdown writes the memory buffer, or spools it, and closes the spool.
func (r *Recorder) shutdown(spare []Record) {
	batch := r.take(spare)
	close(r.overflow) // Record no longer sends: closed is set
	r.spooler.Wait()
	if !r.down.Load() {
		rest, err := r.write(r.closeCtx, batch)
		if err != nil {
			r.log.Warn("usage: database unreachable at close, queuing records on disk", "records", len(rest), "error", err)
		}
		batch = rest
	}
	r.toSpool(batch)
	if d := r.dropped.Load(); d > 0 {
		r.log.Error("usage: records were dropped", "droppedTotal", d)
	}
	r.spool.close()
}
