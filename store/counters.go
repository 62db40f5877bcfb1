package store

import (
	"context"
	"errors"
	"time"
)

// Algorithm is how a counter forgets what was charged to it.
type Algorithm uint8

// The counter algorithms. Every implementation of [Counters] applies the
// same arithmetic (see docs/metering.md), so that a limit means the same in
// memory and in Redis.
const (
	// Bucket is a token bucket: Limit units refill evenly over Window, and
	// the level never exceeds Limit. Rate limits ("1000 tokens per minute").
	Bucket Algorithm = iota + 1
	// Calendar counts what was charged since the start of the current
	// calendar period (day, week from Monday, month) in Location; it resets
	// to zero when the next period starts. Calendar budgets.
	Calendar
	// Sliding counts what was charged in the last Window, kept in
	// SlidingSlots slots of Window/SlidingSlots each (a charge leaves the
	// count when its slot leaves the window). Rolling budgets.
	Sliding
)

// SlidingSlots is how many slots a Sliding counter keeps.
const SlidingSlots = 24

// Period is a calendar period.
type Period uint8

// The calendar periods.
const (
	Day Period = iota + 1
	Week
	Month
)

// Counter is one limit or budget on one subject (a key, a consumer, a
// team, a model, a route, or a combination). Counters are values built per
// request from the configuration; Key identifies the state they share.
type Counter struct {
	// Key names the counter's state, stable across reloads and replicas
	// ("tpm|consumer=alice"). It includes the limit's definition where a
	// change of definition must start from zero.
	Key       string
	Algorithm Algorithm
	// Limit is the capacity in units: requests, tokens, or picodollars.
	Limit int64
	// Window is a Bucket's refill time and a Sliding counter's span.
	Window time.Duration
	// Period and Location define a Calendar counter's periods.
	Period   Period
	Location *time.Location
}

// Charge is an amount to reserve or adjust on one counter.
type Charge struct {
	Counter *Counter
	// Amount is in the counter's units; negative in an adjustment gives back.
	Amount int64
	// Audit marks a counter whose refusal is only reported: Reserve charges
	// it even when it has no room, and reports it in Decision.Audited.
	Audit bool
}

// State is what a counter has left at an instant.
type State struct {
	// Remaining is Limit minus what is used (never below zero here).
	Remaining int64
	// Reset is how long until the counter is back to its full Limit
	// (Bucket, Sliding) or until the period ends (Calendar).
	Reset time.Duration
}

// Decision is the outcome of a Reserve.
type Decision struct {
	// Allowed is true when every non-audit charge fit; the charges were
	// then all applied. When false nothing was applied.
	Allowed bool
	// Denied is the index of the first charge that did not fit (-1 if none).
	Denied int
	// RetryAfter is, when refused, how long until the denied counter has
	// room for its charge (0 when it never will, e.g. the charge exceeds the limit).
	RetryAfter time.Duration
	// States are the counters' states after the decision, one per charge.
	States []State
	// Audited are the indexes of audit charges that did not fit.
	Audited []int
}

// Counters holds limit and budget state. Reserve is all-or-nothing across
// its charges, atomically, so concurrent requests can never together pass a
// counter's Limit by more than the reservations' own error. Implementations
// are safe for concurrent use; now is passed in so that tests inject a clock
// (and replicas agree within their clocks' skew).
type Counters interface {
	// Reserve charges every counter if all non-audit charges fit
	// (remaining >= amount), else none.
	Reserve(ctx context.Context, now time.Time, charges []Charge) (Decision, error)
	// Adjust adds each charge's amount without checking (settlement:
	// actual minus reserved, which may be negative). Adjust applies to the
	// period or slot the reservation was made in when it is still current,
	// else to the current one.
	Adjust(ctx context.Context, now time.Time, charges []Charge) error
	// Peek returns the counters' states without changing them.
	Peek(ctx context.Context, now time.Time, counters []*Counter) ([]State, error)
	// Close releases the store's resources.
	Close() error
}

// ErrUnavailable wraps errors of a shared store that cannot be reached; the
// policy then follows its failure mode (fail open or closed).
var ErrUnavailable = errors.New("store unavailable")
