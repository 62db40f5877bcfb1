package ai

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
	"github.com/switchyard-ai/switchyard/router/dialer"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// TestTLSUpstream serves chats from an https upstream whose certificate is
// trusted through the backend's tls.caFile (the dialer completes the
// handshake), and refuses one whose certificate does not verify.
func TestTLSUpstream(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "upstream-key", TLS: true})
	caFile := fake.CAFile(t)
	tests := []struct {
		name    string
		tls     *config.BackendTLS
		wantErr string // "": the chats succeed
	}{
		{name: "trusted CA", tls: &config.BackendTLS{CAFile: caFile}},
		{name: "insecureSkipVerify", tls: &config.BackendTLS{InsecureSkipVerify: true}},
		{name: "system roots", tls: nil, wantErr: "502"},
		{name: "wrong server name", tls: &config.BackendTLS{CAFile: caFile, ServerName: "api.example.net"}, wantErr: "502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.HasPrefix(fake.URL, "https://") {
				t.Fatalf("fake URL %q is not https", fake.URL)
			}
			b := openaiBackend(fake, "gpt-4o-mini")
			b.TLS = tt.tls
			h := newHarness(t, []backendSpec{{name: "oa", ai: b}}, Options{})
			c := h.sdk()
			before := fake.Count()
			params := openai.ChatCompletionNewParams{
				Model:    "gpt-4o-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
			}
			res, err := c.Chat.Completions.New(context.Background(), params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				if fake.Count() != before {
					t.Fatalf("the upstream got a request over an unverified connection")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Choices[0].Message.Content; got != "Hello from gpt-4o-mini!" {
				t.Errorf("content = %q", got)
			}
			for range 2 { // the second stream reuses the kept-alive TLS connection
				stream := c.Chat.Completions.NewStreaming(context.Background(), params)
				var text strings.Builder
				for stream.Next() {
					if ch := stream.Current(); len(ch.Choices) > 0 {
						text.WriteString(ch.Choices[0].Delta.Content)
					}
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				if text.String() != "Hello from gpt-4o-mini!" {
					t.Errorf("streamed text = %q", text.String())
				}
			}
		})
	}
}

// TestDialCompletesHandshake checks that an https host's dialer returns a
// connection whose TLS handshake is done (so that fasthttp does not wrap it
// again and the handshake never runs on the request's goroutine), and that
// it still carries the upstreamConn the stream idle timeout needs.
func TestDialCompletesHandshake(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{TLS: true})
	host := strings.TrimPrefix(fake.URL, "https://")
	hc := &fasthttp.HostClient{Addr: host, IsTLS: true}
	base, err := upstream.ClientTLS(&config.BackendTLS{CAFile: fake.CAFile(t)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := configureHostClient(base, dialer.New(0, 0))(hc); err != nil {
		t.Fatal(err)
	}
	c, err := hc.Dial(host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc, ok := c.(*tls.Conn)
	if !ok || !tc.ConnectionState().HandshakeComplete {
		t.Fatalf("dialed %T, want a *tls.Conn with its handshake done", c)
	}
	if a, ok := c.LocalAddr().(*connAddr); !ok || a.c == nil {
		t.Fatalf("LocalAddr = %#v, want the upstreamConn's address", c.LocalAddr())
	}
	plain := &fasthttp.HostClient{Addr: host}
	if err := configureHostClient(base, dialer.New(0, 0))(plain); err != nil {
		t.Fatal(err)
	}
	pc, err := plain.Dial(host)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, ok := pc.(*upstreamConn); !ok {
		t.Fatalf("plain dial gave %T, want *upstreamConn", pc)
	}
}
