package meter

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/memory"
)

// gatedCounters are memory counters whose Adjust waits for the gate and
// records what it was given.
type gatedCounters struct {
	store.Counters
	entered chan struct{} // a value each time Adjust starts waiting
	gate    chan struct{}
	mu      sync.Mutex
	got     [][]store.Charge
}

func (g *gatedCounters) Adjust(ctx context.Context, now time.Time, charges []store.Charge) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	g.mu.Lock()
	cp := make([]store.Charge, len(charges))
	for i, c := range charges {
		ctr := *c.Counter
		cp[i] = store.Charge{Counter: &ctr, Amount: c.Amount}
	}
	slices.SortFunc(cp, func(a, b store.Charge) int { return strings.Compare(a.Counter.Key, b.Counter.Key) })
	g.got = append(g.got, cp)
	g.mu.Unlock()
	return g.Counters.Adjust(ctx, now, charges)
}

func (g *gatedCounters) calls() [][]store.Charge {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.got)
}

func newGated(t *testing.T) *gatedCounters {
	mc, err := memory.NewCounters(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Close() })
	return &gatedCounters{Counters: mc, entered: make(chan struct{}, 1), gate: make(chan struct{})}
}

func TestSettlerSumsByCounter(t *testing.T) {
	g := newGated(t)
	var failures []error
	s := newSettler(g, time.Now, func(err error) { failures = append(failures, err) })
	a := store.Counter{Key: "tpm|consumer=alice", Algorithm: store.Bucket, Limit: 1000, Window: time.Minute}
	b := store.Counter{Key: "budget|team=t", Algorithm: store.Calendar, Limit: 1e12, Period: store.Day, Location: time.UTC}
	// The first job is taken at once and waits in Adjust on the gate; the
	// next three queue meanwhile and are summed into one Adjust.
	if !s.add([]adjustment{{a, -5}}) {
		t.Fatal("add refused with an empty queue")
	}
	<-g.entered
	for _, job := range [][]adjustment{{{a, -100}, {b, 7}}, {{a, 30}}, {{b, -7}}} {
		if !s.add(job) {
			t.Fatal("add refused")
		}
	}
	close(g.gate)
	if err := s.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]store.Charge{
		{{Counter: &a, Amount: -5}},
		{{Counter: &a, Amount: -70}}, // b's +7 and -7 cancel: no charge
	}
	if got := g.calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("Adjust calls\n got %+v\nwant %+v", got, want)
	}
	if s.add([]adjustment{{a, 1}}) {
		t.Error("add after close accepted a settlement nobody will apply")
	}
	if len(failures) != 0 {
		t.Errorf("failures: %v", failures)
	}
}

func TestSettlerFullQueue(t *testing.T) {
	g := newGated(t)
	s := newSettler(g, time.Now, func(error) {})
	a := store.Counter{Key: "k", Algorithm: store.Bucket, Limit: 10, Window: time.Second}
	s.add([]adjustment{{a, 1}})
	<-g.entered // the worker holds one job in Adjust: the queue is empty
	accepted := 0
	for range settleQueue + 2 {
		if s.add([]adjustment{{a, 1}}) {
			accepted++
		}
	}
	// settleQueue wait; the rest is the caller's to apply.
	if accepted != settleQueue {
		t.Errorf("accepted %d of %d, want the queue's %d", accepted, settleQueue+2, settleQueue)
	}
	close(g.gate)
	if err := s.close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSettlerReportsFailures(t *testing.T) {
	var got []error
	fail := errors.New("redis down")
	s := newSettler(failingCounters{err: fail}, time.Now, func(err error) { got = append(got, err) })
	s.add([]adjustment{{store.Counter{Key: "k", Algorithm: store.Bucket, Limit: 1, Window: time.Second}, 1}})
	if err := s.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !errors.Is(got[0], fail) {
		t.Errorf("failures = %v, want [%v]", got, fail)
	}
}

type failingCounters struct {
	store.Counters
	err error
}

func (f failingCounters) Adjust(context.Context, time.Time, []store.Charge) error { return f.err }

// TestAsyncSettleOffTheRequestPath: with AsyncSettle, an exchange's
// settlement returns while the store's Adjust is still waiting, and Close
// applies it.
func TestAsyncSettleOffTheRequestPath(t *testing.T) {
	g := newGated(t)
	f := newFixtureWith(t, base, func(o *Options) { o.Counters, o.AsyncSettle = g, true })
	svc := f.svc
	x, rs, d := f.exchange(t, map[string]string{"Authorization": "Bearer " + aliceKey}, "gpt-4o-mini", 100, 500)
	if d != nil {
		t.Fatalf("denied: %v", d)
	}
	settled := make(chan struct{})
	go func() {
		rs.Settle(context.Background(), x, schema.Usage{PromptTokens: 100, CompletionTokens: 50})
		close(settled)
	}()
	select {
	case <-settled:
	case <-time.After(5 * time.Second):
		t.Fatal("Settle waited for the store's Adjust")
	}
	close(g.gate)
	if err := svc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := g.calls()
	if len(calls) != 1 || len(calls[0]) != 1 || calls[0][0].Amount != -450 {
		t.Fatalf("Adjust calls = %+v, want one of -450 tokens (600 reserved, 150 used)", calls)
	}
}
