package meter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// keyCache holds the keys made at run time, by hash, so that client auth
// never waits for the database. It loads every key at start, reloads when
// the store reports a change (any replica's create or revoke: at once), and
// again every refresh interval in case a notification was lost.
type keyCache struct {
	keys    store.Keys
	log     *slog.Logger
	byHash  atomic.Pointer[map[string]store.Key]
	mu      sync.Mutex // serialises reloads
	healthy atomic.Bool
}

// newKeyCache loads keys and keeps them current until ctx ends.
func newKeyCache(ctx context.Context, keys store.Keys, refresh time.Duration, log *slog.Logger) *keyCache {
	c := &keyCache{keys: keys, log: log}
	empty := map[string]store.Key{}
	c.byHash.Store(&empty)
	if keys == nil {
		return c
	}
	if err := c.reload(ctx); err != nil {
		log.Warn("keys: first load failed; retrying", "err", err.Error())
	}
	go func() {
		if err := keys.Watch(ctx, func(string) { _ = c.reload(ctx) }); err != nil && ctx.Err() == nil {
			log.Warn("keys: watch ended", "err", err.Error())
		}
	}()
	go func() {
		t := time.NewTicker(refresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = c.reload(ctx)
			}
		}
	}()
	return c
}

// reload replaces the cache with the store's keys.
func (c *keyCache) reload(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	all, err := c.keys.All(ctx)
	if err != nil {
		c.healthy.Store(false)
		return fmt.Errorf("keys: load: %w", err)
	}
	m := make(map[string]store.Key, len(all))
	for _, k := range all {
		m[k.Hash] = k
	}
	c.byHash.Store(&m)
	c.healthy.Store(true)
	return nil
}

// lookup returns the run-time key with hash h.
func (c *keyCache) lookup(h []byte) (store.Key, bool) {
	k, ok := (*c.byHash.Load())[string(h)]
	return k, ok
}

// newKey makes a key: prefix, then 32 random base-62 characters (190
// bits), and its id ("key_" and 12 hex digits).
func newKey(prefix string) (key, id string, err error) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 32)
	n := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", "", fmt.Errorf("keys: random: %w", err)
		}
		b[i] = alphabet[v.Int64()]
	}
	idb := make([]byte, 6)
	if _, err := rand.Read(idb); err != nil {
		return "", "", fmt.Errorf("keys: random: %w", err)
	}
	return prefix + string(b), "key_" + hex.EncodeToString(idb), nil
}

// displayPrefix is the part of a key shown in lists: its prefix and four
// more characters, never enough to use it.
func displayPrefix(key, prefix string) string {
	n := min(len(key), len(prefix)+4)
	return key[:n] + "…"
}
