package testutil

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// client sends the requests of [Do]; its timeout turns a hung fake upstream
// into a failed test rather than one that waits for the go test deadline.
var client = &http.Client{Timeout: 30 * time.Second}

// Do sends up with net/http as the router would: up.Method to up.URL with
// up.Body, the Content-Type header from up.ContentType (when set), then
// up.Header in order (a later header replaces an earlier one of the same
// name). The request is bound to the test's context. It fails the test when the
// request cannot be built or sent; the caller closes the response body.
func Do(t testing.TB, up *schema.Upstream) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), up.Method, up.URL, bytes.NewReader(up.Body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if up.ContentType != "" {
		req.Header.Set("Content-Type", up.ContentType)
	}
	for _, h := range up.Header {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", up.Method, up.URL, err)
	}
	return resp
}

// ReadBody reads and closes resp.Body, failing the test on a read error.
func ReadBody(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return b
}

// Send is [Do] followed by [ReadBody]: it returns the response, whose body is
// closed, and the body's bytes.
func Send(t testing.TB, up *schema.Upstream) (*http.Response, []byte) {
	t.Helper()
	resp := Do(t, up)
	return resp, ReadBody(t, resp)
}
