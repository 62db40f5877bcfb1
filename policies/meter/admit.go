package meter

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/store"
)

// chargeKind is what a charge counts, so that Settle knows its real amount.
type chargeKind uint8

const (
	chRequests chargeKind = iota
	chTokensTotal
	chTokensInput
	chTokensOutput
	chMoney
)

// routeLimit is a route's rate limit: counters keyed per request by its subjects.
type routeLimit struct {
	limit
	by []string
}

// Admission is the policy that reserves a request's rate limits and budgets:
// those of its Principal's key, consumer and team, and the route's own rate
// limits by subject. One Counters.Reserve covers them all.
type Admission struct {
	svc    *Service
	dir    *directory
	route  string
	limits []routeLimit
}

var (
	_ policies.Policy = (*Admission)(nil)
	_ policies.Phased = (*Admission)(nil)
)

// Phase implements [policies.Phased]: rate limits and budgets are admitted together.
func (*Admission) Phase() policies.Phase { return policies.PhaseRateLimit }

// newAdmission compiles a rule's admission policy (nil when nothing is metered).
func newAdmission(svc *Service, dir *directory, route string, p config.Policies) (*Admission, error) {
	a := &Admission{svc: svc, dir: dir, route: route}
	for _, l := range p.RateLimits {
		cl, err := compileLimit("", l)
		if err != nil {
			return nil, err
		}
		a.limits = append(a.limits, routeLimit{limit: cl, by: l.By})
	}
	return a, nil
}

// reservation is what one admitted request holds.
type reservation struct {
	svc      *Service
	dir      *directory
	charges  []store.Charge
	kinds    []chargeKind
	reserved []int64
	labels   []string        // each charge's limit or budget name, for messages
	limits   []string        // each charge's limit as x-ratelimit-limit-* says it ("" for budgets)
	owned    []store.Counter // route limit counters built for this request
	reqTime  time.Time
}

// Request implements [policies.Policy].
func (a *Admission) Request(ctx context.Context, x *policies.Exchange) (policies.Reservation, error) {
	p := x.Principal
	if p != nil && len(p.Models) > 0 && x.Model != "" && !slices.Contains(p.Models, x.Model) {
		return nil, &policies.Denial{Status: 403, Type: "permission_error", Code: "model_not_allowed",
			Message: "this API key may not use the model `" + x.Model + "`"}
	}
	if x.Opaque && p != nil && len(p.Models) > 0 {
		// The request's model is not read: an allowlist cannot be checked.
		return nil, &policies.Denial{Status: 403, Type: "permission_error", Code: "model_not_allowed",
			Message: "this API key is limited to some models, and this request is not an OpenAI operation the gateway reads a model from"}
	}
	r := a.svc.resPool.Get().(*reservation)
	r.svc, r.dir = a.svc, a.dir
	if p != nil {
		if own := a.dir.keyOwn[p.KeyID]; own != nil && p.KeyID != "" {
			r.addSubject(own)
		}
		if c := a.dir.consumers[p.Consumer]; c != nil {
			r.addSubject(c.own)
			r.addSubject(c.team)
		} else if p.Team != "" {
			// A JWT's consumer need not be configured; its team's limits apply.
			r.addSubject(a.dir.teams[p.Team])
		}
	}
	for i := range a.limits {
		r.addRouteLimit(&a.limits[i], a.route, x)
	}
	if len(r.charges) == 0 {
		r.free()
		return nil, nil
	}
	if x.Opaque && r.countsTokens() {
		// No usage is read from an opaque answer: token limits and budgets
		// would be reserved and refunded, never charged.
		r.free()
		return nil, &policies.Denial{Status: 403, Type: "permission_error", Code: "not_metered",
			Message: "token limits or budgets apply to this request, and it is not an OpenAI operation whose usage the gateway can count"}
	}
	r.estimate(x, a.svc)
	now := a.svc.at(x.Start)
	d, err := a.svc.counters.Reserve(ctx, now, r.charges)
	if err != nil {
		r.free()
		return a.svc.unavailable(err)
	}
	a.svc.headers(x, r, d)
	a.svc.audited(r, d)
	if !d.Allowed {
		den := a.svc.denial(r, d)
		r.free()
		return nil, den
	}
	r.reqTime = now
	return r, nil
}

// countsTokens reports whether a charge counts tokens or money.
func (r *reservation) countsTokens() bool {
	for _, k := range r.kinds {
		if k != chRequests {
			return true
		}
	}
	return false
}

