// Package memory holds limit and budget counters in process memory: the
// embedded [store.Counters] of a single node. State optionally persists
// through a [store.Spend] (a SQLite file in the gateway), saved about once
// per FlushInterval, so that a restart keeps what was spent and a crash
// loses at most about one interval of it.
package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/internal/meter"
)

// numShards is how many locks the counters are spread over.
const numShards = 64

// stackCharges is how many charges a call handles without allocating its
// scratch space.
const stackCharges = 8

// Options configure [NewCounters].
type Options struct {
	// Spend, when set, persists the counters' state: loaded by NewCounters,
	// saved every FlushInterval and on Close. A counter dropped from memory
	// (back to full or zero) is saved with a nil state, meaning the store
	// may forget it.
	Spend store.Spend
	// FlushInterval is how often dirty counters are saved (default 1s).
	FlushInterval time.Duration
	// Log receives the errors of background saves (default slog.Default()).
	Log *slog.Logger
}

// Counters is an in-memory [store.Counters]. Counters on different keys
// rarely share a lock: keys are spread over shards by hash, and a call
// locks the shards it needs in ascending order, so a Reserve across several
// counters is atomic without deadlock.
type Counters struct {
	seed     maphash.Seed
	shards   [numShards]shard
	spend    store.Spend
	interval time.Duration
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	closeErr error
}

var _ store.Counters = (*Counters)(nil)

// shard is one lock and the counters it guards.
type shard struct {
	mu sync.Mutex
	m  map[string]*entry
	// removed are keys dropped from m since the last save whose saved state
	// must be forgotten.
	removed []string
	_       [64]byte // keeps shards' locks on separate cache lines
}

// entry is one counter's state in memory.
type entry struct {
	st meter.State
	// dirty: changed since last saved; saved: the Spend holds a state for it.
	dirty, saved bool
}

// NewCounters returns in-memory counters, loading their state from
// opts.Spend when set and starting the background saver.
func NewCounters(opts Options) (*Counters, error) {
	c := &Counters{
		seed:     maphash.MakeSeed(),
		spend:    opts.Spend,
		interval: opts.FlushInterval,
		log:      opts.Log,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if c.interval <= 0 {
		c.interval = time.Second
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*entry)
	}
	if c.spend != nil {
		if err := c.load(); err != nil {
			return nil, err
		}
	}
	go c.run()
	return c, nil
}

// Reserve implements [store.Counters.Reserve].
func (c *Counters) Reserve(ctx context.Context, now time.Time, charges []store.Charge) (store.Decision, error) {
	if err := ctx.Err(); err != nil {
		return store.Decision{}, fmt.Errorf("memory counters: reserve: %w", err)
	}
	var pbuf [stackCharges]meter.Params
	var sbuf [stackCharges]*meter.State
	var ebuf [stackCharges]*entry
	var ibuf [stackCharges]uint32
	params, states, entries, ids := pbuf[:0], sbuf[:0], ebuf[:0], ibuf[:0]
	for _, ch := range charges {
		p, err := meter.Prepare(ch.Counter, now)
		if err != nil {
			return store.Decision{}, fmt.Errorf("memory counters: reserve: %w", err)
		}
		params = append(params, p)
		ids = append(ids, c.shardOf(ch.Counter.Key))
	}
	locked := c.lock(ids)
	for i, ch := range charges {
		e := c.entry(ch.Counter.Key, true)
		e.st.Advance(&params[i])
		entries = append(entries, e)
		states = append(states, &e.st)
	}
	d := store.Decision{States: make([]store.State, len(charges))}
	meter.Reserve(params, charges, states, &d)
	if d.Allowed {
		for _, e := range entries {
			e.dirty = true
		}
	}
	c.unlock(locked)
	return d, nil
}

// Adjust implements [store.Counters.Adjust].
func (c *Counters) Adjust(ctx context.Context, now time.Time, charges []store.Charge) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory counters: adjust: %w", err)
	}
	var pbuf [stackCharges]meter.Params
	var ibuf [stackCharges]uint32
	params, ids := pbuf[:0], ibuf[:0]
	for _, ch := range charges {
		p, err := meter.Prepare(ch.Counter, now)
		if err != nil {
			return fmt.Errorf("memory counters: adjust: %w", err)
		}
		params = append(params, p)
		ids = append(ids, c.shardOf(ch.Counter.Key))
	}
	locked := c.lock(ids)
	for i, ch := range charges {
		e := c.entry(ch.Counter.Key, true)
		e.st.Advance(&params[i])
		e.st.Add(&params[i], ch.Amount)
		e.dirty = true
	}
	c.unlock(locked)
	return nil
}

// Peek implements [store.Counters.Peek].
func (c *Counters) Peek(ctx context.Context, now time.Time, counters []*store.Counter) ([]store.State, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory counters: peek: %w", err)
	}
	out := make([]store.State, len(counters))
	for i, ctr := range counters {
		p, err := meter.Prepare(ctr, now)
		if err != nil {
			return nil, fmt.Errorf("memory counters: peek: %w", err)
		}
		sh := &c.shards[c.shardOf(ctr.Key)]
		sh.mu.Lock()
		var st meter.State
		if e := sh.m[ctr.Key]; e != nil {
			st = e.st
			if st.Slots != nil {
				slots := *st.Slots
				st.Slots = &slots
			}
		}
		st.Advance(&p)
		out[i] = st.Observe(&p)
		sh.mu.Unlock()
	}
	return out, nil
}

// Close implements [store.Counters.Close]: it stops the background saver
// and saves the dirty counters one last time.
func (c *Counters) Close() error {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		if c.spend != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c.closeErr = c.flush(ctx)
		}
	})
	return c.closeErr
}

// shardOf returns the shard index of key.
func (c *Counters) shardOf(key string) uint32 {
	return uint32(maphash.String(c.seed, key) % numShards)
}

// entry returns key's entry in its shard, which the caller has locked,
// creating it when create is set (else it may return nil).
func (c *Counters) entry(key string, create bool) *entry {
	sh := &c.shards[c.shardOf(key)]
	e := sh.m[key]
	if e == nil && create {
		e = &entry{}
		sh.m[key] = e
	}
	return e
}

// lock sorts and deduplicates the shard indexes ids in place, locks those
// shards in ascending order and returns them for unlock.
func (c *Counters) lock(ids []uint32) []uint32 {
	for i := 1; i < len(ids); i++ { // insertion sort: few elements
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	n := 0
	for i, id := range ids {
		if i == 0 || id != ids[n-1] {
			ids[n] = id
			n++
		}
	}
	ids = ids[:n]
	for _, id := range ids {
		c.shards[id].mu.Lock()
	}
	return ids
}

// unlock unlocks the shards that lock returned.
func (c *Counters) unlock(ids []uint32) {
	for i := len(ids) - 1; i >= 0; i-- {
		c.shards[ids[i]].mu.Unlock()
	}
}
