package engine

import (
	"context"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// requestContext is an Exchange's context.Context. It costs nothing until
// someone asks for Done: the channel, and the timer that closes it at the
// deadline, are made then. Values come from the server's context.
type requestContext struct {
	mu       sync.Mutex
	parent   *fasthttp.RequestCtx
	deadline time.Time
	done     chan struct{}
	timer    *time.Timer
	err      error
}

var _ context.Context = (*requestContext)(nil)

func (c *requestContext) reset(parent *fasthttp.RequestCtx) {
	c.parent, c.deadline, c.done, c.timer, c.err = parent, time.Time{}, nil, nil, nil
}

func (c *requestContext) release() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.parent, c.done, c.timer = nil, nil, nil
	c.mu.Unlock()
}

func (c *requestContext) setDeadline(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if c.done != nil && c.timer == nil && !t.IsZero() && c.err == nil {
		c.timer = time.AfterFunc(time.Until(t), func() { c.cancel(context.DeadlineExceeded) })
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
		} else if !c.deadline.IsZero() {
			c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
		}
	}
	return c.done
}

// Err implements context.Context.
func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		c.err = context.DeadlineExceeded
		if c.done != nil {
			close(c.done)
		}
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
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}
