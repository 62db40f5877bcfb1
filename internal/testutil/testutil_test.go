package testutil

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestGoldenNormalizes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.json")
	if err := os.WriteFile(path, []byte("{\n  \"b\": 1,\n  \"a\": [\n    true\n  ]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	Golden(t, path, []byte(`{"b":1,"a":[true]}`)) // same document, compact: must match

	// A different document, or the same members in another order, must fail.
	for _, got := range []string{`{"b":2,"a":[true]}`, `{"a":[true],"b":1}`, `{"b":1,"a":[true],"c":null}`} {
		r := &recorder{TB: t}
		Golden(r, path, []byte(got))
		if len(r.errors) == 0 {
			t.Errorf("Golden accepted %s for a golden file holding {\"b\":1,\"a\":[true]}", got)
		}
	}
	r := &recorder{TB: t}
	Golden(r, filepath.Join(t.TempDir(), "missing.json"), []byte(`{}`))
	if len(r.errors) == 0 {
		t.Error("Golden accepted a missing golden file")
	}
}

// recorder is a testing.TB that records failures instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) { r.errors = append(r.errors, fmt.Sprint(args...)) }

func TestStreamEvents(t *testing.T) {
	buf := []byte("x")
	stream := func(src io.Reader, emit func([]byte) error) (schema.Usage, error) {
		b, _ := io.ReadAll(src)
		for _, c := range b {
			buf[0] = c // reused buffer: StreamEvents must copy
			if err := emit(buf); err != nil {
				return schema.Usage{}, err
			}
		}
		return schema.Usage{TotalTokens: len(b)}, nil
	}
	events, u := StreamEvents(t, stream, strings.NewReader("123"))
	if len(events) != 3 || string(events[0]) != "1" || string(events[2]) != "3" || u.TotalTokens != 3 {
		t.Fatalf("events %q usage %+v", events, u)
	}
}

func TestSend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Got", r.Method+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Key")+" "+string(b))
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("reply"))
	}))
	defer srv.Close()
	tests := []struct {
		name string
		up   schema.Upstream
		want string
	}{
		{name: "content type and headers", up: schema.Upstream{Method: http.MethodPost, URL: srv.URL, ContentType: "application/json",
			Header: []schema.Header{{Name: "X-Key", Value: "k1"}}, Body: []byte(`{}`)}, want: "POST application/json k1 {}"},
		{name: "header overrides content type", up: schema.Upstream{Method: http.MethodPost, URL: srv.URL, ContentType: "application/json",
			Header: []schema.Header{{Name: "content-type", Value: "text/plain"}}, Body: []byte("hi")}, want: "POST text/plain  hi"},
		{name: "no content type", up: schema.Upstream{Method: http.MethodPut, URL: srv.URL}, want: "PUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := Send(t, &tc.up)
			if resp.StatusCode != http.StatusTeapot || !bytes.Equal(body, []byte("reply")) || resp.Header.Get("X-Got") != tc.want {
				t.Fatalf("got %d %q %q, want %q", resp.StatusCode, body, resp.Header.Get("X-Got"), tc.want)
			}
		})
	}
}

func TestStartRedis(t *testing.T) {
	r := StartRedis(t)
	if !r.ping() {
		t.Fatal("no PONG after StartRedis")
	}
	r.Kill()
	if r.ping() {
		t.Fatal("PONG after Kill")
	}
	r.Start()
	if !r.ping() {
		t.Fatal("no PONG after Start")
	}
}
