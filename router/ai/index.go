package ai

import "strings"

// modelIndex tells, for a route, which of its refs may serve a model, so that
// a request looks at those only instead of asking every backend: refs by
// exact name (models and aliases), refs by backend name for the
// "backend/model" form (key and short name), and the catch-all refs (no
// models listed), which may serve any name. backend.serves still decides;
// the index only narrows the refs it is asked about.
type modelIndex struct {
	byModel  map[string][]int
	byPrefix map[string][]int
	catchAll []int
}

func buildIndex(bs []*backend) modelIndex {
	x := modelIndex{byModel: map[string][]int{}, byPrefix: map[string][]int{}}
	add := func(m map[string][]int, k string, i int) {
		if l := m[k]; len(l) == 0 || l[len(l)-1] != i {
			m[k] = append(l, i)
		}
	}
	for i, b := range bs {
		if b == nil {
			continue
		}
		for _, m := range b.cfg.Models {
			add(x.byModel, m, i)
		}
		for a := range b.cfg.Aliases {
			add(x.byModel, a, i)
		}
		add(x.byPrefix, b.key, i)
		if b.short != b.key {
			add(x.byPrefix, b.short, i)
		}
		if len(b.cfg.Models) == 0 {
			x.catchAll = append(x.catchAll, i)
		}
	}
	return x
}

// lookup appends to buf, in ascending order without duplicates, the refs
// that may serve model.
func (x *modelIndex) lookup(model string, buf []int) []int {
	out := append(buf[:0], x.byModel[model]...)
	for rest := model; ; {
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			break
		}
		out = append(out, x.byPrefix[model[:len(model)-len(rest)+j]]...)
		rest = rest[j+1:]
	}
	out = append(out, x.catchAll...)
	// Sort (insertion: the lists are short) and drop duplicates.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	n := 0
	for i, v := range out {
		if i == 0 || v != out[n-1] {
			out[n] = v
			n++
		}
	}
	return out[:n]
}
