package ai

import (
	"context"
	"math/rand/v2"

	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// candidate is one backend that serves the request's model.
type candidate struct {
	i        int // the ref's index in the rule
	b        *backend
	upstream string // the model to ask the upstream for
	listed   bool   // the configuration names the client's model
	weight   int
	// rank orders candidates: priority first, then a backend that names the
	// model (models, aliases or the client's backend/model form) before a
	// catch-all backend of the same priority.
	rank int
}

// maxInline is how many candidates fit without a heap allocation.
const maxInline = 8

// Select implements [upstream.Selector], the AI rule's priority and
// failover order: the indexes of the rule's refs that serve x.Model and may
// be tried now (healthy, not ejected, no Retry-After wait), by priority
// group, named before catch-all, then a weighted shuffle. The front end
// takes its attempts in this order (see resolve).
func (h *ruleHandler) Select(_ context.Context, x *policies.Exchange, buf []int) []int {
	var cbuf [maxInline]candidate
	cands, _, _ := h.candidates(x.Model, upstream.Now(), cbuf[:])
	out := buf[:0]
	for _, c := range cands {
		out = append(out, c.i)
	}
	return out
}

// resolve turns a selected order into the candidates to attempt, each with
// the upstream model to ask for.
func (h *ruleHandler) resolve(order []int, model string, buf []candidate) []candidate {
	out := buf[:0]
	for _, i := range order {
		b := h.bs[i]
		up, listed, _ := b.serves(model)
		out = append(out, candidate{i: i, b: b, upstream: up, listed: listed})
	}
	return out
}

// candidates returns, in the order to try them, the backends of the rule
// that serve model: by priority group (lower first), within a group a
// weighted random order. unhealthy counts the candidates skipped for health
// (Retry-After or ejection). buf is reused when large enough.
func (h *ruleHandler) candidates(model string, now int64, buf []candidate) (out []candidate, matched, unhealthy int) {
	out = buf[:0]
	var ibuf [maxInline]int
	for _, i := range h.idx.lookup(model, ibuf[:0]) {
		b := h.bs[i]
		w := weightOf(h.refs[i])
		if w <= 0 {
			continue
		}
		up, listed, ok := b.serves(model)
		if !ok {
			continue
		}
		matched++
		if !b.healthy(now) {
			unhealthy++
			continue
		}
		p := h.refs[i].Priority
		rank := 2 * p
		if !listed && !b.namedBy(model) {
			rank++ // catch-all
		}
		out = append(out, candidate{i: i, b: b, upstream: up, listed: listed, weight: w, rank: rank})
	}
	if len(out) > 1 {
		order(out)
	}
	return out, matched, unhealthy
}

// order sorts cs by rank (priority, then specific before catch-all), then
// shuffles each group by weight: each position is drawn among the remaining
// members with probability proportional to their weight.
func order(cs []candidate) {
	for i := 1; i < len(cs); i++ { // stable insertion sort: groups are small
		for j := i; j > 0 && cs[j].rank < cs[j-1].rank; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	for start := 0; start < len(cs); {
		end := start + 1
		for end < len(cs) && cs[end].rank == cs[start].rank {
			end++
		}
		for i := start; i < end-1; i++ {
			total := 0
			for _, c := range cs[i:end] {
				total += c.weight
			}
			n := rand.IntN(total)
			for j := i; j < end; j++ {
				if n < cs[j].weight {
					cs[i], cs[j] = cs[j], cs[i]
					break
				}
				n -= cs[j].weight
			}
		}
		start = end
	}
}
