package policies

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Chain is the compiled policy chain of one route rule: its policies sorted
// by phase (stable: equal phases keep their attachment order). A Chain is
// immutable and safe for concurrent use; a nil *Chain runs nothing.
type Chain struct {
	observe    []Policy // PhaseObserve and later: first, so that they see every exchange, denials included
	auth       []Policy // PhaseAuth and lower: before the route's header modifiers
	admit      []Policy // the rest, once the request is read
	attempters []Attempter
}

// NewChain compiles policies into a chain.
func NewChain(ps ...Policy) *Chain {
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, func(a, b Policy) int { return int(PhaseOf(a)) - int(PhaseOf(b)) })
	c := &Chain{}
	for _, p := range sorted {
		switch ph := PhaseOf(p); {
		case ph >= PhaseObserve:
			c.observe = append(c.observe, p)
		case ph <= PhaseAuth:
			c.auth = append(c.auth, p)
		default:
			c.admit = append(c.admit, p)
		}
		if a, ok := p.(Attempter); ok {
			c.attempters = append(c.attempters, a)
		}
	}
	return c
}

// Len is the number of policies in the chain.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.observe) + len(c.auth) + len(c.admit)
}

// Observe runs the observers' Request (metrics, usage logs): first of all,
// so that their reservations record every exchange, however it ends.
func (c *Chain) Observe(ctx context.Context, x *Exchange, rs *Reservations) error {
	if c == nil {
		return nil
	}
	return run(ctx, c.observe, x, rs)
}

// Authenticate runs the client-auth phase: each policy's Request until one
// denies; the reservations of those that ran go to rs.
func (c *Chain) Authenticate(ctx context.Context, x *Exchange, rs *Reservations) error {
	if c == nil {
		return nil
	}
	return run(ctx, c.auth, x, rs)
}

// Admit runs the admission phases (rate limits, budgets, guardrails) as
// Authenticate does, once the request has been read.
func (c *Chain) Admit(ctx context.Context, x *Exchange, rs *Reservations) error {
	if c == nil {
		return nil
	}
	return run(ctx, c.admit, x, rs)
}

// Attempt runs the per-attempt hooks once a backend is chosen.
func (c *Chain) Attempt(ctx context.Context, x *Exchange) error {
	if c == nil {
		return nil
	}
	for _, a := range c.attempters {
		if err := a.Attempt(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

func run(ctx context.Context, ps []Policy, x *Exchange, rs *Reservations) error {
	for _, p := range ps {
		r, err := p.Request(ctx, x)
		if r != nil {
			rs.add(r) // a policy that denies may still hold something to release
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Reservations collects the reservations of one exchange and settles them
// exactly once. The zero value is ready; the router keeps one per pooled
// exchange and Resets it for the next.
type Reservations struct {
	inline  [4]Reservation
	n       int
	extra   []Reservation
	settled atomic.Bool
}

func (rs *Reservations) add(r Reservation) {
	if rs.n < len(rs.inline) {
		rs.inline[rs.n] = r
		rs.n++
		return
	}
	rs.extra = append(rs.extra, r)
}

// Len is the number of reservations held.
func (rs *Reservations) Len() int { return rs.n + len(rs.extra) }

// Settled reports whether Settle has run.
func (rs *Reservations) Settled() bool { return rs.settled.Load() }

// Settle settles every reservation with u, in the order they were made, the
// first time it is called; later calls do nothing and report false. A
// reservation that panics does not stop the others: the first panic is
// returned as an error for the caller to log.
func (rs *Reservations) Settle(ctx context.Context, x *Exchange, u schema.Usage) (first bool, panicked error) {
	if !rs.settled.CompareAndSwap(false, true) {
		return false, nil
	}
	for i := 0; i < rs.n; i++ {
		if err := settleOne(ctx, rs.inline[i], x, u); err != nil && panicked == nil {
			panicked = err
		}
	}
	for _, r := range rs.extra {
		if err := settleOne(ctx, r, x, u); err != nil && panicked == nil {
			panicked = err
		}
	}
	return true, panicked
}

func settleOne(ctx context.Context, r Reservation, x *Exchange, u schema.Usage) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("policies: settle panicked: %v", v)
		}
	}()
	r.Settle(ctx, x, u)
	return nil
}

// Reset empties rs for reuse.
func (rs *Reservations) Reset() {
	clear(rs.inline[:rs.n])
	rs.n = 0
	clear(rs.extra)
	rs.extra = rs.extra[:0]
	rs.settled.Store(false)
}
