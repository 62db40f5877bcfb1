package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// calendarCases cross DST changes, Monday midnights, month ends (leap year)
// and a half-hour zone.
func calendarCases(t *testing.T) []scenario {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	h := time.Hour
	day := &store.Counter{Key: "cal-day", Algorithm: store.Calendar, Limit: 100, Period: store.Day, Location: ny}
	week := &store.Counter{Key: "cal-week", Algorithm: store.Calendar, Limit: 100, Period: store.Week, Location: ny}
	month := &store.Counter{Key: "cal-month", Algorithm: store.Calendar, Limit: 100, Period: store.Month, Location: kolkata}
	return []scenario{
		{name: "calendar day across spring forward", start: time.Date(2024, 3, 10, 1, 0, 0, 0, ny), steps: []step{
			{reserve: []store.Charge{charge(day, 60)}, want: ok(st(40, 22*h))}, // a 23-hour day
			{at: 11 * h, reserve: []store.Charge{charge(day, 50)}, want: refused(0, 11*h, st(40, 11*h))},
			{at: 11 * h, reserve: []store.Charge{charge(day, 101)}, want: refused(0, 0, st(40, 11*h))},
			{at: 22*h - time.Millisecond, peek: []*store.Counter{day}, states: []store.State{st(40, time.Millisecond)}},
			{at: 22 * h, peek: []*store.Counter{day}, states: []store.State{st(100, 24*h)}},
		}},
		{name: "calendar day across fall back", start: time.Date(2024, 11, 3, 0, 30, 0, 0, ny), steps: []step{
			{reserve: []store.Charge{charge(day, 100)}, want: ok(st(0, 24*h+30*time.Minute))}, // a 25-hour day
			{at: 24*h + 30*time.Minute, reserve: []store.Charge{charge(day, 1)}, want: ok(st(99, 24*h))},
			{at: 24*h + 30*time.Minute, adjust: []store.Charge{charge(day, -500)}},
			{at: 24*h + 30*time.Minute, peek: []*store.Counter{day}, states: []store.State{st(100, 24*h)}},
		}},
		{name: "calendar week from Monday", start: time.Date(2024, 3, 10, 12, 0, 0, 0, ny), steps: []step{
			{reserve: []store.Charge{charge(week, 30)}, want: ok(st(70, 12*h))},
			{at: 12*h - time.Millisecond, peek: []*store.Counter{week}, states: []store.State{st(70, time.Millisecond)}},
			{at: 12 * h, peek: []*store.Counter{week}, states: []store.State{st(100, 7*24*h)}},
		}},
		{name: "calendar month end and leap day", start: time.Date(2024, 1, 31, 23, 0, 0, 0, kolkata), steps: []step{
			{reserve: []store.Charge{charge(month, 100)}, want: ok(st(0, h))},
			{reserve: []store.Charge{charge(month, 1)}, want: refused(0, h, st(0, h))},
			{at: h - time.Millisecond, adjust: []store.Charge{charge(month, 5)}},
			{at: h, reserve: []store.Charge{charge(month, 1)}, want: ok(st(99, 29*24*h))},            // 1 Feb 00:00 IST is 31 Jan 18:30 UTC
			{at: 29*24*h - 11*h, peek: []*store.Counter{month}, states: []store.State{st(99, 12*h)}}, // 29 Feb 12:00 IST
			{at: 29*24*h + h, peek: []*store.Counter{month}, states: []store.State{st(100, 31*24*h)}},
		}},
	}
}

// slidingCases use a 24s window: one-second slots.
func slidingCases() []scenario {
	c := &store.Counter{Key: "sliding", Algorithm: store.Sliding, Limit: 10, Window: 24 * time.Second}
	s, ms := time.Second, time.Millisecond
	return []scenario{
		{name: "sliding slot expiry", start: counterStart, steps: []step{
			{reserve: []store.Charge{charge(c, 5)}, want: ok(st(5, 24*s))},
			{at: 10500 * ms, reserve: []store.Charge{charge(c, 3)}, want: ok(st(2, 23500*ms))},
			{at: 10500 * ms, reserve: []store.Charge{charge(c, 5)}, want: refused(0, 13500*ms, st(2, 23500*ms))},
			{at: 23999 * ms, peek: []*store.Counter{c}, states: []store.State{st(2, 10001*ms)}},
			{at: 24 * s, peek: []*store.Counter{c}, states: []store.State{st(7, 10*s)}},
			{at: 24 * s, reserve: []store.Charge{charge(c, 3)}, want: ok(st(4, 24*s))},
			{at: 25 * s, adjust: []store.Charge{charge(c, -4)}}, // newest slots first
			{at: 25 * s, peek: []*store.Counter{c}, states: []store.State{st(8, 9*s)}},
			{at: 25 * s, reserve: []store.Charge{charge(c, 11)}, want: refused(0, 0, st(8, 9*s))},
			{at: 34 * s, peek: []*store.Counter{c}, states: []store.State{st(10, 0)}},
		}},
	}
}

