package meter

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/store"
)

// tokenType is what a token limit counts.
type tokenType uint8

const (
	tokensTotal tokenType = iota
	tokensInput
	tokensOutput
)

// limit is one compiled rate limit of a subject.
type limit struct {
	name      string
	requests  *store.Counter // nil: no request limit
	tokens    *store.Counter // nil: no token limit
	tokenType tokenType
	audit     bool
	// requestsText and tokensText are the limits as x-ratelimit-limit-*
	// headers say them, formatted once.
	requestsText, tokensText string
}

// budget is one compiled budget of a subject.
type budget struct {
	name    string
	counter *store.Counter
	money   bool // picodollars; else tokens
	audit   bool
}

// subject is a key, a consumer or a team with its compiled limits and budgets.
type subject struct {
	kind, name string
	limits     []limit
	budgets    []budget
}

// keyEntry is a key declared in the configuration.
type keyEntry struct {
	principal *auth.Principal
	expires   time.Time
}

// consumerEntry is a configured consumer with its team.
type consumerEntry struct {
	own  *subject
	team *subject // nil: no team, or a team with nothing to count
	tm   string
}

// directory is one snapshot's compiled access block.
type directory struct {
	keys      map[string]*keyEntry // by hex SHA-256
	keyOwn    map[string]*subject  // a configured key's own limits, by key id
	consumers map[string]*consumerEntry
	teams     map[string]*subject // teams with something to count
	prices    map[string]config.Price
	maxTokens int
	prefix    string
}

// HashKey returns the hex SHA-256 of an API key, the only form stored.
func HashKey(key string) string {
	var buf [sha256.Size * 2]byte
	return string(hashKey(&buf, key))
}

// hashKey writes HashKey(key) into buf and returns it: the request path
// looks keys up without allocating the hash.
func hashKey(buf *[sha256.Size * 2]byte, key string) []byte {
	sum := sha256.Sum256([]byte(key))
	hex.Encode(buf[:], sum[:])
	return buf[:]
}

// compileDirectory compiles a (defaulted, validated) access block.
func compileDirectory(a *config.Access) (*directory, error) {
	d := &directory{keys: map[string]*keyEntry{}, keyOwn: map[string]*subject{}, consumers: map[string]*consumerEntry{}}
	if a == nil {
		a = config.DefaultAccess()
	}
	d.prices, d.maxTokens, d.prefix = a.Prices, a.DefaultMaxTokens, a.KeyPrefix
	teams := map[string]*subject{}
	for _, t := range a.Teams {
		s, err := compileSubject("team", t.Name, t.Limits, t.Budgets)
		if err != nil {
			return nil, err
		}
		teams[t.Name] = s
	}
	d.teams = teams
	for _, c := range a.Consumers {
		own, err := compileSubject("consumer", c.Name, c.Limits, c.Budgets)
		if err != nil {
			return nil, err
		}
		ce := &consumerEntry{own: own, team: teams[c.Team], tm: c.Team}
		d.consumers[c.Name] = ce
		for _, k := range c.Keys {
			hash := HashKey(k.Value.Value())
			if k.Hash != "" {
				hash, _ = config.KeyHash(k.Hash)
			}
			id := k.ID
			if id == "" {
				id = "cfg_" + hash[:12]
			}
			ke := &keyEntry{principal: &auth.Principal{KeyID: id, Subject: c.Name, Consumer: c.Name, Team: c.Team, Models: k.Models}}
			if k.ExpiresAt != nil {
				ke.expires = *k.ExpiresAt
			}
			own, err := compileSubject("key", id, k.Limits, k.Budgets)
			if err != nil {
				return nil, err
			}
			if own != nil {
				d.keyOwn[id] = own
			}
			d.keys[hash] = ke
		}
	}
	return d, nil
}

// compileSubject builds a subject's counters; nil when it has none.
func compileSubject(kind, name string, ls []config.Limit, bs []config.Budget) (*subject, error) {
	if len(ls) == 0 && len(bs) == 0 {
		return nil, nil
	}
	s := &subject{kind: kind, name: name}
	base := kind + "=" + name
	for _, l := range ls {
		cl, err := compileLimit(base, l)
		if err != nil {
			return nil, err
		}
		s.limits = append(s.limits, cl)
	}
	for _, b := range bs {
		cb, err := compileBudget(base, b)
		if err != nil {
			return nil, err
		}
		s.budgets = append(s.budgets, cb)
	}
	return s, nil
}

