package testutil

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Eventually polls cond every 10ms until it holds, and fails the test when it
// does not within d. what, if given, says what was awaited.
func Eventually(t testing.TB, d time.Duration, cond func() bool, what ...string) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	if !cond() {
		msg := "a condition"
		if len(what) > 0 {
			msg = strings.Join(what, " ")
		}
		t.Fatalf("timed out after %s waiting for %s", d, msg)
	}
}

// RawExchange writes raw bytes on a fresh connection to addr and returns the
// first response, its body, and whether the server then closed the
// connection (nothing more within 300ms counts as open).
func RawExchange(t testing.TB, addr, raw string) (resp *http.Response, body string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = br.ReadByte()
	var ne net.Error
	closed = err == io.EOF || err != nil && !(errors.As(err, &ne) && ne.Timeout())
	return resp, string(b), closed
}

// Post sends body to url with POST and the given headers (an empty value
// sends no header; Content-Type is application/json unless header says
// otherwise) and returns the status and the response body.
func Post(t testing.TB, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	up := &schema.Upstream{Method: http.MethodPost, URL: url, ContentType: "application/json", Body: []byte(body)}
	for k, v := range header {
		if strings.EqualFold(k, "Content-Type") {
			up.ContentType = v
		} else if v != "" {
			up.SetHeader(k, v)
		}
	}
	resp, b := Send(t, up)
	return resp.StatusCode, string(b)
}
