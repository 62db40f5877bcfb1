package route

import (
	"errors"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
		err  error
	}{
		{"root", "/", "/", nil},
		{"plain", "/v1/chat/completions", "/v1/chat/completions", nil},
		{"trailing slash kept", "/v1/", "/v1/", nil},
		{"double slash", "//x", "/x", nil},
		{"many slashes", "/a///b//", "/a/b/", nil},
		{"dot segment", "/a/./b", "/a/b", nil},
		{"trailing dot", "/a/.", "/a/", nil},
		{"dot dot", "/a/b/../c", "/a/c", nil},
		{"dot dot to root", "/a/..", "/", nil},
		{"dot dot trailing slash", "/a/b/../", "/a/", nil},
		{"dot dot above root", "/a/../../etc", "", ErrPathAboveRoot},
		{"bare dot dot", "/..", "", ErrPathAboveRoot},
		{"encoded dot dot", "/%2e%2e/", "", ErrPathAboveRoot},
		{"encoded dot dot upper", "/a/%2E%2E/%2E%2E/etc/passwd", "", ErrPathAboveRoot},
		{"mixed encoded dot dot", "/a/.%2e/b", "/b", nil},
		{"encoded dot", "/a/%2e/b", "/a/b", nil},
		{"encoded slash", "/a%2fb", "", ErrPathEncodedSlash},
		{"encoded slash upper", "/a%2Fb", "", ErrPathEncodedSlash},
		{"encoded backslash", "/a%5cb", "", ErrPathBackslash},
		{"raw backslash", `/a\..\b`, "", ErrPathBackslash},
		{"encoded NUL", "/a%00b", "", ErrPathControl},
		{"raw NUL", "/a\x00b", "", ErrPathControl},
		{"raw newline", "/a\nb", "", ErrPathControl},
		{"encoded CR", "/a%0db", "", ErrPathControl},
		{"encoded DEL", "/a%7fb", "", ErrPathControl},
		{"raw tab", "/a\tb", "", ErrPathControl},
		{"truncated escape", "/a%2", "", ErrPathBadEscape},
		{"bad hex", "/a%zz", "", ErrPathBadEscape},
		{"percent at end", "/a%", "", ErrPathBadEscape},
		{"not absolute", "a/b", "", ErrPathNotAbsolute},
		{"empty", "", "", ErrPathNotAbsolute},
		{"absolute-form", "http://evil/x", "", ErrPathNotAbsolute},
		{"unreserved decoded", "/%41%7e%2D%5f%30", "/A~-_0", nil},
		{"reserved kept upper-cased", "/a%3fb%2ac%25", "/a%3Fb%2Ac%25", nil},
		{"space kept encoded", "/a%20b", "/a%20b", nil},
		{"utf-8 encoded", "/caf\xc3\xa9", "/caf%C3%A9", nil},
		{"query ends path", "/a/../b?x=/../..", "/b", nil},
		{"fragment ends path", "/a#/../..", "/a", nil},
		{"double encoded stays", "/%252e%252e/x", "/%252e%252e/x", nil},
		{"dots in names", "/a.b/..c/...", "/a.b/..c/...", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePath([]byte(tt.raw))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("NormalizePath(%q) = %q, %v; want error %v", tt.raw, got, err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("NormalizePath(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
			// Canonical form is a fixed point.
			again, err := NormalizePath(got)
			if err != nil || string(again) != string(got) {
				t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestAppendNormalizedPathKeepsPrefix(t *testing.T) {
	dst := []byte("keep:")
	got, err := AppendNormalizedPath(dst, []byte("/a//b/../c"))
	if err != nil || string(got) != "keep:/a/c" {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = AppendNormalizedPath(dst, []byte("/.."))
	if err == nil || string(got) != "keep:" {
		t.Fatalf("on error got %q, %v", got, err)
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/", "//x//", "/a%2fb", "/caf\xc3\xa9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := NormalizePath(raw)
		if err != nil {
			return
		}
		if len(got) == 0 || got[0] != '/' {
			t.Fatalf("%q -> %q: not absolute", raw, got)
		}
		again, err := NormalizePath(got)
		if err != nil || string(again) != string(got) {
			t.Fatalf("%q -> %q -> %q, %v: not idempotent", raw, got, again, err)
		}
		for _, seg := range []string{"/../", "/./", "//"} {
			if contains(got, seg) {
				t.Fatalf("%q -> %q contains %q", raw, got, seg)
			}
		}
	})
}

func contains(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if string(b[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}
