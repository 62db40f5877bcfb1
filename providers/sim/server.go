package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// MaxBodyBytes bounds a request body of the standalone server (413 beyond).
const MaxBodyBytes = 8 << 20

// DefaultModel is the model /v1/models lists when no model name is given.
const DefaultModel = "sim"

// ServerOption configures NewServer.
type ServerOption func(*server)

// WithModels sets the model names /v1/models lists (default DefaultModel).
// Requests for other names are served too: the response names the requested model.
func WithModels(names ...string) ServerOption {
	return func(s *server) {
		if len(names) > 0 {
			s.models = names
		}
	}
}

type server struct {
	a       *Adapter
	backend *config.AIBackend
	models  []string
	created int64
}

// NewServer returns a standalone OpenAI-compatible HTTP server for the
// simulated model configured by cfg: POST /v1/chat/completions (SSE when
// stream is set), /v1/completions, /v1/embeddings, GET /v1/models, /health and
// /metrics (the registry reg, on which the adapter's metrics are registered; a
// new registry if reg is nil). Errors are OpenAI-shaped: 400 for a bad body,
// 404 for an unknown path, 405 for a wrong method, 413 past MaxBodyBytes.
func NewServer(a *Adapter, cfg config.SimConfig, reg *prometheus.Registry, opts ...ServerOption) http.Handler {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	// Register fails only for a collector clashing with another on reg; the
	// sim's metrics are then missing from /metrics but the model still serves.
	_ = a.Register(reg)
	s := &server{a: a, backend: &config.AIBackend{Provider: config.ProviderSim, Sim: &cfg},
		models: []string{DefaultModel}, created: time.Now().Unix()}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", s.post(schema.OpChat))
	mux.HandleFunc("/v1/completions", s.post(schema.OpCompletion))
	mux.HandleFunc("/v1/embeddings", s.post(schema.OpEmbeddings))
	mux.HandleFunc("/v1/models", s.get(s.listModels))
	mux.HandleFunc("/health", s.get(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
	}))
	mux.Handle("/metrics", methodGuard(http.MethodGet, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &schema.Error{Status: http.StatusNotFound, Type: schema.ErrNotFound,
			Message: "no route for " + r.Method + " " + r.URL.Path})
	})
	return mux
}

func (s *server) get(h http.HandlerFunc) http.HandlerFunc {
	return methodGuard(http.MethodGet, h).ServeHTTP
}

// methodGuard answers 405 in OpenAI's shape to methods other than method (and HEAD for GET).
func methodGuard(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, &schema.Error{Status: http.StatusMethodNotAllowed, Type: schema.ErrInvalidRequest,
				Message: "method " + r.Method + " not allowed, use " + method})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// post serves an OpenAI POST endpoint through the adapter.
func (s *server) post(op schema.Operation) http.HandlerFunc {
	return methodGuard(http.MethodPost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, schema.Errorf(http.StatusRequestEntityTooLarge, schema.ErrInvalidRequest,
					"request body is larger than %d bytes", MaxBodyBytes))
				return
			}
			writeError(w, schema.Errorf(http.StatusBadRequest, schema.ErrInvalidRequest, "cannot read request body"))
			return
		}
		var req *schema.ChatRequest
		if op == schema.OpChat {
			if req, err = schema.ParseChatRequest(raw); err != nil {
				writeError(w, err)
				return
			}
		} else if !json.Valid(raw) {
			writeError(w, schema.Errorf(http.StatusBadRequest, schema.ErrInvalidRequest, "invalid request body: malformed JSON"))
			return
		}
		sse := &sseWriter{w: w}
		body, _, err := s.a.Do(r.Context(), op, s.backend, raw, req, sse.emit)
		switch {
		case err != nil && sse.started:
			// The stream has begun: report the error as a last event.
			sse.event(errorOf(err).JSON())
		case err != nil:
			writeError(w, err)
		case sse.started:
			sse.event([]byte("[DONE]"))
		default:
			writeJSON(w, http.StatusOK, body)
		}
	})).ServeHTTP
}

// sseWriter writes chunks as server-sent events, flushing each one.
type sseWriter struct {
	w       http.ResponseWriter
	started bool
	failed  error
}

func (s *sseWriter) emit(chunk []byte) error {
	if !s.started {
		h := s.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("Connection", "keep-alive")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	return s.event(chunk)
}

func (s *sseWriter) event(data []byte) error {
	if s.failed != nil {
		return s.failed
	}
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	if _, err := s.w.Write(buf); err != nil {
		s.failed = err
		return err
	}
	if err := http.NewResponseController(s.w).Flush(); err != nil {
		s.failed = err
		return err
	}
	return nil
}

// listModels answers GET /v1/models.
func (s *server) listModels(w http.ResponseWriter, _ *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: make([]model, len(s.models))}
	for i, n := range s.models {
		list.Data[i] = model{ID: n, Object: "model", Created: s.created, OwnedBy: "switchyard-sim"}
	}
	b, err := json.Marshal(list)
	if err != nil {
		writeError(w, schema.Errorf(http.StatusInternalServerError, schema.ErrServer, "encode models: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// errorOf returns err as a *schema.Error (a 500 if it is another error).
func errorOf(err error) *schema.Error {
	var e *schema.Error
	if errors.As(err, &e) {
		return e
	}
	return schema.Errorf(http.StatusInternalServerError, schema.ErrServer, "sim: internal error")
}

func writeError(w http.ResponseWriter, err error) {
	e := errorOf(err)
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, e.JSON())
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
