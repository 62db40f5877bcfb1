// Package dialer runs upstream dials on long-lived goroutines.
//
// A connect (and even more a TLS handshake) is the deepest call a proxied
// request makes. Made on the request's goroutine, it grows that goroutine's
// stack past the runtime's first size for the rest of the connection's life
// (a stream's included), where the runtime cannot shrink it back. Made on a
// fresh goroutine per dial, it leaves freed stacks scattered through the
// stack spans after a burst of new connections. A Pool keeps a bounded set of
// dialing goroutines alive between bursts instead: a proxy holding thousands
// of streams then needs about 8 KiB of stack per stream, not 10 to 16.
package dialer

import (
	"net"
	"sync"
	"time"
)

// Pool runs dials on up to max long-lived goroutines, started on demand and
// ended after idle without work; a dial that finds them all busy runs on a
// goroutine of its own. The zero Pool is not usable: call New.
type Pool struct {
	jobs chan func()
	max  int
	idle time.Duration

	mu      sync.Mutex
	workers int
}

// Defaults of New for a zero max or idle.
const (
	DefaultMax  = 256
	DefaultIdle = time.Minute
)

// New returns a pool of at most max dialing goroutines, each ending after
// idle without work (0: the defaults).
func New(max int, idle time.Duration) *Pool {
	if max <= 0 {
		max = DefaultMax
	}
	if idle <= 0 {
		idle = DefaultIdle
	}
	return &Pool{jobs: make(chan func()), max: max, idle: idle}
}

// result is the outcome of one dial.
type result struct {
	c   net.Conn
	err error
}

// Dial runs dial on one of the pool's goroutines and returns what it
// returned. dial must bound its own time (a connect timeout).
func (p *Pool) Dial(dial func() (net.Conn, error)) (net.Conn, error) {
	done := make(chan result, 1)
	job := func() {
		c, err := dial()
		done <- result{c, err}
	}
	p.submit(job)
	r := <-done
	return r.c, r.err
}

// Workers returns how many dialing goroutines are alive.
func (p *Pool) Workers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers
}

// submit hands job to an idle worker or starts one; at Max it runs job on a
// goroutine of its own, as if there were no pool: a dial must not wait for
// dials to other upstreams (one that drops packets could hold every worker
// until their connect timeouts).
func (p *Pool) submit(job func()) {
	select {
	case p.jobs <- job:
		return
	default:
	}
	if !p.start(job) {
		go job()
	}
}

// start starts a worker with job unless the pool is at Max.
func (p *Pool) start(job func()) bool {
	p.mu.Lock()
	if p.workers >= p.max {
		p.mu.Unlock()
		return false
	}
	p.workers++
	p.mu.Unlock()
	go p.work(job)
	return true
}

// work runs job, then the jobs offered to it, until it has been idle for
// p.idle.
func (p *Pool) work(job func()) {
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(p.idle)
		select {
		case job = <-p.jobs:
		case <-idle.C:
			p.mu.Lock()
			p.workers--
			p.mu.Unlock()
			return
		}
	}
}
