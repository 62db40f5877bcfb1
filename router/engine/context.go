package engine

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// requestContext is an Exchange's context.Context. It costs nothing until
// someone asks for Done: the channel, and the timer that closes it at the
// deadline, are made then. Values come from the server's context. The
// struct is pooled with its Exchange: gen counts its uses, so that a timer
// armed for one request that fires late cannot end the next one's context.
type requestContext struct {
	mu       sync.Mutex
	gen      uint64
	parent   *fasthttp.RequestCtx
	deadline time.Time
	done     chan struct{}
	timer    *time.Timer
	err      error
	// after are the functions AfterFunc registered and not yet stopped;
	// afterID numbers them; afterRan is set once one was started (it may
	// still be reading the context).
	after    []afterFunc
	afterID  uint64
	afterRan bool
}

// afterFunc is one function registered with AfterFunc.
type afterFunc struct {
	id uint64
	f  func()
}

var _ context.Context = (*requestContext)(nil)

func (c *requestContext) reset(parent *fasthttp.RequestCtx) {
	c.mu.Lock()
	c.gen++
	c.parent, c.deadline, c.done, c.timer, c.err = parent, time.Time{}, nil, nil, nil
	clear(c.after)
	c.after, c.afterRan = c.after[:0], false
	c.mu.Unlock()
}

// release ends the context for good: the exchange is over, so anything still
// waiting on Done (a policy's context.AfterFunc, say) is let go. observed
// reports whether Done was handed out or a function of AfterFunc ran: such a
// context must not be reused.
func (c *requestContext) release() (observed bool) {
	c.mu.Lock()
	c.gen++
	if c.timer != nil {
		c.timer.Stop()
	}
	// A function registered runs now, and one started earlier may still
	// be running: either may read the context, which is then not reused.
	c.cancelLocked(context.Canceled)
	observed = c.done != nil || c.afterRan
	c.parent, c.done, c.timer = nil, nil, nil
	c.mu.Unlock()
	return observed
}

// armLocked starts the deadline timer; c.mu is held.
func (c *requestContext) armLocked() {
	gen := c.gen
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.expire(gen) })
}

// expire ends the context of use gen at its deadline.
func (c *requestContext) expire(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.cancelLocked(context.DeadlineExceeded)
	}
}

func (c *requestContext) setDeadline(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if (c.done != nil || len(c.after) > 0) && c.timer == nil && !t.IsZero() && c.err == nil {
		c.armLocked()
	}
}

// Deadline implements context.Context.
func (c *requestContext) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, !c.deadline.IsZero()
}

// Done implements context.Context.
func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		} else if !c.deadline.IsZero() && c.timer == nil {
			c.armLocked()
		}
	}
	return c.done
}

// Err implements context.Context.
func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		c.cancelLocked(context.DeadlineExceeded)
	}
	return c.err
}

// Value implements context.Context.
func (c *requestContext) Value(key any) any {
	c.mu.Lock()
	p := c.parent
	c.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Value(key)
}

// cancel ends the context with err (once).
func (c *requestContext) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelLocked(err)
}

func (c *requestContext) cancelLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	for _, a := range c.after {
		c.afterRan = true
		go a.f()
	}
	clear(c.after)
	c.after = c.after[:0]
}

// AfterFunc arranges for f to run in its own goroutine once the context
// ends, as context.AfterFunc does; stop unregisters f, reporting whether it
// had not run. The context package finds this method (its afterFuncer), and
// callers that hold on to a request's end (an endpoint picker's stream) can
// call it directly: it makes no Done channel and no waiting goroutine, and a
// context whose functions were all stopped is reused by the next exchange.
func (c *requestContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		c.afterRan = true
		go f()
		return func() bool { return false }
	}
	c.afterID++
	id, gen := c.afterID, c.gen
	c.after = append(c.after, afterFunc{id: id, f: f})
	if c.timer == nil && !c.deadline.IsZero() {
		c.armLocked()
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen != gen {
			return false
		}
		for i, a := range c.after {
			if a.id == id {
				c.after = slices.Delete(c.after, i, i+1)
				return true
			}
		}
		return false
	}
}
