package mcp

import (
	"strings"
	"testing"
	"time"
)

// TestSealedSessions checks that a sealed id opens only with its key and
// backend, unaltered and within its TTL.
func TestSealedSessions(t *testing.T) {
	k, err := newSealer("a-session-key-of-some-length", "default/tools", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id, err := k.seal(&session{V: 1, IssuedAt: now.Unix(), Protocol: "2025-06-18", Targets: map[string][2]string{"a": {"sid-a", "2025-06-18"}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(id, "sid-a") {
		t.Fatal("the sealed id shows a target's session id")
	}
	s, err := k.open(id, now)
	if err != nil || s.Targets["a"][0] != "sid-a" {
		t.Fatalf("open = %+v, %v", s, err)
	}
	otherKey, _ := newSealer("another-session-key-here", "default/tools", time.Hour)
	otherBackend, _ := newSealer("a-session-key-of-some-length", "default/other", time.Hour)
	flipped := []byte(id)
	flipped[10] ^= 2
	tests := []struct {
		name string
		k    *sealer
		id   string
		at   time.Time
	}{
		{"another key", otherKey, id, now},
		{"another backend", otherBackend, id, now},
		{"altered", k, string(flipped), now},
		{"truncated", k, id[:20], now},
		{"not base64", k, "!!!" + id, now},
		{"empty", k, "", now},
		{"too long", k, strings.Repeat("A", maxSessionIDLen+1), now},
		{"expired", k, id, now.Add(2 * time.Hour)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := tc.k.open(tc.id, tc.at); err != errBadSession {
				t.Fatalf("open = %+v, %v; want errBadSession", s, err)
			}
		})
	}
}
