package meter

import (
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// Slots is the sliding counters' slot count.
const Slots = store.SlidingSlots

// State is one counter's state, whatever its algorithm. The zero State is
// "no state": the first Advance initializes it for the counter's algorithm.
type State struct {
	Alg store.Algorithm
	// Limit is the limit seen last (to tell, when idle, that a bucket is full).
	Limit int64
	// Level is a bucket's level × Scale, or a calendar counter's used amount.
	Level int64
	// Mark is a bucket's last refill (Unix ms), a calendar counter's period
	// start (Unix ms), or a sliding counter's newest slot number (Unix ms
	// divided by the slot length).
	Mark int64
	// Scale is a bucket's window in ticks, a calendar counter's period end
	// (Unix ms), or a sliding counter's slot length (ms).
	Scale int64
	// Tick is a bucket's tick in milliseconds.
	Tick int64
	// Slots are a sliding counter's slots, slot number n at n mod Slots.
	Slots *[Slots]int64
}

// Advance brings s to p.Now: a bucket refills, a calendar counter starts a
// new period, a sliding counter forgets the slots that left its window. A
// state of another algorithm is replaced by a fresh one; a changed
// definition converts the state (see docs/metering-counters.md).
func (s *State) Advance(p *Params) {
	fresh := s.Alg != p.Alg
	s.Alg, s.Limit = p.Alg, p.Limit
	switch p.Alg {
	case store.Bucket:
		full := p.Limit * p.Scale
		switch {
		case fresh:
			s.Level, s.Mark = full, p.Now
		case s.Scale != p.Scale:
			s.Level = fdiv(s.Level, max(1, s.Scale)) * p.Scale
		}
		s.Scale, s.Tick = p.Scale, p.Tick
		s.Level = min(max(s.Level, -bucketDebt*full), full)
		if p.Now > s.Mark {
			if s.Level >= full {
				s.Mark = p.Now
				break
			}
			n := fdiv(p.Now-s.Mark, p.Tick)
			if n >= cdiv(full-s.Level, p.Limit) {
				s.Level, s.Mark = full, p.Now
			} else {
				s.Level += n * p.Limit
				s.Mark += n * p.Tick
			}
		}
	case store.Calendar:
		if fresh || s.Mark < p.Start {
			s.Level, s.Mark = 0, p.Start
		}
		s.Scale = p.End
	case store.Sliding:
		cur := fdiv(p.Now, p.Slot)
		if s.Slots == nil {
			s.Slots = new([Slots]int64)
		}
		switch {
		case fresh:
			*s.Slots = [Slots]int64{}
			s.Mark = cur
		case s.Scale != p.Slot:
			used := s.used()
			*s.Slots = [Slots]int64{}
			s.Mark = cur
			s.Slots[cur%Slots] = used
		case cur-s.Mark >= Slots:
			*s.Slots = [Slots]int64{}
			s.Mark = cur
		case cur > s.Mark:
			for k := s.Mark + 1; k <= cur; k++ {
				s.Slots[k%Slots] = 0
			}
			s.Mark = cur
		}
		s.Scale = p.Slot
	}
}

// used is a calendar or sliding counter's used amount.
func (s *State) used() int64 {
	if s.Alg != store.Sliding {
		return s.Level
	}
	var u int64
	for _, v := range s.Slots {
		u += v
	}
	return min(u, MaxUsed)
}

// Fits reports whether amount (the sum, clamped, of the call's charges on
// this counter so far, this one included) fits in the advanced state s.
func (s *State) Fits(p *Params, amount int64) bool {
	if amount <= 0 {
		return true
	}
	if p.Alg == store.Bucket {
		return amount <= p.Limit && s.Level >= amount*p.Scale
	}
	return s.used()+amount <= p.Limit
}

// Add charges amount to the advanced state s (negative gives back).
func (s *State) Add(p *Params, amount int64) {
	switch p.Alg {
	case store.Bucket:
		full := p.Limit * p.Scale
		a := min(max(Clamp(amount), -bucketStep*p.Limit), bucketStep*p.Limit)
		s.Level = min(max(s.Level-a*p.Scale, -bucketDebt*full), full)
	case store.Calendar:
		s.Level = min(max(s.Level+Clamp(amount), 0), MaxUsed)
	case store.Sliding:
		if amount >= 0 {
			i := s.Mark % Slots
			s.Slots[i] = min(s.Slots[i]+Clamp(amount), MaxUsed)
			return
		}
		// Give back from the newest slots first, never below zero.
		back := -Clamp(amount)
		for k := s.Mark; k > s.Mark-Slots && back > 0; k-- {
			d := min(back, s.Slots[k%Slots])
			s.Slots[k%Slots] -= d
			back -= d
		}
	}
}

// Observe returns what the advanced state s has left at p.Now.
func (s *State) Observe(p *Params) store.State {
	switch p.Alg {
	case store.Bucket:
		full := p.Limit * p.Scale
		st := store.State{Remaining: max(0, fdiv(s.Level, p.Scale))}
		if s.Level < full {
			st.Reset = ms(cdiv(full-s.Level, p.Limit)*p.Tick - (p.Now - s.Mark))
		}
		return st
	case store.Calendar:
		return store.State{Remaining: max(0, p.Limit-s.Level), Reset: ms(p.End - p.Now)}
	default:
		st := store.State{Remaining: max(0, p.Limit-s.used())}
		for k := s.Mark; k > s.Mark-Slots; k-- {
			if s.Slots[k%Slots] > 0 {
				st.Reset = ms((k+Slots)*p.Slot - p.Now)
				break
			}
		}
		return st
	}
}

// RetryAfter returns how long until amount (as in [State.Fits]) fits in the
// advanced state s, or 0 when it never will (amount above the limit).
func (s *State) RetryAfter(p *Params, amount int64) time.Duration {
	if amount > p.Limit {
		return 0
	}
	switch p.Alg {
	case store.Bucket:
		need := amount*p.Scale - s.Level
		if need <= 0 {
			return 0
		}
		return ms(cdiv(need, p.Limit)*p.Tick - (p.Now - s.Mark))
	case store.Calendar:
		return ms(p.End - p.Now)
	default:
		need := s.used() + amount - p.Limit
		var freed int64
		for k := s.Mark - Slots + 1; k <= s.Mark; k++ {
			freed += s.Slots[k%Slots]
			if freed >= need {
				return ms((k+Slots)*p.Slot - p.Now)
			}
		}
		return 0
	}
}

// Idle reports whether s carries no information at now (Unix ms): a full
// bucket, a calendar counter at zero or in a past period, a sliding counter
// whose slots are all empty or out of the window. An idle state may be
// dropped: a counter without state starts full.
func (s *State) Idle(now int64) bool {
	switch s.Alg {
	case store.Bucket:
		c := *s
		c.Advance(&Params{Alg: s.Alg, Limit: s.Limit, Now: now, Tick: max(1, s.Tick), Scale: max(1, s.Scale)})
		return c.Level >= c.Limit*c.Scale
	case store.Calendar:
		return s.Level == 0 || now >= s.Scale
	case store.Sliding:
		return s.Slots == nil || fdiv(now, max(1, s.Scale))-s.Mark >= Slots || s.used() == 0
	}
	return true
}

// Reserve decides charges against their advanced states and, when every
// non-audit charge fits, applies them all; otherwise it applies nothing.
// states[i] is the state of charges[i] (the same pointer for charges on the
// same key), params[i] its parameters. A charge fits when the sum of the
// call's charges on its key up to and including it fits. d.States must have
// len(charges) elements; Reserve fills d.
func Reserve(params []Params, charges []store.Charge, states []*State, d *store.Decision) {
	d.Allowed, d.Denied, d.RetryAfter, d.Audited = true, -1, 0, nil
	for i := range charges {
		sum := Cumulative(charges, states, i)
		if states[i].Fits(&params[i], sum) {
			continue
		}
		if charges[i].Audit {
			d.Audited = append(d.Audited, i)
			continue
		}
		if d.Allowed {
			d.Allowed, d.Denied = false, i
			d.RetryAfter = states[i].RetryAfter(&params[i], sum)
		}
	}
	if d.Allowed {
		for i := range charges {
			states[i].Add(&params[i], charges[i].Amount)
		}
	}
	for i := range charges {
		d.States[i] = states[i].Observe(&params[i])
	}
}

// Cumulative is the clamped sum of the amounts of charges[0..i] on the state
// of charges[i].
func Cumulative(charges []store.Charge, states []*State, i int) int64 {
	var sum int64
	for j := 0; j <= i; j++ {
		if states[j] == states[i] {
			sum = Clamp(sum + Clamp(charges[j].Amount))
		}
	}
	return sum
}
