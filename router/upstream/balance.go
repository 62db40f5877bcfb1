package upstream

import (
	"math/rand/v2"

	"github.com/switchyard-ai/switchyard/config"
)

// eligibility says which members a pick may choose.
type eligibility struct {
	now          int64  // nanotime
	tried        uint64 // members already tried by this request (first 64 only)
	allowEjected bool
	allowTried   bool
}

func (e *eligibility) ok(i int, m *member) bool {
	st := m.st
	if !st.usable() || !st.healthy.Load() {
		return false
	}
	if !e.allowEjected && st.ejectedUntil.Load() > e.now {
		return false
	}
	if !e.allowTried && i < 64 && e.tried&(1<<uint(i)) != 0 {
		return false
	}
	return true
}

// pick chooses a member index, or -1 when none is usable. It prefers, in order:
// healthy non-ejected untried members, healthy untried ones, healthy non-ejected
// ones, then any healthy one.
func (b *backend) pick(tried uint64) int {
	e := eligibility{now: nanotime(), tried: tried}
	for pass := 0; pass < 4; pass++ {
		e.allowEjected = pass == 1 || pass == 3
		e.allowTried = pass >= 2
		if pass >= 2 && tried == 0 {
			break // passes 2 and 3 repeat 0 and 1 when nothing was tried
		}
		var i int
		switch b.lb {
		case config.LBRandom:
			i = b.pickRandom(&e)
		case config.LBLeastRequest:
			i = b.pickLeast(&e)
		default:
			i = b.pickRoundRobin(&e)
		}
		if i >= 0 {
			return i
		}
	}
	return -1
}

// pickRoundRobin is smooth weighted round robin: every eligible member gains its
// weight, the richest is chosen and pays the total. Picks interleave by weight.
func (b *backend) pickRoundRobin(e *eligibility) int {
	b.rrMu.Lock()
	defer b.rrMu.Unlock()
	best, total := -1, 0
	for i := range b.members {
		m := &b.members[i]
		if !e.ok(i, m) {
			continue
		}
		m.current += m.weight
		total += m.weight
		if best < 0 || m.current > b.members[best].current {
			best = i
		}
	}
	if best >= 0 {
		b.members[best].current -= total
	}
	return best
}

// pickRandom chooses an eligible member with probability proportional to its weight.
func (b *backend) pickRandom(e *eligibility) int {
	total := 0
	for i := range b.members {
		if e.ok(i, &b.members[i]) {
			total += b.members[i].weight
		}
	}
	if total == 0 {
		return -1
	}
	n := rand.IntN(total)
	last := -1
	for i := range b.members {
		m := &b.members[i]
		if !e.ok(i, m) {
			continue
		}
		last = i
		if n < m.weight {
			return i
		}
		n -= m.weight
	}
	return last // eligibility changed between the passes
}

// pickLeast is power of two choices: two weighted random members, the one with
// fewer active requests per unit of weight wins (the first on a tie).
func (b *backend) pickLeast(e *eligibility) int {
	a := b.pickRandom(e)
	if a < 0 {
		return -1
	}
	c := b.pickRandom(e)
	if c < 0 || c == a {
		return a
	}
	ma, mc := &b.members[a], &b.members[c]
	// activeA/weightA <= activeC/weightC, cross-multiplied; on a tie (an idle
	// backend) the first draw wins, so idle traffic follows the weights exactly.
	if ma.st.active.Load()*int64(mc.weight) <= mc.st.active.Load()*int64(ma.weight) {
		return a
	}
	return c
}
