// Package meter is the arithmetic of the counter algorithms, written once as
// pure functions of a counter's definition, its state and an instant (in
// Unix milliseconds), so that every [store.Counters] implementation applies
// exactly the same rules. The Redis implementation mirrors these functions in
// Lua (store/redis/script.go); the two must change together.
//
// All values stay below 2^53 in magnitude (bucket levels are bounded by
// construction; amounts and calendar/sliding sums are clamped), so that the
// Lua mirror, which computes with doubles, gets the same integers. Calendar
// and sliding limits above 2^53 (about 9,007 US dollars in picodollars) are
// still counted, but exactly only up to that bound.
package meter

import (
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// Bounds of the integer arithmetic.
const (
	// MaxAmount bounds the magnitude of one charge and of the sum of the
	// charges on one key within a call; larger values are clamped.
	MaxAmount = 1 << 50
	// MaxUsed bounds a calendar or sliding count (and a sliding slot).
	MaxUsed = 1 << 52
	// maxBucket bounds a bucket's Limit × Scale (its full level).
	maxBucket = 1 << 50
	// bucketDebt is how many full buckets of debt a bucket may owe.
	bucketDebt = 3
	// bucketStep bounds a bucket charge to this many Limits (beyond it the
	// result is clamped anyway).
	bucketStep = bucketDebt + 1
)

// Params are a counter's definition turned into integers at one instant.
type Params struct {
	Alg   store.Algorithm
	Limit int64
	// Now is the instant in Unix milliseconds.
	Now int64
	// Bucket: the level refills Limit per Tick milliseconds, and is kept
	// multiplied by Scale (the window in ticks), so that refilling is exact.
	Tick, Scale int64
	// Calendar: the current period's start and end in Unix milliseconds.
	Start, End int64
	// Sliding: the slot length in milliseconds.
	Slot int64
}

// ErrCounter is returned for a counter whose definition cannot be counted.
var ErrCounter = errors.New("invalid counter")

// Prepare computes the parameters of c at now.
func Prepare(c *store.Counter, now time.Time) (Params, error) {
	if c == nil {
		return Params{}, fmt.Errorf("%w: nil counter", ErrCounter)
	}
	if c.Limit < 0 {
		return Params{}, fmt.Errorf("%w %q: negative limit", ErrCounter, c.Key)
	}
	p := Params{Alg: c.Algorithm, Limit: c.Limit, Now: now.UnixMilli()}
	switch c.Algorithm {
	case store.Bucket:
		if c.Window <= 0 || c.Limit == 0 {
			return Params{}, fmt.Errorf("%w %q: a bucket needs a window and a positive limit", ErrCounter, c.Key)
		}
		p.Limit = min(p.Limit, maxBucket)
		p.Tick, p.Scale = BucketTicks(p.Limit, c.Window)
	case store.Calendar:
		p.Start, p.End = PeriodBounds(now, c.Period, c.Location)
		if p.End <= p.Start {
			return Params{}, fmt.Errorf("%w %q: unknown calendar period %d", ErrCounter, c.Key, c.Period)
		}
	case store.Sliding:
		if c.Window <= 0 {
			return Params{}, fmt.Errorf("%w %q: sliding counter without a window", ErrCounter, c.Key)
		}
		p.Slot = max(1, c.Window.Milliseconds()/store.SlidingSlots)
	default:
		return Params{}, fmt.Errorf("%w %q: unknown algorithm %d", ErrCounter, c.Key, c.Algorithm)
	}
	return p, nil
}

// BucketTicks returns a bucket's tick (in milliseconds) and its window in
// ticks (Scale): the tick is one millisecond unless limit × window in
// milliseconds exceeds 2^50, in which case it is the smallest whole number
// of milliseconds that keeps limit × Scale within 2^50.
func BucketTicks(limit int64, window time.Duration) (tick, scale int64) {
	w := max(1, window.Milliseconds())
	tick = 1
	if limit > 0 && limit > maxBucket/w {
		tick = int64(float64(limit) * float64(w) / maxBucket)
		for tick < 1 || limit > maxBucket/max(1, w/tick) {
			tick++
		}
	}
	return tick, max(1, w/tick)
}

// PeriodBounds returns the start and end, in Unix milliseconds, of the
// calendar period holding now in loc (UTC when nil): a day from midnight, a
// week from Monday midnight, a month from the 1st at midnight. time.Date
// normalizes, so DST changes and month ends need no special case. It returns
// (0, 0) for an unknown period.
func PeriodBounds(now time.Time, period store.Period, loc *time.Location) (start, end int64) {
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	y, m, d := t.Date()
	var s, e time.Time
	switch period {
	case store.Day:
		s, e = time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case store.Week:
		d -= (int(t.Weekday()) + 6) % 7 // back to Monday
		s, e = time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+7, 0, 0, 0, 0, loc)
	case store.Month:
		s, e = time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	default:
		return 0, 0
	}
	return s.UnixMilli(), e.UnixMilli()
}

// Clamp bounds a charge's amount to ±MaxAmount.
func Clamp(amount int64) int64 {
	return min(max(amount, -MaxAmount), MaxAmount)
}

// fdiv is floor division (b > 0).
func fdiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// cdiv is ceiling division (b > 0).
func cdiv(a, b int64) int64 { return -fdiv(-a, b) }

// ms converts milliseconds to a duration, never negative.
func ms(v int64) time.Duration { return time.Duration(max(0, v)) * time.Millisecond }
