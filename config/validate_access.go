package config

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The values of Limit.OnExceeded and Budget.OnExceeded.
const (
	OnExceededBlock = "Block"
	OnExceededAudit = "Audit"
)

// The failure modes of a shared store.
const (
	FailOpen  = "FailOpen"
	FailClose = "FailClose"
)

// limitSubjects are the subjects a route's rate limit may count by.
var limitSubjects = []string{"key", "consumer", "team", "model", "route"}

// DefaultAccess returns an empty access block with its defaults, for a
// configuration that meters routes but declares no access block.
func DefaultAccess() *Access {
	a := &Access{}
	defaultAccess(a)
	return a
}

// defaultAccess fills an access block's zero fields.
func defaultAccess(a *Access) {
	setDefault(&a.DefaultMaxTokens, 4096)
	setDefault(&a.TimeZone, "UTC")
	setDefault(&a.KeyPrefix, "sk-sy-")
	setDefault(&a.Store.FlushInterval, Duration(time.Second))
	setDefault(&a.Store.QueueMaxBytes, 1<<30)
	if r := a.Store.Redis; r != nil {
		setDefault(&r.Timeout, Duration(100*time.Millisecond))
		setDefault(&r.FailureMode, FailOpen)
	}
	if p := a.Store.Postgres; p != nil {
		setDefault(&p.Timeout, Duration(2*time.Second))
	}
	each := func(ls []Limit, bs []Budget) {
		for i := range ls {
			defaultLimit(&ls[i])
		}
		for i := range bs {
			setDefault(&bs[i].OnExceeded, OnExceededBlock)
			setDefault(&bs[i].TimeZone, a.TimeZone)
		}
	}
	for i := range a.Teams {
		each(a.Teams[i].Limits, a.Teams[i].Budgets)
	}
	for i := range a.Consumers {
		c := &a.Consumers[i]
		each(c.Limits, c.Budgets)
		for j := range c.Keys {
			each(c.Keys[j].Limits, c.Keys[j].Budgets)
		}
	}
}

// defaultLimit fills a limit's zero fields.
func defaultLimit(l *Limit) {
	setDefault(&l.TokenType, "total")
	setDefault(&l.OnExceeded, OnExceededBlock)
}

// LimitWindow returns the window of a limit's Per ("minute", "hour", "day" or a duration).
func LimitWindow(per string) (time.Duration, bool) {
	switch per {
	case "second":
		return time.Second, true
	case "minute":
		return time.Minute, true
	case "hour":
		return time.Hour, true
	case "day":
		return 24 * time.Hour, true
	}
	d, err := time.ParseDuration(per)
	return d, err == nil && d > 0
}

// KeyHash returns the hex SHA-256 a key's `hash: sha256:<hex>` names.
func KeyHash(h string) (string, bool) {
	hexa, ok := strings.CutPrefix(h, "sha256:")
	if !ok || len(hexa) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(hexa); err != nil {
		return "", false
	}
	return strings.ToLower(hexa), true
}

// validateAccess checks the access block.
func validateAccess(a *Access, r *reporter) {
	if a == nil {
		return
	}
	nonNegativeInt(r, "access.defaultMaxTokens", a.DefaultMaxTokens)
	if _, err := time.LoadLocation(a.TimeZone); err != nil {
		r.add("access.timeZone", "unknown time zone %q", a.TimeZone)
	}
	for m, p := range a.Prices {
		for name, v := range map[string]float64{"input": p.Input, "output": p.Output, "cachedInput": p.CachedInput,
			"cacheWrite": p.CacheWrite, "reasoning": p.Reasoning} {
			if v < 0 {
				r.add(fmt.Sprintf("access.prices.%s.%s", m, name), "price must not be negative")
			}
		}
	}
	teams := map[string]bool{}
	for i, t := range a.Teams {
		p := fmt.Sprintf("access.teams[%d]", i)
		if t.Name == "" {
			r.add(p+".name", "team name is required")
		} else if teams[t.Name] {
			r.add(p+".name", "duplicate team %q", t.Name)
		}
		teams[t.Name] = true
		validateLimits(t.Limits, p+".limits", false, r)
		validateBudgets(t.Budgets, p+".budgets", r)
	}
	consumers := map[string]bool{}
	keyIDs := map[string]string{}
	hashes := map[string]string{}
	for i := range a.Consumers {
		c := &a.Consumers[i]
		p := fmt.Sprintf("access.consumers[%d]", i)
		if c.Name == "" {
			r.add(p+".name", "consumer name is required")
		} else if consumers[c.Name] {
			r.add(p+".name", "duplicate consumer %q", c.Name)
		}
		consumers[c.Name] = true
		validateLimits(c.Limits, p+".limits", false, r)
		validateBudgets(c.Budgets, p+".budgets", r)
		for j := range c.Keys {
			validateKey(&c.Keys[j], fmt.Sprintf("%s.keys[%d]", p, j), keyIDs, hashes, r)
		}
	}
	validateStore(&a.Store, r)
	if a.Admin.Token != "" && a.Admin.TokenFile != "" {
		r.add("access.admin", "set token or tokenFile, not both")
	}
}

