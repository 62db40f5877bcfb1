// Package bedrockfake is a fake Amazon Bedrock runtime for tests: it verifies
// SigV4 signatures with test credentials, checks Converse / ConverseStream /
// InvokeModel (Titan and Cohere embeddings) request bodies strictly, and
// answers deterministically, streaming with AWS event-stream frames.
//
// Replies: when the request has tools and the last message is a user message
// without tool results, the model calls a tool (the toolChoice tool or the
// first one) with arguments built from its JSON Schema; otherwise it answers
// with text ("The tool returned: ..." after a tool result). A last user message
// containing [TriggerThrottle] makes a stream fail mid-way with a
// throttlingException (and a non-streamed call answer 429).
package bedrockfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Test credentials and region the fake accepts by default.
const (
	TestAccessKeyID     = "AKIDBEDROCKFAKE0TEST"
	TestSecretAccessKey = "bedrockfake/secret+access/key0000000000"
	TestRegion          = "us-east-1"
)

// TriggerThrottle in the last user message makes the fake throttle mid-stream.
const TriggerThrottle = "[bedrockfake:throttle]"

// DefaultText is the fake's plain text answer.
const DefaultText = "Hello from the Bedrock fake. How can I help?"

// Options configure a Server. Zero fields take the defaults above.
type Options struct {
	// Region the credential scope must name (default TestRegion).
	Region string
	// AccessKeyID and SecretAccessKey the signature must verify with.
	AccessKeyID, SecretAccessKey string
	// SessionToken, when set, must arrive signed in X-Amz-Security-Token.
	SessionToken string
	// Text is the plain text answer (default DefaultText).
	Text string
	// StreamException, when set (e.g. "throttlingException"), ends every stream
	// with that exception after the first content delta.
	StreamException string
	// Now is the server's clock for the signature's date check (default time.Now).
	Now func() time.Time
}

// Request is one request the fake received, recorded after routing.
type Request struct {
	// Op is converse, converse-stream or invoke.
	Op string
	// ModelID is the unescaped model id from the path.
	ModelID string
	// RawPath is the path as sent (escaped).
	RawPath string
	Header  http.Header
	Body    []byte
}

// Server is a running fake Bedrock runtime on 127.0.0.1.
type Server struct {
	// URL is the base URL to use as the backend's baseURL.
	URL string

	opts Options
	ts   *httptest.Server
	mu   sync.Mutex
	reqs []Request
}

// New starts a fake with opts; call Close when done.
func New(opts Options) *Server {
	if opts.Region == "" {
		opts.Region = TestRegion
	}
	if opts.AccessKeyID == "" {
		opts.AccessKeyID, opts.SecretAccessKey = TestAccessKeyID, TestSecretAccessKey
	}
	if opts.Text == "" {
		opts.Text = DefaultText
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Requests returns a copy of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reset forgets the recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationException", "could not read body")
		return
	}
	if ae := s.verifySignature(r, body); ae != nil {
		writeError(w, ae.status, ae.errType, ae.message)
		return
	}
	modelID, op, ok := splitPath(r.URL.EscapedPath())
	if !ok || r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation")
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Op: op, ModelID: modelID, RawPath: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "Content-Type must be application/json")
		return
	}
	switch op {
	case "converse":
		s.converse(w, modelID, body)
	case "converse-stream":
		s.converseStream(w, modelID, body)
	case "invoke":
		s.invoke(w, modelID, body)
	default:
		writeError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation")
	}
}

// splitPath splits /model/{modelId}/{op} with modelId escaped as the SDK does.
func splitPath(p string) (modelID, op string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/model/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	id, err := url.PathUnescape(rest[:i])
	if err != nil || id == "" {
		return "", "", false
	}
	return id, rest[i+1:], true
}

// writeError writes Bedrock's error shape: {"message":...} and x-amzn-ErrorType.
func writeError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", errType+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.Header().Set("x-amzn-RequestId", "fake-request-id")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerException", "encode response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", "fake-request-id")
	_, _ = w.Write(b)
}