// addSubject adds a subject's limits and budgets (nil: nothing).
func (r *reservation) addSubject(s *subject) {
	if s == nil {
		return
	}
	for i := range s.limits {
		r.addLimit(&s.limits[i], s.limits[i].requests, s.limits[i].tokens)
	}
	for i := range s.budgets {
		b := &s.budgets[i]
		k := chTokensTotal
		if b.money {
			k = chMoney
		}
		r.add(b.counter, k, b.audit, b.name, "")
	}
}

// addLimit adds a limit's request and token counters.
func (r *reservation) addLimit(l *limit, requests, tokens *store.Counter) {
	if requests != nil {
		r.add(requests, chRequests, l.audit, l.name, l.requestsText)
	}
	if tokens != nil {
		r.add(tokens, chTokensTotal+chargeKind(l.tokenType), l.audit, l.name, l.tokensText)
	}
}

// addRouteLimit adds a route limit's counters for this request's subjects.
func (r *reservation) addRouteLimit(l *routeLimit, route string, x *policies.Exchange) {
	var b strings.Builder
	b.WriteString("rl|route=")
	b.WriteString(route)
	for _, by := range l.by {
		b.WriteByte('|')
		b.WriteString(by)
		b.WriteByte('=')
		switch p := x.Principal; by {
		case "key":
			if p != nil {
				b.WriteString(p.KeyID)
			}
		case "consumer":
			if p != nil {
				b.WriteString(p.Consumer)
			}
		case "team":
			if p != nil {
				b.WriteString(p.Team)
			}
		case "model":
			b.WriteString(x.Model)
		}
	}
	key := b.String()
	var req, tok *store.Counter
	if l.requests != nil {
		c := *l.requests
		c.Key = key + "|" + strings.TrimPrefix(l.requests.Key, "rl||")
		r.owned = append(r.owned, c)
		req = &r.owned[len(r.owned)-1]
	}
	if l.tokens != nil {
		c := *l.tokens
		c.Key = key + "|" + strings.TrimPrefix(l.tokens.Key, "rl||")
		r.owned = append(r.owned, c)
		tok = &r.owned[len(r.owned)-1]
	}
	r.addLimit(&l.limit, req, tok)
}

// add appends one charge (its amount is set by estimate).
func (r *reservation) add(c *store.Counter, k chargeKind, audit bool, label, limitText string) {
	r.charges = append(r.charges, store.Charge{Counter: c, Audit: audit})
	r.kinds = append(r.kinds, k)
	r.labels = append(r.labels, label)
	r.limits = append(r.limits, limitText)
}

// estimate sets each charge's amount from the request: one request, the
// prompt counted with the tokenizer, the output it may generate.
func (r *reservation) estimate(x *policies.Exchange, svc *Service) {
	var in, out int64
	if r.countsTokens() {
		if x.PromptTokens == 0 {
			x.PromptTokens = svc.countPrompt(x)
		}
		in = int64(x.PromptTokens)
		out = int64(x.MaxTokens)
		if out <= 0 {
			out = int64(r.dir.maxTokens)
		}
		if x.Operation == schema.OpEmbeddings {
			out = 0
		}
	}
	r.reserved = r.reserved[:0]
	est := usage{input: in, output: out}
	for i, k := range r.kinds {
		n := r.amount(k, x, est)
		r.charges[i].Amount = n
		r.reserved = append(r.reserved, n)
	}
}

// amount is what usage u counts on a charge of kind k.
func (r *reservation) amount(k chargeKind, x *policies.Exchange, u usage) int64 {
	switch k {
	case chRequests:
		return 1
	case chTokensTotal:
		return u.input + u.output
	case chTokensInput:
		return u.input
	case chTokensOutput:
		return u.output
	}
	c, _ := r.dir.cost(x.Model, x.UpstreamModel, u)
	return c
}

// Settle implements [policies.Reservation]: each counter is adjusted by
// the real amount minus what was reserved.
func (r *reservation) Settle(ctx context.Context, x *policies.Exchange, u schema.Usage) {
	defer r.free()
	got := usageOf(u)
	n := 0
	for i, k := range r.kinds {
		real := r.amount(k, x, got)
		if delta := real - r.reserved[i]; delta != 0 {
			r.charges[n] = store.Charge{Counter: r.charges[i].Counter, Amount: delta}
			n++
		}
	}
	if n == 0 {
		return
	}
	if st := r.svc.settler; st != nil {
		job := make([]adjustment, n)
		for i, ch := range r.charges[:n] {
			job[i] = adjustment{counter: *ch.Counter, amount: ch.Amount}
		}
		if st.add(job) {
			return
		}
	}
	if err := r.svc.counters.Adjust(ctx, r.svc.at(x.End), r.charges[:n]); err != nil {
		r.svc.settleFailed(err)
	}
}

