package meter

import (
	"context"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// settler applies settlements off the request path. With counters across
// the network (Redis), an adjustment made where the exchange ends would be
// a second round trip before the response is written; queued, the one
// round trip on a request's path is the reservation's. One goroutine takes
// whatever has queued, sums it by counter and applies it in one Adjust, so
// a busy gateway makes a round trip per batch, not per request. A full
// queue, or a closed settler, leaves the caller to adjust itself: an
// adjustment is never dropped.
type settler struct {
	counters store.Counters
	now      func() time.Time
	failed   func(error)

	mu     sync.RWMutex // guards closed against a send on a closed jobs
	closed bool
	jobs   chan []adjustment
	done   chan struct{}
}

// adjustment is one counter's settlement, copied out of the reservation
// (whose route-limit counters are reused once it is freed).
type adjustment struct {
	counter store.Counter
	amount  int64
}

const (
	settleQueue = 4096 // queued settlements before callers adjust themselves
	settleBatch = 512  // settlements summed into one Adjust at most
	// settleTimeout bounds one Adjust of the queue (the store has its own,
	// shorter, timeout per call).
	settleTimeout = 5 * time.Second
)

func newSettler(counters store.Counters, now func() time.Time, failed func(error)) *settler {
	s := &settler{counters: counters, now: now, failed: failed,
		jobs: make(chan []adjustment, settleQueue), done: make(chan struct{})}
	go s.run()
	return s
}

// add queues a settlement; false when the queue is full or closed.
func (s *settler) add(job []adjustment) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	select {
	case s.jobs <- job:
		return true
	default:
		return false
	}
}

func (s *settler) run() {
	defer close(s.done)
	sums := map[store.Counter]int64{}
	for job := range s.jobs {
		addAll(sums, job)
	more:
		for range settleBatch - 1 {
			select {
			case job, ok := <-s.jobs:
				if !ok {
					break more
				}
				addAll(sums, job)
			default:
				break more
			}
		}
		s.apply(sums)
		clear(sums)
	}
}

func addAll(sums map[store.Counter]int64, job []adjustment) {
	for _, a := range job {
		sums[a.counter] += a.amount
	}
}

// apply makes one Adjust of the summed settlements. A counter appears once:
// the Redis script reads every key's state before it writes any.
func (s *settler) apply(sums map[store.Counter]int64) {
	charges := make([]store.Charge, 0, len(sums))
	for c, amount := range sums {
		if amount != 0 {
			c := c
			charges = append(charges, store.Charge{Counter: &c, Amount: amount})
		}
	}
	if len(charges) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := s.counters.Adjust(ctx, s.now(), charges); err != nil {
		s.failed(err)
	}
}

// close stops taking settlements and waits until the queued ones are
// applied, or ctx ends.
func (s *settler) close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.jobs)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
