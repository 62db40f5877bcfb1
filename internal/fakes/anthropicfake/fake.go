// Package anthropicfake is a fake Anthropic Messages API server for tests. It
// checks what the real service checks (x-api-key, anthropic-version,
// content-type, the request schema), answers deterministic messages and SSE
// streams, and records the requests it received.
//
// Answers: when the request has tools (and tool_choice is not none) and the
// last user turn has no tool_result, the model calls a tool (text block, then
// a tool_use block whose input is built from the tool's input_schema);
// otherwise it answers text (echoing the tool result after a tool_result).
package anthropicfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Version is the anthropic-version the fake expects clients to send (any
// non-empty value is accepted).
const Version = "2023-06-01"

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Failure is an HTTP error the fake answers instead of a message.
type Failure struct {
	Status  int    // HTTP status, e.g. 529
	Type    string // Anthropic error type, e.g. overloaded_error
	Message string
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port), to use as the backend's baseURL.
	URL string

	srv    *httptest.Server
	apiKey string

	mu          sync.Mutex
	requests    []Request
	failures    []Failure
	streamError *Failure
}

// New starts a fake that accepts apiKey in x-api-key.
func New(apiKey string) *Server {
	s := &Server{apiKey: apiKey}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Requests returns copies of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = Request{Method: r.Method, Path: r.Path, Header: r.Header.Clone(),
			Body: append([]byte(nil), r.Body...)}
	}
	return out
}

// FailNext makes the next n authenticated requests (n >= 1) fail with f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failures = append(s.failures, f)
	}
}

// SetStreamError makes every following stream send an `error` event with f's
// type and message after its first content delta (nil turns it off).
func (s *Server) SetStreamError(f *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil {
		s.streamError = nil
		return
	}
	c := *f
	s.streamError = &c
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		writeError(w, 400, "invalid_request_error", "could not read the request body")
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	if r.URL.Path != "/v1/messages" {
		writeError(w, 404, "not_found_error", "Not Found")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, 405, "invalid_request_error", "Method Not Allowed")
		return
	}
	if key := r.Header.Get("x-api-key"); key == "" || key != s.apiKey {
		writeError(w, 401, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header.Get("anthropic-version") == "" {
		writeError(w, 400, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	if ct := r.Header.Get("content-type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, 400, "invalid_request_error", "content-type must be application/json")
		return
	}
	req, msg := validate(body)
	if msg != "" {
		writeError(w, 400, "invalid_request_error", msg)
		return
	}
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		fail = &f
	}
	streamErr := s.streamError
	s.mu.Unlock()
	if fail != nil {
		writeError(w, fail.Status, fail.Type, fail.Message)
		return
	}
	ans := answer(req)
	if req.Stream {
		writeStream(w, req, ans, streamErr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans.message(req))
}

// writeError writes Anthropic's error JSON.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":  "error",
		"error": map[string]string{"type": typ, "message": msg},
	})
}
