// Package vertexfake is a fake Google AI backend for tests, served on a
// loopback httptest server. It plays three services at once:
//   - the OAuth token endpoint of a service account (POST /token): it verifies
//     the RS256 JWT assertion signed with the key of the credentials file that
//     WriteCredentials writes, and issues random bearer tokens;
//   - Vertex AI: publishers/google models (:generateContent,
//     :streamGenerateContent?alt=sse) and publishers/anthropic models
//     (:rawPredict, :streamRawPredict), which require an issued bearer token
//     and the configured project and location;
//   - the Gemini API (/v1beta/models/{model}:generateContent, ...), which
//     requires the x-goog-api-key header.
//
// Requests are schema-checked (400 in Google's or Anthropic's error format) and
// answered deterministically: a function call when tools are given and the last
// turn is user text, a text about the tool result after a function response,
// else an echo of the last user text. A user text containing "[vertexfake:error]"
// makes a stream fail mid-way (a non-streamed call gets a 500), and one
// containing "[vertexfake:429]" gets a 429 RESOURCE_EXHAUSTED.
package vertexfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Defaults for [Options].
const (
	DefaultProject  = "test-project"
	DefaultLocation = "us-central1"
	DefaultAPIKey   = "test-gemini-key"
	ClientEmail     = "switchyard-test@test-project.iam.gserviceaccount.com"
)

// Magic strings in the last user text.
const (
	MagicError     = "[vertexfake:error]"
	MagicRateLimit = "[vertexfake:429]"
)

// Options configure a [Server]; zero values take the defaults.
type Options struct {
	Project  string        // Vertex project the URLs must name (default DefaultProject)
	Location string        // Vertex location the URLs must name (default DefaultLocation)
	APIKey   string        // Gemini API key (default DefaultAPIKey)
	TokenTTL time.Duration // issued token lifetime (default 1h)
}

// Request is one recorded request.
type Request struct {
	Kind   string // "token", "vertex", "gemini" or "anthropic"
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port): the backend's baseURL.
	URL      string
	Project  string
	Location string
	APIKey   string

	ttl   time.Duration
	key   *rsa.PrivateKey
	keyID string
	srv   *httptest.Server

	mu     sync.Mutex
	tokens map[string]time.Time // issued token -> expiry
	reqs   []Request
	seq    int
}

// New starts a fake server. Close it when done.
func New(opts Options) (*Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("vertexfake: generate key: %w", err)
	}
	s := &Server{
		Project: opts.Project, Location: opts.Location, APIKey: opts.APIKey, ttl: opts.TokenTTL,
		key: key, keyID: randomHex(8), tokens: map[string]time.Time{},
	}
	if s.Project == "" {
		s.Project = DefaultProject
	}
	if s.Location == "" {
		s.Location = DefaultLocation
	}
	if s.APIKey == "" {
		s.APIKey = DefaultAPIKey
	}
	if s.ttl <= 0 {
		s.ttl = time.Hour
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s, nil
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// TokenURL is the token endpoint written as token_uri in the credentials.
func (s *Server) TokenURL() string { return s.URL + "/token" }

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count returns how many requests of kind were received.
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.reqs {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// IssueToken issues a valid bearer token directly (for tests that skip the JWT flow).
func (s *Server) IssueToken() string {
	tok := "ya29.fake-" + randomHex(16)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.ttl)
	s.mu.Unlock()
	return tok
}

func (s *Server) validToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

func (s *Server) nextID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

func (s *Server) record(kind string, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, Request{Kind: kind, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body})
}

// serve routes a request by path.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		googleError(w, 400, "INVALID_ARGUMENT", "cannot read body")
		return
	}
	path := r.URL.Path
	switch {
	case path == "/token":
		s.record("token", r, body)
		s.serveToken(w, r, body)
	case strings.HasPrefix(path, "/v1beta/models/"):
		s.record("gemini", r, body)
		if r.Header.Get("x-goog-api-key") != s.APIKey {
			googleError(w, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
			return
		}
		model, method, _ := strings.Cut(strings.TrimPrefix(path, "/v1beta/models/"), ":")
		s.serveGemini(w, r, model, method, body)
	case strings.HasPrefix(path, "/v1/projects/"):
		s.serveVertex(w, r, body)
	default:
		googleError(w, 404, "NOT_FOUND", "The requested URL was not found on this server.")
	}
}

// serveVertex checks the bearer token and the URL, then dispatches by publisher.
func (s *Server) serveVertex(w http.ResponseWriter, r *http.Request, body []byte) {
	// /v1/projects/{p}/locations/{l}/publishers/{pub}/models/{model}:{method}
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	kind := "vertex"
	if len(seg) == 9 && seg[6] == "anthropic" {
		kind = "anthropic"
	}
	s.record(kind, r, body)
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.validToken(tok) {
		googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if len(seg) != 9 || seg[0] != "v1" || seg[1] != "projects" || seg[3] != "locations" || seg[5] != "publishers" || seg[7] != "models" {
		googleError(w, 404, "NOT_FOUND", "The requested URL was not found on this server.")
		return
	}
	if seg[2] != s.Project {
		googleError(w, 403, "PERMISSION_DENIED", fmt.Sprintf("Permission denied on resource project %s.", seg[2]))
		return
	}
	if seg[4] != s.Location {
		googleError(w, 404, "NOT_FOUND", fmt.Sprintf("Location %s is not served by this endpoint.", seg[4]))
		return
	}
	model, method, _ := strings.Cut(seg[8], ":")
	if r.Method != http.MethodPost {
		googleError(w, 405, "INVALID_ARGUMENT", "method must be POST")
		return
	}
	switch seg[6] {
	case "google":
		s.serveGemini(w, r, model, method, body)
	case "anthropic":
		s.serveAnthropic(w, model, method, body)
	default:
		googleError(w, 404, "NOT_FOUND", fmt.Sprintf("Publisher %s not found.", seg[6]))
	}
}

// googleError writes Google's error JSON.
func googleError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// sseWriter writes SSE data events and flushes each.
type sseWriter struct {
	w http.ResponseWriter
}

func startSSE(w http.ResponseWriter) *sseWriter {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	return &sseWriter{w: w}
}

func (s *sseWriter) event(name string, v any) {
	b, _ := json.Marshal(v)
	if name != "" {
		fmt.Fprintf(s.w, "event: %s\n", name)
	}
	fmt.Fprintf(s.w, "data: %s\r\n\r\n", b)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
