package engine

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestRequestContext: an Exchange's context carries the deadline, ends when
// it passes or when the client goes, and costs no channel until asked.
func TestRequestContext(t *testing.T) {
	tests := []struct {
		name      string
		deadline  time.Duration // 0: none
		gone      bool
		doneEarly bool // ask for Done before the event
		wantErr   error
	}{
		{name: "no deadline, client stays", wantErr: nil},
		{name: "client goes", gone: true, wantErr: context.Canceled},
		{name: "client goes, Done asked first", gone: true, doneEarly: true, wantErr: context.Canceled},
		{name: "deadline passes", deadline: 20 * time.Millisecond, wantErr: context.DeadlineExceeded},
		{name: "deadline passes, Done asked first", deadline: 20 * time.Millisecond, doneEarly: true, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rc fasthttp.RequestCtx
			ex := Acquire(&rc, "id", time.Now(), nil)
			defer func() { ex.Finish(ex.Usage); Release(ex) }()
			if tt.deadline > 0 {
				ex.SetDeadline(time.Now().Add(tt.deadline))
			}
			ctx := ex.Context()
			if _, ok := ctx.Deadline(); ok != (tt.deadline > 0) {
				t.Fatalf("Deadline set = %v", ok)
			}
			var done <-chan struct{}
			if tt.doneEarly {
				done = ctx.Done()
			}
			if tt.gone {
				ex.ClientGone()
			}
			time.Sleep(2 * tt.deadline)
			if err := ctx.Err(); err != tt.wantErr {
				t.Fatalf("Err = %v, want %v", err, tt.wantErr)
			}
			if done == nil {
				done = ctx.Done()
			}
			select {
			case <-done:
				if tt.wantErr == nil {
					t.Fatal("Done closed with no cause")
				}
			case <-time.After(50 * time.Millisecond):
				if tt.wantErr != nil {
					t.Fatal("Done not closed")
				}
			}
		})
	}
}

// TestRequestContextReuse: a deadline timer of one use that fires late does
// not end the next use's context, and a released context lets its waiters go.
func TestRequestContextReuse(t *testing.T) {
	var c requestContext
	for i := 0; i < 2000; i++ {
		c.reset(nil)
		c.setDeadline(time.Now().Add(100 * time.Microsecond))
		done := c.Done()
		time.Sleep(100 * time.Microsecond)
		c.release()
		select {
		case <-done:
		default:
			t.Fatal("release left Done open")
		}
		c.reset(nil)
		time.Sleep(20 * time.Microsecond) // a late timer of the previous use fires now
		if err := c.Err(); err != nil {
			t.Fatalf("use %d: a fresh context has error %v", i, err)
		}
	}
}

// TestObservedContextNotReused: a context whose Done channel was handed out
// (here to a child context, whose goroutine reads Err once Done closes) is
// not given to the next exchange: reset would make its Err nil again, and
// the context package panics on a closed Done with a nil Err.
func TestObservedContextNotReused(t *testing.T) {
	ex := Acquire(&fasthttp.RequestCtx{}, "a", time.Now(), nil)
	ctx := ex.Context()
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	Release(ex)
	<-child.Done()
	for range 8 { // the pool hands the exchange back, on this P, at once
		next := Acquire(&fasthttp.RequestCtx{}, "b", time.Now(), nil)
		if next.Context() == ctx {
			t.Fatal("a context whose Done was handed out was reused")
		}
		Release(next)
	}
	if ctx.Err() == nil {
		t.Fatal("the released context lost its error")
	}
}

// TestRequestContextAfterFunc: a function registered with AfterFunc runs once
// when the context ends (client gone, deadline, release) and not once
// stopped; stopping a released use's function touches nothing of the next
// use, and a context whose functions were stopped is reused.
func TestRequestContextAfterFunc(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration
		end      func(ex *Exchange)
		stop     bool
		wantRun  bool
	}{
		{name: "client goes", end: func(ex *Exchange) { ex.ClientGone() }, wantRun: true},
		{name: "deadline passes", deadline: 20 * time.Millisecond, end: func(*Exchange) { time.Sleep(60 * time.Millisecond) }, wantRun: true},
		{name: "exchange released", end: func(ex *Exchange) { Release(ex) }, wantRun: true},
		{name: "stopped, then client goes", end: func(ex *Exchange) { ex.ClientGone() }, stop: true},
		{name: "stopped, deadline passes", deadline: 20 * time.Millisecond, end: func(*Exchange) { time.Sleep(60 * time.Millisecond) }, stop: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := Acquire(&fasthttp.RequestCtx{}, "id", time.Now(), nil)
			if tt.deadline > 0 {
				ex.SetDeadline(time.Now().Add(tt.deadline))
			}
			ran := make(chan struct{}, 2)
			stop := ex.Context().(interface{ AfterFunc(func()) func() bool }).AfterFunc(func() { ran <- struct{}{} })
			if tt.stop && !stop() {
				t.Fatal("stop before the end reported the function had run")
			}
			tt.end(ex)
			select {
			case <-ran:
				if !tt.wantRun {
					t.Fatal("a stopped function ran")
				}
				if stop() {
					t.Fatal("stop after the run reported it had not run")
				}
			case <-time.After(200 * time.Millisecond):
				if tt.wantRun {
					t.Fatal("the function did not run")
				}
			}
			if tt.name != "exchange released" {
				Release(ex)
			}
		})
	}
	// A context whose functions were all stopped may be reused (release
	// reports it unobserved); one with a function left may not. The old
	// use's stop is a no-op on the next use.
	var c requestContext
	c.reset(nil)
	ran := make(chan struct{}, 2)
	old := c.AfterFunc(func() { ran <- struct{}{} })
	old()
	if c.release() {
		t.Fatal("a context whose AfterFunc was stopped was reported observed")
	}
	c.reset(nil)
	stopNext := c.AfterFunc(func() { ran <- struct{}{} })
	if old() {
		t.Fatal("the previous use's stop removed the next use's function")
	}
	if !c.release() {
		t.Fatal("a context with a function still registered was reported unobserved")
	}
	<-ran
	if stopNext() {
		t.Fatal("stop reported a function that ran as not run")
	}

	// A function started before release (the client went) may still read
	// the context: it is not reused.
	c.reset(nil)
	c.AfterFunc(func() { ran <- struct{}{} })
	c.cancel(context.Canceled)
	<-ran
	if !c.release() {
		t.Fatal("a context whose AfterFunc function ran was reported unobserved")
	}

	// AfterFunc then Done, with a deadline: one timer, which release stops.
	c.reset(nil)
	c.setDeadline(time.Now().Add(time.Hour))
	c.AfterFunc(func() {})
	first := c.timer
	c.Done()
	if first == nil || c.timer != first {
		t.Fatal("Done armed a second deadline timer after AfterFunc armed one")
	}
	c.release()
	if first.Stop() {
		t.Fatal("release left the deadline timer running")
	}
}
