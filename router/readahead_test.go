//go:build unix

package router

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// readAheadPair returns a readAheadConn accepted from a loopback listener and
// the client's end.
func readAheadPair(t *testing.T) (*readAheadConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := wrapReadAhead(ln).Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); c.Close() })
	rc, ok := c.(*readAheadConn)
	if !ok {
		t.Fatalf("accepted a %T", c)
	}
	return rc, client
}

func TestReadAheadConn(t *testing.T) {
	tests := []struct {
		name  string
		send  []string // written by the client, each after the previous read
		close bool     // the client closes after sending
		reads []int    // read sizes
		want  []string // what each read returns
		// wantErr is the error of the read after the listed ones: "eof",
		// "timeout" or "" (no further read).
		wantErr      string
		wantBuffered []int // Buffered after each read
	}{
		{name: "first byte then the rest", send: []string{"GET / HTTP/1.1\r\n\r\n"}, reads: []int{1, 100},
			want: []string{"G", "ET / HTTP/1.1\r\n\r\n"}, wantBuffered: []int{17, 0}},
		{name: "rest read in small pieces", send: []string{"abcdef"}, reads: []int{1, 2, 2, 100},
			want: []string{"a", "bc", "de", "f"}, wantBuffered: []int{5, 3, 1, 0}},
		{name: "large reads go to the socket", send: []string{"hello"}, reads: []int{100},
			want: []string{"hello"}, wantBuffered: []int{0}},
		{name: "pipelined requests stay in order", send: []string{"one\ntwo\n"}, reads: []int{1, 3, 1, 3},
			want: []string{"o", "ne\n", "t", "wo\n"}, wantBuffered: []int{7, 4, 3, 0}},
		{name: "end of stream", send: []string{"x"}, close: true, reads: []int{1}, want: []string{"x"},
			wantErr: "eof", wantBuffered: []int{0}},
		{name: "deadline", reads: nil, wantErr: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, client := readAheadPair(t)
			for _, s := range tt.send {
				if _, err := client.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.close {
				client.Close()
			}
			time.Sleep(10 * time.Millisecond) // let the bytes arrive together
			for i, n := range tt.reads {
				p := make([]byte, n)
				got, err := c.Read(p)
				if err != nil || string(p[:got]) != tt.want[i] {
					t.Fatalf("read %d: %q, %v; want %q", i, p[:got], err, tt.want[i])
				}
				if b := c.Buffered(); b != tt.wantBuffered[i] {
					t.Errorf("read %d: Buffered %d, want %d", i, b, tt.wantBuffered[i])
				}
			}
			switch tt.wantErr {
			case "eof":
				if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
					t.Fatalf("read at the end: %v, want EOF", err)
				}
			case "timeout":
				_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				_, err := c.Read(make([]byte, 1))
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("read past the deadline: %v, want a timeout", err)
				}
			}
		})
	}
}

// TestReadAheadKeepAlive serves keep-alive requests through fasthttp with
// ReduceMemoryUsage (its first-byte reads) over a read-ahead listener,
// sent one at a time and pipelined.
func TestReadAheadKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{ReduceMemoryUsage: true, Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetBody(append([]byte("echo:"), ctx.PostBody()...))
	}}
	go func() { _ = s.Serve(wrapReadAhead(ln)) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := func(body string) string {
		return "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	r := bufio.NewReader(c)
	tests := []struct {
		name   string
		bodies []string // sent in one write
	}{
		{name: "one", bodies: []string{"a"}},
		{name: "another on the same connection", bodies: []string{strings.Repeat("b", 20000)}},
		{name: "pipelined", bodies: []string{"c", "d", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			for _, b := range tt.bodies {
				out.WriteString(req(b))
			}
			if _, err := io.WriteString(c, out.String()); err != nil {
				t.Fatal(err)
			}
			for _, b := range tt.bodies {
				var resp fasthttp.Response
				if err := resp.Read(r); err != nil {
					t.Fatal(err)
				}
				if got := string(resp.Body()); got != "echo:"+b {
					t.Fatalf("body %.40q (%d bytes), want echo:%.20q", got, len(got), b)
				}
			}
		})
	}
}