// validateKey checks one declared key; ids and hashes must be unique.
func validateKey(k *APIKey, p string, ids, hashes map[string]string, r *reporter) {
	switch {
	case k.Value == "" && k.Hash == "":
		r.add(p, "a key needs value or hash")
	case k.Value != "" && k.Hash != "":
		r.add(p, "set value or hash, not both")
	case k.Hash != "":
		if _, ok := KeyHash(k.Hash); !ok {
			r.add(p+".hash", "hash must be sha256: followed by 64 hex digits")
		}
	case len(k.Value) < 16:
		r.add(p+".value", "a key must be at least 16 characters long")
	}
	h := k.Hash
	if k.Value != "" {
		h = "value:" + string(k.Value)
	}
	if prev, dup := hashes[h]; dup && h != "" {
		r.add(p, "the same key is declared twice (also %s)", prev)
	}
	hashes[h] = p
	if k.ID != "" {
		if prev, dup := ids[k.ID]; dup {
			r.add(p+".id", "duplicate key id %q (also %s)", k.ID, prev)
		}
		ids[k.ID] = p
	}
	validateLimits(k.Limits, p+".limits", false, r)
	validateBudgets(k.Budgets, p+".budgets", r)
}

// validateLimits checks limits; by is allowed only in a route's policy.
func validateLimits(ls []Limit, p string, route bool, r *reporter) {
	for i := range ls {
		l := &ls[i]
		lp := fmt.Sprintf("%s[%d]", p, i)
		if l.Requests < 0 || l.Tokens < 0 {
			r.add(lp, "requests and tokens must not be negative")
		}
		if l.Requests == 0 && l.Tokens == 0 {
			r.add(lp, "a limit needs requests or tokens")
		}
		if _, ok := LimitWindow(l.Per); !ok {
			r.add(lp+".per", "per %q: use second, minute, hour, day or a positive duration such as 10s", l.Per)
		}
		if !slices.Contains([]string{"total", "input", "output"}, l.TokenType) {
			r.add(lp+".tokenType", "tokenType %q: use total, input or output", l.TokenType)
		}
		if !slices.Contains([]string{OnExceededBlock, OnExceededAudit}, l.OnExceeded) {
			r.add(lp+".onExceeded", "onExceeded %q: use Block or Audit", l.OnExceeded)
		}
		if !route && len(l.By) > 0 {
			r.add(lp+".by", "by applies to a route's rateLimits; a limit here counts its own subject")
		}
		for j, b := range l.By {
			if !slices.Contains(limitSubjects, b) {
				r.add(fmt.Sprintf("%s.by[%d]", lp, j), "by %q: use %s", b, strings.Join(limitSubjects, ", "))
			}
		}
	}
}

// validateBudgets checks budgets.
func validateBudgets(bs []Budget, p string, r *reporter) {
	for i := range bs {
		b := &bs[i]
		bp := fmt.Sprintf("%s[%d]", p, i)
		if (b.USD > 0) == (b.Tokens > 0) {
			r.add(bp, "a budget needs usd or tokens (one of the two, positive)")
		}
		if b.USD < 0 || b.Tokens < 0 {
			r.add(bp, "a budget must not be negative")
		}
		switch {
		case b.Period != "" && b.Window != 0:
			r.add(bp, "set period or window, not both")
		case b.Period == "" && b.Window == 0:
			r.add(bp, "a budget needs a period (day, week, month) or a rolling window")
		case b.Period != "" && !slices.Contains([]string{"day", "week", "month"}, b.Period):
			r.add(bp+".period", "period %q: use day, week or month", b.Period)
		case b.Window < 0:
			r.add(bp+".window", "window must be positive")
		}
		if _, err := time.LoadLocation(b.TimeZone); err != nil {
			r.add(bp+".timeZone", "unknown time zone %q", b.TimeZone)
		}
		if !slices.Contains([]string{OnExceededBlock, OnExceededAudit}, b.OnExceeded) {
			r.add(bp+".onExceeded", "onExceeded %q: use Block or Audit", b.OnExceeded)
		}
	}
}

// validateStore checks the store block.
func validateStore(s *Store, r *reporter) {
	nonNegative(r, "access.store.flushInterval", s.FlushInterval)
	if s.QueueMaxBytes < 0 {
		r.add("access.store.queueMaxBytes", "must not be negative")
	}
	if rs := s.Redis; rs != nil {
		nonNegative(r, "access.store.redis.timeout", rs.Timeout)
		if !slices.Contains([]string{FailOpen, FailClose}, rs.FailureMode) {
			r.add("access.store.redis.failureMode", "failureMode %q: use FailOpen or FailClose", rs.FailureMode)
		}
	}
	if pg := s.Postgres; pg != nil {
		nonNegative(r, "access.store.postgres.timeout", pg.Timeout)
	}
}

// validateClientAuth checks a clientAuth policy.
func validateClientAuth(c *ClientAuth, p string, r *reporter) {
	if c.APIKeys == nil && c.JWT == nil {
		r.add(p, "clientAuth needs apiKeys, jwt or both")
	}
	j := c.JWT
	if j == nil {
		return
	}
	jp := p + ".jwt"
	if (j.JWKS.URL == "") == (j.JWKS.File == "") {
		r.add(jp+".jwks", "set jwks.url or jwks.file (one of the two)")
	}
	if j.JWKS.URL != "" && !strings.HasPrefix(j.JWKS.URL, "https://") && !strings.HasPrefix(j.JWKS.URL, "http://") {
		r.add(jp+".jwks.url", "jwks url must be http:// or https://")
	}
	nonNegative(r, jp+".clockSkew", j.ClockSkew)
	nonNegative(r, jp+".jwks.refresh", j.JWKS.Refresh)
	for i, a := range j.Algorithms {
		if !slices.Contains([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}, a) {
			r.add(fmt.Sprintf("%s.algorithms[%d]", jp, i), "algorithm %q is not allowed: use an asymmetric one (RS*, PS*, ES*, EdDSA); none and HMAC are refused", a)
		}
	}
}