// usageOf converts a response's usage to metering's counts.
func usageOf(u schema.Usage) usage {
	out := usage{input: int64(u.PromptTokens), output: int64(u.CompletionTokens), cached: int64(u.Cached())}
	if d := u.PromptTokensDetails; d != nil {
		out.cacheWrite = int64(d.CacheWriteTokens)
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.reasoning = int64(d.ReasoningTokens)
	}
	return out
}

// free returns r to its pool.
func (r *reservation) free() {
	svc := r.svc
	clear(r.owned)
	clear(r.charges)
	clear(r.labels)
	clear(r.limits)
	r.charges, r.kinds, r.reserved, r.owned, r.labels = r.charges[:0], r.kinds[:0], r.reserved[:0], r.owned[:0], r.labels[:0]
	r.limits = r.limits[:0]
	r.svc, r.dir = nil, nil
	svc.resPool.Put(r)
}

// newReservationPool returns the pool of reservations.
func newReservationPool() *sync.Pool {
	return &sync.Pool{New: func() any {
		return &reservation{charges: make([]store.Charge, 0, 8), kinds: make([]chargeKind, 0, 8),
			reserved: make([]int64, 0, 8), labels: make([]string, 0, 8), limits: make([]string, 0, 8), owned: make([]store.Counter, 0, 4)}
	}}
}

// unavailable answers a request when the counters' store failed: admitted
// unmetered in fail-open mode, refused with 503 in fail-closed mode.
func (s *Service) unavailable(err error) (policies.Reservation, error) {
	s.metrics.storeErrors.WithLabelValues("counters").Inc()
	s.logStoreError("counters", err)
	if s.failOpen {
		return nil, nil
	}
	return nil, &policies.Denial{Status: 503, Type: "service_unavailable", Code: "rate_limiter_unavailable",
		Message: "rate limits cannot be checked right now; retry later"}
}

// denial builds the 429 for a refused reservation.
func (s *Service) denial(r *reservation, d store.Decision) *policies.Denial {
	i := d.Denied
	if i < 0 || i >= len(r.charges) || i >= len(d.States) {
		// A store that refuses without saying which counter: still a 429, never a panic.
		return &policies.Denial{Status: 429, Type: "requests", Code: "rate_limit_exceeded", Message: "Rate limit reached.", RetryAfter: 1}
	}
	c := r.charges[i].Counter
	subj := describeSubject(c.Key)
	kind := "rate_limit"
	var msg string
	if r.kinds[i] == chMoney || strings.HasPrefix(c.Key, "bg|") {
		kind = "budget"
		msg = "Budget exceeded for " + subj + " (" + r.labels[i] + ")."
	} else {
		msg = "Rate limit reached for " + subj + " (" + r.labels[i] + "): limit " + strconv.FormatInt(c.Limit, 10) +
			", remaining " + strconv.FormatInt(d.States[i].Remaining, 10) + ", requested " + strconv.FormatInt(r.charges[i].Amount, 10) + "."
	}
	if d.RetryAfter > 0 {
		msg += " Retry after " + formatReset(d.RetryAfter) + "."
	}
	s.metrics.denied.WithLabelValues(kind, subjectKind(c.Key)).Inc()
	den := &policies.Denial{Status: 429, Type: "requests", Code: "rate_limit_exceeded", Message: msg,
		RetryAfter: int((d.RetryAfter + time.Second - 1) / time.Second)}
	if kind == "budget" {
		den.Type, den.Code = "insufficient_quota", "budget_exceeded"
		if den.RetryAfter == 0 {
			den.RetryAfter = 1
		}
	}
	return den
}

// describeSubject names a counter key's subjects: "consumer alice".
func describeSubject(key string) string {
	var subj []string
	for _, p := range strings.Split(key, "|")[1:] {
		if k, v, ok := strings.Cut(p, "="); ok {
			subj = append(subj, k+" "+v)
		}
	}
	return strings.Join(subj, ", ")
}

// subjectKind is the first subject of a counter key ("consumer"), a bounded metric label.
func subjectKind(key string) string {
	_, rest, _ := strings.Cut(key, "|")
	k, _, _ := strings.Cut(rest, "=")
	switch k {
	case "key", "consumer", "team", "route":
		return k
	}
	return "other"
}
