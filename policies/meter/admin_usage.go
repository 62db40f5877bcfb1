package meter

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// usageQuery answers GET /usage?consumer=&team=&model=&key=&from=&to=&groupBy=&format=csv.
// from and to are RFC 3339 times or dates (2026-12-01).
func (s *Service) usageQuery(w http.ResponseWriter, r *http.Request, o AdminOptions) {
	if o.Usage == nil {
		adminError(w, http.StatusNotImplemented, "no usage store is configured")
		return
	}
	v := r.URL.Query()
	q := store.Query{Consumer: v.Get("consumer"), Team: v.Get("team"), Model: v.Get("model"), KeyID: v.Get("key")}
	var err error
	if q.From, err = parseTime(v.Get("from")); err != nil {
		adminError(w, http.StatusBadRequest, "from: "+err.Error())
		return
	}
	if q.To, err = parseTime(v.Get("to")); err != nil {
		adminError(w, http.StatusBadRequest, "to: "+err.Error())
		return
	}
	if g := v.Get("groupBy"); g != "" {
		q.GroupBy = strings.Split(g, ",")
	}
	rows, err := o.Usage.Query(r.Context(), q)
	if err != nil {
		if strings.Contains(err.Error(), "groupBy") {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		adminErr(w, err)
		return
	}
	if v.Get("format") == "csv" {
		writeUsageCSV(w, q.GroupBy, rows)
		return
	}
	type row struct {
		Group map[string]string `json:"group,omitempty"`
		store.Row
		CostUSD float64 `json:"costUsd"`
	}
	out := make([]row, len(rows))
	for i, r := range rows {
		out[i] = row{Row: r, CostUSD: float64(r.CostPico) / 1e12}
		if len(q.GroupBy) > 0 {
			out[i].Group = map[string]string{}
			for j, g := range q.GroupBy {
				if j < len(r.Group) {
					out[i].Group[g] = r.Group[j]
				}
			}
		}
		out[i].Row.Group = nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"usage": out})
}

// writeUsageCSV writes rows with a header line.
func writeUsageCSV(w http.ResponseWriter, groupBy []string, rows []store.Row) {
	w.Header().Set("Content-Type", "text/csv")
	cw := csv.NewWriter(w)
	head := append(append([]string{}, groupBy...), "requests", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "cost_usd")
	_ = cw.Write(head)
	for _, r := range rows {
		rec := append(append([]string{}, r.Group...),
			strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.InputTokens, 10), strconv.FormatInt(r.OutputTokens, 10),
			strconv.FormatInt(r.CachedTokens, 10), strconv.FormatInt(r.ReasoningTokens, 10),
			strconv.FormatFloat(float64(r.CostPico)/1e12, 'f', 6, 64))
		_ = cw.Write(rec)
	}
	cw.Flush()
}

// parseTime reads an RFC 3339 time or a date; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a date (2026-12-01)", s)
	}
	return t, nil
}

// limitState is one limit or budget of a consumer in GET /consumers/{name}.
type limitState struct {
	Subject   string  `json:"subject"`
	Name      string  `json:"name"`
	Unit      string  `json:"unit"`
	Limit     float64 `json:"limit"`
	Remaining float64 `json:"remaining"`
	ResetIn   string  `json:"resetIn"`
	Audit     bool    `json:"audit,omitempty"`
}

// consumerLimits answers GET /consumers/{name}: what the consumer's own
// limits and budgets and its team's have left now.
func (s *Service) consumerLimits(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	dir := s.dir.Load()
	var c *consumerEntry
	if dir != nil {
		c = dir.consumers[name]
	}
	if c == nil {
		adminError(w, http.StatusNotFound, fmt.Sprintf("unknown consumer %q", name))
		return
	}
	var counters []*store.Counter
	var out []limitState
	for _, sub := range []*subject{c.own, c.team} {
		if sub == nil {
			continue
		}
		for _, l := range sub.limits {
			for _, ctr := range []*store.Counter{l.requests, l.tokens} {
				if ctr == nil {
					continue
				}
				unit := "tokens"
				if ctr == l.requests {
					unit = "requests"
				}
				counters = append(counters, ctr)
				out = append(out, limitState{Subject: sub.kind + " " + sub.name, Name: l.name, Unit: unit, Limit: float64(ctr.Limit), Audit: l.audit})
			}
		}
		for _, b := range sub.budgets {
			unit, lim := "tokens", float64(b.counter.Limit)
			if b.money {
				unit, lim = "usd", lim/1e12
			}
			counters = append(counters, b.counter)
			out = append(out, limitState{Subject: sub.kind + " " + sub.name, Name: b.name, Unit: unit, Limit: lim, Audit: b.audit})
		}
	}
	if len(counters) > 0 {
		states, err := s.counters.Peek(r.Context(), s.now(), counters)
		if err != nil {
			adminErr(w, err)
			return
		}
		for i, st := range states {
			rem := float64(st.Remaining)
			if out[i].Unit == "usd" {
				rem /= 1e12
			}
			out[i].Remaining, out[i].ResetIn = rem, formatReset(st.Reset)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"consumer": name, "team": c.tm, "limits": nonNil(out)})
}
