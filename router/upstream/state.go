package upstream

import (
	"fmt"
	"sort"
	"sync"

	"github.com/switchyard-ai/switchyard/router/dialer"
)

// State is the upstream state that outlives one snapshot: connection pools,
// TLS session caches, health, ejections and Retry-After waits, keyed by the
// identity of what they belong to (a static endpoint: backend, address, TLS
// settings and pool limits; an AI backend: its address, TLS settings and an
// auth digest). A reload that does not change an identity keeps its state:
// no new connections, no reset ejection.
//
// Each compile of a snapshot is a Generation: it takes entries by identity
// (building those it does not find) and, once the snapshot is swapped in,
// Commit returns a retire function that closes the entries the new snapshot
// no longer uses; the router calls it after the old snapshot's requests
// have had the drain timeout to finish. A State is safe for concurrent use;
// one is made per process (per Gateway).
type State struct {
	dials *dialer.Pool

	mu      sync.Mutex
	entries map[string]*entry
	gen     uint64 // last generation begun
	current uint64 // last generation committed
	retired uint64 // the newest generation whose retire ran
}

type entry struct {
	val       any
	close     func()
	committed uint64 // the last committed generation that used it (0: none yet)
	users     map[uint64]bool
}

// NewState returns an empty State with its pool of dialing goroutines.
func NewState() *State {
	return &State{dials: dialer.New(0, 0), entries: map[string]*entry{}}
}

// Dials is the pool of dialing goroutines every upstream client shares.
func (s *State) Dials() *dialer.Pool { return s.dials }

// Len is the number of live entries.
func (s *State) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// IDs lists the live entries' identities, sorted (for tests and /config).
func (s *State) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.entries))
	for id := range s.entries {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Generation is one snapshot's compile against a State.
type Generation struct {
	s    *State
	n    uint64
	used []string
	done bool
}

// Begin starts a generation. End it with Commit or Abort.
func (s *State) Begin() *Generation {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	return &Generation{s: s, n: s.gen}
}

// Get returns the entry for id, or builds it with build (which returns the
// value and how to close it, nil for nothing). Values are shared by every
// generation that asks for the same id: they must be safe for concurrent use.
func (g *Generation) Get(id string, build func() (val any, close func(), err error)) (any, error) {
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[id]
	if e == nil {
		v, c, err := build()
		if err != nil {
			return nil, fmt.Errorf("upstream: build state: %w", err)
		}
		e = &entry{val: v, close: c, users: map[uint64]bool{}}
		s.entries[id] = e
	}
	if !e.users[g.n] {
		e.users[g.n] = true
		g.used = append(g.used, id)
	}
	return e.val, nil
}

// Commit makes g the current generation and returns a function that closes
// the entries it does not use, unless a later generation took them again.
// Call it once the previous snapshot has drained.
func (g *Generation) Commit() (retire func()) {
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g.done = true
	if g.n > s.current {
		s.current = g.n
	}
	for _, id := range g.used {
		if e := s.entries[id]; e != nil {
			e.committed = max(e.committed, g.n)
			delete(e.users, g.n)
		}
	}
	n := g.n
	return func() { s.retire(n) }
}

// Abort gives up g (its snapshot failed to compile or bind): entries that
// only g used are closed now.
func (g *Generation) Abort() {
	s := g.s
	s.mu.Lock()
	g.done = true
	var closers []func()
	for _, id := range g.used {
		e := s.entries[id]
		if e == nil {
			continue
		}
		delete(e.users, g.n)
		// Close what only g held: an entry no generation committed, or one
		// that a retire which ran during g's compile skipped for g's sake.
		if len(e.users) == 0 && (e.committed == 0 || e.committed < s.retired) {
			closers = s.dropLocked(id, e, closers)
		}
	}
	s.mu.Unlock()
	runAll(closers)
}

// retire closes the entries that generation n and every later committed
// one left unused, and that no generation being compiled holds.
func (s *State) retire(n uint64) {
	s.mu.Lock()
	s.retired = max(s.retired, n)
	var closers []func()
	for id, e := range s.entries {
		if e.committed < n && e.committed < s.current && len(e.users) == 0 {
			closers = s.dropLocked(id, e, closers)
		}
	}
	s.mu.Unlock()
	runAll(closers)
}

// dropLocked removes entry e (s.mu held) and appends its close, if any, to
// closers, which the caller runs once it has unlocked.
func (s *State) dropLocked(id string, e *entry, closers []func()) []func() {
	delete(s.entries, id)
	if e.close != nil {
		closers = append(closers, e.close)
	}
	return closers
}

func runAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}

// Close closes every entry (the process is stopping).
func (s *State) Close() {
	s.mu.Lock()
	entries := s.entries
	s.entries = map[string]*entry{}
	s.mu.Unlock()
	for _, e := range entries {
		if e.close != nil {
			e.close()
		}
	}
}

// Renew replaces the entry for id with a new build, closing the old value:
// for an entry whose build failed in a way a later attempt may cure
// (credentials that did not load). Snapshots still holding the old value
// keep using it.
func (g *Generation) Renew(id string, build func() (val any, close func(), err error)) (any, error) {
	v, c, err := build()
	if err != nil {
		return nil, fmt.Errorf("upstream: build state: %w", err)
	}
	s := g.s
	s.mu.Lock()
	old := s.entries[id]
	e := &entry{val: v, close: c, users: map[uint64]bool{g.n: true}}
	if old != nil {
		e.committed = old.committed
		for u := range old.users {
			e.users[u] = true
		}
	}
	s.entries[id] = e
	if old == nil || !old.users[g.n] {
		g.used = append(g.used, id)
	}
	s.mu.Unlock()
	if old != nil && old.close != nil {
		old.close()
	}
	return v, nil
}

// Dials is the pool of dialing goroutines of g's State.
func (g *Generation) Dials() *dialer.Pool { return g.s.dials }
