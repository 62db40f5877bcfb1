// Package storetest holds conformance suites that every implementation of a
// store interface must pass, so that the embedded and shared stores mean the
// same. It is imported only from tests.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
	_ "time/tzdata" // the calendar cases load zones on machines without tzdata

	"github.com/switchyard-ai/switchyard/store"
)

// step is one call of a scenario, at an offset from the scenario's start.
type step struct {
	at      time.Duration
	reserve []store.Charge
	adjust  []store.Charge
	peek    []*store.Counter
	// want is the expected decision of reserve; states those of peek.
	want   store.Decision
	states []store.State
}

// scenario is a sequence of calls on fresh counters.
type scenario struct {
	name  string
	start time.Time
	steps []step
}

// Counters runs the conformance suite of [store.Counters]: open returns an
// empty store for one subtest (its Close is the caller's business, usually
// through t.Cleanup). Every case injects its clock.
func Counters(t *testing.T, open func(t *testing.T) store.Counters) {
	var cases []scenario
	cases = append(cases, bucketCases()...)
	cases = append(cases, calendarCases(t)...)
	cases = append(cases, slidingCases()...)
	cases = append(cases, combinedCases()...)
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			c := open(t)
			ctx := context.Background()
			for i, s := range sc.steps {
				now := sc.start.Add(s.at)
				switch {
				case s.reserve != nil:
					d, err := c.Reserve(ctx, now, s.reserve)
					if err != nil {
						t.Fatalf("step %d (+%s): Reserve: %v", i, s.at, err)
					}
					if len(d.Audited) == 0 {
						d.Audited = nil
					}
					if !reflect.DeepEqual(d, s.want) {
						t.Errorf("step %d (+%s): Reserve\n got %+v\nwant %+v", i, s.at, d, s.want)
					}
				case s.adjust != nil:
					if err := c.Adjust(ctx, now, s.adjust); err != nil {
						t.Fatalf("step %d (+%s): Adjust: %v", i, s.at, err)
					}
				default:
					got, err := c.Peek(ctx, now, s.peek)
					if err != nil {
						t.Fatalf("step %d (+%s): Peek: %v", i, s.at, err)
					}
					if !reflect.DeepEqual(got, s.states) {
						t.Errorf("step %d (+%s): Peek\n got %+v\nwant %+v", i, s.at, got, s.states)
					}
				}
			}
		})
	}
	t.Run("invalid counter", func(t *testing.T) {
		c := open(t)
		bad := &store.Counter{Key: "bad", Algorithm: store.Bucket, Limit: 10}
		_, err := c.Reserve(context.Background(), time.Now(), []store.Charge{{Counter: bad, Amount: 1}})
		if err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Reserve on a bucket without a window: err %v, want a definition error", err)
		}
	})
	t.Run("concurrent reservations", func(t *testing.T) { concurrent(t, open(t)) })
}

// charge builds a charge.
func charge(c *store.Counter, amount int64) store.Charge {
	return store.Charge{Counter: c, Amount: amount}
}

// audit builds an audit charge.
func audit(c *store.Counter, amount int64) store.Charge {
	return store.Charge{Counter: c, Amount: amount, Audit: true}
}

// ok is an allowed decision with the given states.
func ok(states ...store.State) store.Decision {
	return store.Decision{Allowed: true, Denied: -1, States: states}
}

// refused is a refused decision.
func refused(denied int, retry time.Duration, states ...store.State) store.Decision {
	return store.Decision{Denied: denied, RetryAfter: retry, States: states}
}

// st builds a State.
func st(remaining int64, reset time.Duration) store.State {
	return store.State{Remaining: remaining, Reset: reset}
}

// counterStart is a start instant on a whole minute (so sliding slots align).
var counterStart = time.Date(2024, 5, 14, 10, 0, 0, 0, time.UTC)

// bucketCases are the token bucket's cases: 10 units per 10s refill one per second.
func bucketCases() []scenario {
	b := &store.Counter{Key: "bucket", Algorithm: store.Bucket, Limit: 10, Window: 10 * time.Second}
	s := time.Second
	return []scenario{
		{name: "bucket refill and cap", start: counterStart, steps: []step{
			{peek: []*store.Counter{b}, states: []store.State{st(10, 0)}},
			{reserve: []store.Charge{charge(b, 4)}, want: ok(st(6, 4*s))},
			{at: 1500 * time.Millisecond, peek: []*store.Counter{b}, states: []store.State{st(7, 2500*time.Millisecond)}},
			{at: 1500 * time.Millisecond, reserve: []store.Charge{charge(b, 8)}, want: refused(0, 500*time.Millisecond, st(7, 2500*time.Millisecond))},
			{at: 1500 * time.Millisecond, reserve: []store.Charge{charge(b, 11)}, want: refused(0, 0, st(7, 2500*time.Millisecond))},
			{at: 1500 * time.Millisecond, reserve: []store.Charge{charge(b, 7)}, want: ok(st(0, 9500*time.Millisecond))},
			{at: 100 * s, peek: []*store.Counter{b}, states: []store.State{st(10, 0)}},
			{at: 100 * s, reserve: []store.Charge{charge(b, 10)}, want: ok(st(0, 10*s))},
		}},
		{name: "bucket debt and give back", start: counterStart, steps: []step{
			{adjust: []store.Charge{charge(b, 15)}},
			{peek: []*store.Counter{b}, states: []store.State{st(0, 15*s)}},
			{at: 4 * s, reserve: []store.Charge{charge(b, 1)}, want: refused(0, 2*s, st(0, 11*s))},
			{at: 6 * s, reserve: []store.Charge{charge(b, 1)}, want: ok(st(0, 10*s))},
			{at: 6 * s, adjust: []store.Charge{charge(b, -3)}},
			{at: 6 * s, peek: []*store.Counter{b}, states: []store.State{st(3, 7*s)}},
			{at: 6 * s, adjust: []store.Charge{charge(b, -100)}},
			{at: 6 * s, peek: []*store.Counter{b}, states: []store.State{st(10, 0)}},
			{at: 6 * s, adjust: []store.Charge{charge(b, 1000)}}, // debt stops at three windows
			{at: 6 * s, peek: []*store.Counter{b}, states: []store.State{st(0, 40*s)}},
		}},
		{name: "bucket sub-unit refill", start: counterStart, steps: []step{
			{reserve: []store.Charge{charge(b, 10)}, want: ok(st(0, 10*s))},
			{at: 999 * time.Millisecond, reserve: []store.Charge{charge(b, 1)}, want: refused(0, time.Millisecond, st(0, 9001*time.Millisecond))},
			{at: 1000 * time.Millisecond, reserve: []store.Charge{charge(b, 1)}, want: ok(st(0, 10*s))},
		}},
	}
}
