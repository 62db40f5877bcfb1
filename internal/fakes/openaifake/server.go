// Package openaifake is a fake OpenAI API server for tests: it checks the API
// key and the request shape as OpenAI does (401 and 400 in OpenAI's error
// shape), answers chat (text, tool calls, streams with usage), completions,
// embeddings and models, records every request, and can be told to fail.
package openaifake

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Options configure a Server.
type Options struct {
	// APIKey is the key clients must send as "Authorization: Bearer <key>"
	// ("" accepts any request, with or without a key).
	APIKey string
	// Models are listed by GET /v1/models (default gpt-4o-mini).
	Models []string
	// Reply is the assistant's text answer (default "Hello from <model>!").
	Reply string
	// CachedTokens and ReasoningTokens are reported in usage details.
	CachedTokens, ReasoningTokens int
	// Header is added to every response (e.g. x-ratelimit-remaining-requests).
	Header map[string]string
	// TLS serves https with httptest's certificate (see CAFile).
	TLS bool
}

// Request is one request the server received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Fault makes the server fail requests.
type Fault struct {
	// Status, when set, answers every request with this status and an OpenAI error.
	Status int
	// RetryAfter is sent as the Retry-After header with Status.
	RetryAfter string
	// CloseConn closes the connection without answering.
	CloseConn bool
	// StreamBreakAfter, when > 0, ends a streamed chat by closing the connection
	// after that many chunks.
	StreamBreakAfter int
}

// Server is a running fake (an httptest.Server).
type Server struct {
	*httptest.Server
	opts Options

	mu    sync.Mutex
	reqs  []Request
	fault Fault
}

// New starts a server on loopback; it is closed when t ends (t may be nil:
// then call Close).
func New(t testing.TB, opts Options) *Server {
	if len(opts.Models) == 0 {
		opts.Models = []string{"gpt-4o-mini"}
	}
	s := &Server{opts: opts}
	if opts.TLS {
		s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	} else {
		s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	}
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// CAFile writes the certificate of a TLS server to a PEM file in t's
// temporary directory and returns its path.
func (s *Server) CAFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "upstream-ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// BaseURL is the server's URL with /v1, as SDKs take it.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// SetFault sets (or, with the zero Fault, clears) the failure mode.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// LastRequest returns the last request received (zero if none).
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{}
	}
	return s.reqs[len(s.reqs)-1]
}

// Count returns how many requests were received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	fault := s.fault
	s.mu.Unlock()
	for k, v := range s.opts.Header {
		w.Header().Set(k, v)
	}
	if fault.CloseConn {
		closeConn(w)
		return
	}
	if fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		writeError(w, fault.Status, "server_error", "", "injected failure")
		return
	}
	if s.opts.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
			"Incorrect API key provided.")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/v1/models" && r.Method == http.MethodGet:
		s.models(w)
	case r.Method != http.MethodPost:
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "method not allowed")
	case path == "/v1/chat/completions":
		s.chat(w, body, fault.StreamBreakAfter)
	case path == "/v1/completions":
		s.completions(w, body)
	case path == "/v1/embeddings":
		s.embeddings(w, body)
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) models(w http.ResponseWriter) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, m := range s.opts.Models {
		out.Data = append(out.Data, model{ID: m, Object: "model", Created: 1700000000, OwnedBy: "openaifake"})
	}
	writeJSON(w, http.StatusOK, out)
}

// closeConn drops the connection with no answer.
func closeConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err == nil {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encode","type":"server_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}
