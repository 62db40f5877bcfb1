// Package redis holds limit and budget counters in Redis, shared by every
// replica of the gateway: the shared [store.Counters]. Each call is one Lua
// script (one round trip) that reads, decides and writes atomically, with
// the same arithmetic as the in-memory counters (store/internal/meter).
//
// Keys are "sy:c:" followed by the counter's Key, one string per counter,
// with a TTL so that idle counters expire: a bucket's time until full plus
// its window, a calendar counter's period end plus an hour, a sliding
// counter's window plus a slot. The keys of one call must live on one node:
// this targets a single Redis (or Sentinel); a Redis Cluster would need the
// keys of a call to share a hash tag ("sy:c:{consumer=alice}:..."), which
// Counter keys do not carry today.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/internal/meter"
)

// keyPrefix starts every counter key.
const keyPrefix = "sy:c:"

// argStride is how many ARGV values each charge takes in the scripts.
const argStride = 7

// Options configure [NewCounters].
type Options struct {
	// Address is Redis's host:port (default 127.0.0.1:6379).
	Address  string
	Username string
	Password string
	DB       int
	// Timeout bounds each call, connecting included (default 100ms).
	Timeout time.Duration
	// Client, when set, is used instead of a client built from the fields
	// above (Close then leaves it open). It should have
	// ContextTimeoutEnabled, so that Timeout bounds its calls.
	Client *goredis.Client
}

// Counters is a [store.Counters] in Redis. Errors of an unreachable or slow
// Redis match [store.ErrUnavailable]; the client reconnects by itself.
type Counters struct {
	client  *goredis.Client
	own     bool
	timeout time.Duration
	// down holds the last call's ErrUnavailable error, nil once a call or
	// a probe succeeds.
	down atomic.Pointer[error]
}

var _ store.Counters = (*Counters)(nil)