// compileLimit builds a limit's counters on the subject key base.
func compileLimit(base string, l config.Limit) (limit, error) {
	w, ok := config.LimitWindow(l.Per)
	if !ok {
		return limit{}, fmt.Errorf("meter: limit per %q", l.Per)
	}
	out := limit{name: l.Name, audit: l.OnExceeded == config.OnExceededAudit}
	switch l.TokenType {
	case "input":
		out.tokenType = tokensInput
	case "output":
		out.tokenType = tokensOutput
	}
	if out.name == "" {
		out.name = describeLimit(l, w)
	}
	if l.Requests > 0 {
		out.requests = &store.Counter{Key: "rl|" + base + "|requests|" + w.String(), Algorithm: store.Bucket, Limit: l.Requests, Window: w}
		out.requestsText = strconv.FormatInt(l.Requests, 10)
	}
	if l.Tokens > 0 {
		out.tokens = &store.Counter{Key: "rl|" + base + "|tokens:" + l.TokenType + "|" + w.String(), Algorithm: store.Bucket, Limit: l.Tokens, Window: w}
		out.tokensText = strconv.FormatInt(l.Tokens, 10)
	}
	return out, nil
}

// describeLimit names a limit in messages: "tokens per minute".
func describeLimit(l config.Limit, w time.Duration) string {
	per := l.Per
	if _, err := time.ParseDuration(per); err == nil {
		per = w.String()
	}
	switch {
	case l.Requests > 0 && l.Tokens > 0:
		return "requests and tokens per " + per
	case l.Requests > 0:
		return "requests per " + per
	}
	if l.TokenType != "total" && l.TokenType != "" {
		return l.TokenType + " tokens per " + per
	}
	return "tokens per " + per
}

// compileBudget builds a budget's counter on the subject key base. The key
// names the unit and period but not the amount, so raising a budget keeps
// what was spent.
func compileBudget(base string, b config.Budget) (budget, error) {
	loc, err := time.LoadLocation(b.TimeZone)
	if err != nil {
		return budget{}, fmt.Errorf("meter: budget time zone: %w", err)
	}
	out := budget{name: b.Name, money: b.USD > 0, audit: b.OnExceeded == config.OnExceededAudit}
	c := &store.Counter{Location: loc}
	unit := "tokens"
	if out.money {
		unit = "usd"
		c.Limit = int64(math.Round(b.USD * 1e12))
	} else {
		c.Limit = b.Tokens
	}
	if b.Window > 0 {
		c.Algorithm, c.Window = store.Sliding, b.Window.D()
		c.Key = fmt.Sprintf("bg|%s|%s|rolling|%s", base, unit, c.Window)
	} else {
		c.Algorithm = store.Calendar
		switch b.Period {
		case "day":
			c.Period = store.Day
		case "week":
			c.Period = store.Week
		default:
			c.Period = store.Month
		}
		c.Key = fmt.Sprintf("bg|%s|%s|%s|%s", base, unit, b.Period, b.TimeZone)
	}
	out.counter = c
	if out.name == "" {
		window := b.Period
		if b.Window > 0 {
			window = b.Window.D().String()
		}
		if out.money {
			out.name = fmt.Sprintf("$%.2f per %s", b.USD, window)
		} else {
			out.name = fmt.Sprintf("%d tokens per %s", b.Tokens, window)
		}
	}
	return out, nil
}

// price returns the price of a model (the client-facing name first).
func (d *directory) price(model, upstream string) (config.Price, bool) {
	if p, ok := d.prices[model]; ok {
		return p, true
	}
	if p, ok := d.prices[upstream]; ok {
		return p, true
	}
	// A dated upstream name ("gpt-4o-mini-2024-07-18") takes its family's
	// price: the longest priced name it extends.
	best, found := "", false
	var out config.Price
	for name, p := range d.prices {
		if len(name) > len(best) && (strings.HasPrefix(upstream, name+"-") || strings.HasPrefix(model, name+"-")) {
			best, out, found = name, p, true
		}
	}
	return out, found
}

// cost returns what usage u of a model costs, in picodollars, and whether
// the model has a price.
func (d *directory) cost(model, upstream string, u usage) (int64, bool) {
	p, ok := d.price(model, upstream)
	if !ok {
		return 0, false
	}
	cachedIn := orPrice(p.CachedInput, p.Input)
	cacheWrite := orPrice(p.CacheWrite, p.Input)
	reasoning := orPrice(p.Reasoning, p.Output)
	plain := max(0, u.input-u.cached-u.cacheWrite)
	out := max(0, u.output-u.reasoning)
	usd := float64(plain)*p.Input + float64(u.cached)*cachedIn + float64(u.cacheWrite)*cacheWrite +
		float64(out)*p.Output + float64(u.reasoning)*reasoning
	return int64(math.Round(usd * 1e6)), true // USD per million tokens to picodollars per token
}

// orPrice returns v, or def when v is not set.
func orPrice(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}

// usage is the token counts metering charges.
type usage struct {
	input, output, cached, cacheWrite, reasoning int64
}
