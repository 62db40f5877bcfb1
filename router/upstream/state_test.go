package upstream

import (
	"errors"
	"slices"
	"testing"
)

// TestStateGenerations: entries are shared by identity across generations,
// retired once a committed generation no longer uses them, and closed at
// once when only an aborted generation built them.
func TestStateGenerations(t *testing.T) {
	var closed []string
	build := func(id string) func() (any, func(), error) {
		return func() (any, func(), error) {
			return id, func() { closed = append(closed, id) }, nil
		}
	}
	s := NewState()
	g1 := s.Begin()
	a1, _ := g1.Get("a", build("a"))
	_, _ = g1.Get("b", build("b"))
	retire1 := g1.Commit()
	retire1() // nothing older to retire
	if len(closed) != 0 || s.Len() != 2 {
		t.Fatalf("after the first generation: closed %v, %d entries", closed, s.Len())
	}

	// An aborted generation closes only what it alone built.
	g2 := s.Begin()
	a2, _ := g2.Get("a", build("a-again"))
	_, _ = g2.Get("c", build("c"))
	g2.Abort()
	if a2 != a1 {
		t.Fatal("the same identity built a new entry")
	}
	if !slices.Equal(closed, []string{"c"}) || s.Len() != 2 {
		t.Fatalf("after an abort: closed %v, entries %v", closed, s.IDs())
	}

	// A committed generation without b retires b once called.
	g3 := s.Begin()
	_, _ = g3.Get("a", build("a"))
	retire3 := g3.Commit()
	if len(closed) != 1 {
		t.Fatal("retired before the drain")
	}
	retire3()
	if !slices.Equal(closed, []string{"c", "b"}) || !slices.Equal(s.IDs(), []string{"a"}) {
		t.Fatalf("after retiring: closed %v, entries %v", closed, s.IDs())
	}

	// A generation being compiled keeps what it took from an older retire.
	g4 := s.Begin()
	_, _ = g4.Get("d", build("d"))
	g5 := s.Begin()
	_, _ = g5.Get("a", build("a"))
	g5.Commit()() // retires what g5 does not use, but d is held by g4
	if !slices.Contains(s.IDs(), "d") {
		t.Fatal("an entry of a generation still compiling was retired")
	}
	g4.Abort()

	if _, err := s.Begin().Get("e", func() (any, func(), error) { return nil, nil, errors.New("boom") }); err == nil {
		t.Fatal("a build error was not returned")
	}
	s.Close()
	if s.Len() != 0 {
		t.Fatal("Close left entries")
	}
}