// NewCounters returns counters in the Redis that opts describe. It does not
// connect: the first call does, so that a gateway starts while Redis is down.
func NewCounters(opts Options) (*Counters, error) {
	c := &Counters{client: opts.Client, timeout: opts.Timeout}
	if c.timeout <= 0 {
		c.timeout = 100 * time.Millisecond
	}
	if c.client == nil {
		addr := opts.Address
		if addr == "" {
			addr = "127.0.0.1:6379"
		}
		c.own = true
		c.client = goredis.NewClient(&goredis.Options{
			Addr:                     addr,
			Username:                 opts.Username,
			Password:                 opts.Password,
			DB:                       opts.DB,
			DialTimeout:              c.timeout,
			ReadTimeout:              c.timeout,
			WriteTimeout:             c.timeout,
			PoolTimeout:              c.timeout,
			ContextTimeoutEnabled:    true,
			MaxRetries:               -1,
			DialerRetries:            1,
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
	}
	return c, nil
}

// Reserve implements [store.Counters.Reserve].
func (c *Counters) Reserve(ctx context.Context, now time.Time, charges []store.Charge) (store.Decision, error) {
	keys, args, err := c.args(now, charges, nil)
	if err != nil {
		return store.Decision{}, fmt.Errorf("redis counters: reserve: %w", err)
	}
	out, err := c.run(ctx, "reserve", reserveScript, keys, args)
	if err != nil {
		return store.Decision{}, err
	}
	n := len(charges)
	if len(out) < 4 || len(out) != 4+int(out[3])+2*n {
		return store.Decision{}, fmt.Errorf("redis counters: reserve: unexpected reply of %d values", len(out))
	}
	d := store.Decision{
		Allowed:    out[0] == 1,
		Denied:     int(out[1]),
		RetryAfter: time.Duration(out[2]) * time.Millisecond,
	}
	na := int(out[3])
	for _, i := range out[4 : 4+na] {
		d.Audited = append(d.Audited, int(i))
	}
	d.States = states(out[4+na:])
	return d, nil
}

// Adjust implements [store.Counters.Adjust].
func (c *Counters) Adjust(ctx context.Context, now time.Time, charges []store.Charge) error {
	keys, args, err := c.args(now, charges, nil)
	if err != nil {
		return fmt.Errorf("redis counters: adjust: %w", err)
	}
	if _, err := c.run(ctx, "adjust", adjustScript, keys, args); err != nil {
		return err
	}
	return nil
}

// Peek implements [store.Counters.Peek].
func (c *Counters) Peek(ctx context.Context, now time.Time, counters []*store.Counter) ([]store.State, error) {
	keys, args, err := c.args(now, nil, counters)
	if err != nil {
		return nil, fmt.Errorf("redis counters: peek: %w", err)
	}
	out, err := c.run(ctx, "peek", peekScript, keys, args)
	if err != nil {
		return nil, err
	}
	if len(out) != 2*len(counters) {
		return nil, fmt.Errorf("redis counters: peek: unexpected reply of %d values", len(out))
	}
	return states(out), nil
}

// Close implements [store.Counters.Close]: it closes the client unless
// Options.Client provided it.
func (c *Counters) Close() error {
	if !c.own {
		return nil
	}
	if err := c.client.Close(); err != nil {
		return fmt.Errorf("redis counters: close: %w", err)
	}
	return nil
}

// Healthy reports, for /readyz, whether Redis answered the last call.
// While it did not, Healthy pings it (within the timeout), so that the
// gateway is seen to recover even when no request comes (a fail-closed
// gateway that is unready gets none).
func (c *Counters) Healthy() (bool, string) {
	if c.down.Load() == nil {
		return true, ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := c.client.Ping(ctx).Err(); err != nil {
		return false, "counters: redis unreachable: " + err.Error()
	}
	c.down.Store(nil)
	return true, ""
}

// args builds the scripts' KEYS and ARGV for charges, or for counters
// (amount 0) when charges is nil.
func (c *Counters) args(now time.Time, charges []store.Charge, counters []*store.Counter) ([]string, []any, error) {
	n := len(charges)
	if charges == nil {
		n = len(counters)
	}
	keys := make([]string, 0, n)
	args := make([]any, 0, argStride*n)
	for i := range n {
		ch := store.Charge{}
		if charges != nil {
			ch = charges[i]
		} else {
			ch.Counter = counters[i]
		}
		p, err := meter.Prepare(ch.Counter, now)
		if err != nil {
			return nil, nil, err
		}
		var x1, x2 int64
		switch p.Alg {
		case store.Bucket:
			x1, x2 = p.Tick, p.Scale
		case store.Calendar:
			x1, x2 = p.Start, p.End
		default:
			x1 = p.Slot
		}
		audit := 0
		if ch.Audit {
			audit = 1
		}
		keys = append(keys, keyPrefix+ch.Counter.Key)
		args = append(args, int64(p.Alg), p.Limit, p.Now, x1, x2, meter.Clamp(ch.Amount), audit)
	}
	return keys, args, nil
}

// run runs script within the timeout and returns its integer array; its
// errors are wrapped with op.
func (c *Counters) run(ctx context.Context, op string, script *goredis.Script, keys []string, args []any) ([]int64, error) {
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := script.Run(tctx, c.client, keys, args...)
	if err := cmd.Err(); err != nil {
		err = c.wrap(ctx, op, err)
		if errors.Is(err, store.ErrUnavailable) {
			c.down.Store(&err)
		}
		return nil, err
	}
	c.down.Store(nil)
	out, err := cmd.Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redis counters: %s: unexpected reply: %w", op, err)
	}
	return out, nil
}

// states decodes remaining/reset pairs.
func states(out []int64) []store.State {
	s := make([]store.State, len(out)/2)
	for i := range s {
		s[i] = store.State{Remaining: out[2*i], Reset: time.Duration(out[2*i+1]) * time.Millisecond}
	}
	return s
}

// wrap adds context to err and marks it [store.ErrUnavailable] unless it is
// Redis's own answer to a bad request or the caller's ctx ended.
func (c *Counters) wrap(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil || !unavailable(err) {
		return fmt.Errorf("redis counters: %s: %w", op, err)
	}
	return fmt.Errorf("redis counters: %s: %w: %w", op, store.ErrUnavailable, err)
}

// unavailable reports whether err means Redis cannot serve now: a network
// error, a timeout, or a reply saying the server is not ready.
func unavailable(err error) bool {
	var rerr goredis.Error
	if !errors.As(err, &rerr) {
		return true
	}
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY"} {
		if strings.HasPrefix(rerr.Error(), p) {
			return true
		}
	}
	return false
}
