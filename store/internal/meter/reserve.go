package meter

import "github.com/switchyard-ai/switchyard/store"

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