// combinedCases reserve on several counters at once.
func combinedCases() []scenario {
	a := &store.Counter{Key: "multi-bucket", Algorithm: store.Bucket, Limit: 10, Window: 10 * time.Second}
	b := &store.Counter{Key: "multi-day", Algorithm: store.Calendar, Limit: 5, Period: store.Day}
	c := &store.Counter{Key: "multi-sliding", Algorithm: store.Sliding, Limit: 3, Window: 24 * time.Second}
	s, h := time.Second, time.Hour
	return []scenario{
		{name: "all or nothing", start: counterStart, steps: []step{
			{reserve: []store.Charge{charge(a, 2), charge(b, 2), charge(c, 4)}, want: refused(2, 0, st(10, 0), st(5, 14*h), st(3, 0))},
			{reserve: []store.Charge{charge(a, 2), charge(b, 6), charge(c, 1)}, want: refused(1, 0, st(10, 0), st(5, 14*h), st(3, 0))},
			{peek: []*store.Counter{a, b, c}, states: []store.State{st(10, 0), st(5, 14*h), st(3, 0)}},
			{reserve: []store.Charge{charge(a, 2), charge(b, 2), charge(c, 1)}, want: ok(st(8, 2*s), st(3, 14*h), st(2, 24*s))},
		}},
		{name: "audit charges", start: counterStart, steps: []step{
			{reserve: []store.Charge{charge(a, 4), audit(b, 6)}, want: store.Decision{Allowed: true, Denied: -1, States: []store.State{st(6, 4*s), st(0, 14*h)}, Audited: []int{1}}},
			{reserve: []store.Charge{audit(a, 7), charge(b, 1)}, want: store.Decision{Denied: 1, RetryAfter: 14 * h, States: []store.State{st(6, 4*s), st(0, 14*h)}, Audited: []int{0}}},
			{reserve: []store.Charge{audit(a, 7)}, want: store.Decision{Allowed: true, Denied: -1, States: []store.State{st(0, 11*s)}, Audited: []int{0}}},
		}},
		{name: "same key twice", start: counterStart, steps: []step{
			{reserve: []store.Charge{charge(a, 6), charge(a, 6)}, want: refused(1, 0, st(10, 0), st(10, 0))},
			{reserve: []store.Charge{charge(a, 6), charge(a, 4)}, want: ok(st(0, 10*s), st(0, 10*s))},
		}},
	}
}

// concurrent has goroutines reserve one unit each on two counters (in both
// orders) against a limit: exactly the limit must be admitted.
func concurrent(t *testing.T, c store.Counters) {
	const workers, limit = 40, 17
	a := &store.Counter{Key: "race-day", Algorithm: store.Calendar, Limit: limit, Period: store.Day}
	b := &store.Counter{Key: "race-bucket", Algorithm: store.Bucket, Limit: 1000, Window: time.Hour}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := range workers {
		charges := []store.Charge{charge(a, 1), charge(b, 1)}
		if i%2 == 1 {
			charges[0], charges[1] = charges[1], charges[0]
		}
		wg.Go(func() {
			d, err := c.Reserve(context.Background(), counterStart, charges)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != limit {
		t.Errorf("%d of %d reservations admitted against a limit of %d", n, workers, limit)
	}
	got, err := c.Peek(context.Background(), counterStart, []*store.Counter{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Remaining != 0 || got[1].Remaining != 1000-limit {
		t.Errorf("after the race: %+v, want remaining 0 and %d", got, 1000-limit)
	}
}
