package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-ai/switchyard/store/internal/meter"
)

// sweepEvery is how many flush intervals pass between two sweeps of the idle
// counters.
const sweepEvery = 30

// The state saved for one counter is meter's versioned binary encoding (see
// [meter.State.Append]): a version byte, an algorithm byte and varints. A nil
// state means the counter has none (it is back to full or zero).

// load reads the saved state from the Spend store.
func (c *Counters) load() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	saved, err := c.spend.LoadCounters(ctx)
	if err != nil {
		return fmt.Errorf("memory counters: load: %w", err)
	}
	for key, b := range saved {
		if len(b) == 0 {
			continue
		}
		st, err := meter.Decode(b)
		if err != nil {
			c.log.Warn("memory counters: skipping a saved counter", "key", key, "error", err)
			continue
		}
		c.shards[c.shardOf(key)].m[key] = &entry{st: st, saved: true}
	}
	return nil
}

// run saves the dirty counters every interval and drops the idle ones every
// sweepEvery intervals, until Close.
func (c *Counters) run() {
	defer close(c.done)
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			if n%sweepEvery == 0 {
				c.sweep(now)
			}
			if c.spend == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), max(c.interval, 5*time.Second))
			if err := c.flush(ctx); err != nil {
				c.log.Error("memory counters: save failed; retrying", "error", err)
			}
			cancel()
		}
	}
}

// sweep drops the counters that are idle at now: they carry no information.
func (c *Counters) sweep(now time.Time) {
	ms := now.UnixMilli()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for key, e := range sh.m {
			if e.st.Idle(ms) {
				delete(sh.m, key)
				if e.saved || e.dirty {
					sh.removed = append(sh.removed, key)
				}
			}
		}
		if c.spend == nil {
			sh.removed = nil
		}
		sh.mu.Unlock()
	}
}

// flush saves the dirty counters and forgets the removed ones. Those it
// could not save are dirty again afterwards.
func (c *Counters) flush(ctx context.Context) error {
	batch := make(map[string][]byte)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for _, key := range sh.removed {
			batch[key] = nil
		}
		sh.removed = sh.removed[:0]
		for key, e := range sh.m {
			if e.dirty {
				batch[key] = e.st.Append(nil)
				e.dirty, e.saved = false, true
			}
		}
		sh.mu.Unlock()
	}
	if len(batch) == 0 {
		return nil
	}
	if err := c.spend.SaveCounters(ctx, batch); err != nil {
		c.redirty(batch)
		return fmt.Errorf("memory counters: save %d counters: %w", len(batch), err)
	}
	return nil
}

// redirty marks the counters of a batch that failed to save as dirty again
// (or removed again, for those saved as nil that are still absent).
func (c *Counters) redirty(batch map[string][]byte) {
	for key, b := range batch {
		sh := &c.shards[c.shardOf(key)]
		sh.mu.Lock()
		if e := sh.m[key]; e != nil {
			e.dirty = true
		} else if b == nil {
			sh.removed = append(sh.removed, key)
		}
		sh.mu.Unlock()
	}
}
