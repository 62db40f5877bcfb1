package meter

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/store"
)

// AdminOptions protect the admin API.
type AdminOptions struct {
	// Token is the admin credential (Authorization: Bearer); "" for none.
	Token string
	// Loopback is true when the admin server listens on a loopback address
	// only: without a token, the endpoints are served only then.
	Loopback bool
	// Usage answers usage queries (nil: /usage answers 501).
	Usage interface {
		Query(ctx context.Context, q store.Query) ([]store.Row, error)
	}
}

// Admin returns the access endpoints of the admin API by pattern, for
// router.Options.Admin: keys (create, list, rotate, revoke), usage, and a
// consumer's remaining limits and budgets.
func (s *Service) Admin(o AdminOptions) map[string]http.Handler {
	guard := func(h http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o.Token == "" && !o.Loopback {
				adminError(w, http.StatusForbidden, "the admin API needs access.admin.token when it listens on a non-loopback address")
				return
			}
			if o.Token != "" {
				t, ok := auth.BearerToken(r.Header.Get("Authorization"))
				if !ok || subtle.ConstantTimeCompare([]byte(t), []byte(o.Token)) != 1 {
					w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard-admin"`)
					adminError(w, http.StatusUnauthorized, "a valid admin token is required (Authorization: Bearer <token>)")
					return
				}
			}
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			h(w, r)
		})
	}
	return map[string]http.Handler{
		"POST /keys":             guard(s.createKey),
		"GET /keys":              guard(s.listKeys),
		"DELETE /keys/{id}":      guard(s.revokeKey),
		"POST /keys/{id}/rotate": guard(s.rotateKey),
		"GET /usage":             guard(func(w http.ResponseWriter, r *http.Request) { s.usageQuery(w, r, o) }),
		"GET /consumers/{name}":  guard(s.consumerLimits),
	}
}

// createRequest is the body of POST /keys.
type createRequest struct {
	Consumer  string    `json:"consumer"`
	Name      string    `json:"name"`
	Models    []string  `json:"models"`
	ExpiresAt time.Time `json:"expiresAt"`
	// ExpiresIn is a Go duration ("720h"), an alternative to ExpiresAt.
	ExpiresIn string `json:"expiresIn"`
}

// createdKey is the answer to POST /keys: the only time the key is shown.
type createdKey struct {
	store.Key
	Secret string `json:"key"`
}

func (s *Service) createKey(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		adminError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	k, err := s.makeKey(r, req)
	if err != nil {
		adminErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

// makeKey stores a new key for req and reloads the cache, so that it works at once.
func (s *Service) makeKey(r *http.Request, req createRequest) (createdKey, error) {
	if s.keyStore == nil {
		return createdKey{}, errStatus(http.StatusNotImplemented, "no key store is configured")
	}
	dir := s.dir.Load()
	if req.Consumer == "" {
		return createdKey{}, errStatus(http.StatusBadRequest, "consumer is required")
	}
	if dir != nil && len(dir.consumers) > 0 && dir.consumers[req.Consumer] == nil {
		return createdKey{}, errStatus(http.StatusBadRequest, fmt.Sprintf("unknown consumer %q: declare it in access.consumers", req.Consumer))
	}
	now := s.now().UTC()
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return createdKey{}, errStatus(http.StatusBadRequest, "expiresIn must be a positive duration such as 720h")
		}
		req.ExpiresAt = now.Add(d)
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		return createdKey{}, errStatus(http.StatusBadRequest, "expiresAt is in the past")
	}
	prefix := "sk-sy-"
	if dir != nil && dir.prefix != "" {
		prefix = dir.prefix
	}
	secret, id, err := newKey(prefix)
	if err != nil {
		return createdKey{}, err
	}
	k := store.Key{ID: id, Hash: HashKey(secret), Prefix: displayPrefix(secret, prefix), Name: req.Name, Consumer: req.Consumer,
		Models: req.Models, ExpiresAt: req.ExpiresAt, CreatedAt: now, Source: "admin"}
	if err := s.keyStore.Create(r.Context(), k); err != nil {
		return createdKey{}, fmt.Errorf("keys: create: %w", err)
	}
	_ = s.keys.reload(r.Context())
	return createdKey{Key: k, Secret: secret}, nil
}

func (s *Service) listKeys(w http.ResponseWriter, r *http.Request) {
	consumer := r.URL.Query().Get("consumer")
	var out []store.Key
	if dir := s.dir.Load(); dir != nil {
		for _, k := range dir.keys {
			p := k.principal
			if consumer != "" && p.Consumer != consumer {
				continue
			}
			out = append(out, store.Key{ID: p.KeyID, Consumer: p.Consumer, Models: p.Models, ExpiresAt: k.expires, Source: "config"})
		}
	}
	if s.keyStore != nil {
		ks, err := s.keyStore.List(r.Context(), consumer)
		if err != nil {
			adminErr(w, fmt.Errorf("keys: list: %w", err))
			return
		}
		out = append(out, ks...)
	}
	slices.SortFunc(out, func(a, b store.Key) int { return strings.Compare(a.Consumer+a.ID, b.Consumer+b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"keys": nonNil(out)})
}

func (s *Service) revokeKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.configured(id) {
		adminError(w, http.StatusConflict, "key "+id+" is declared in the configuration: remove it there")
		return
	}
	if s.keyStore == nil {
		adminError(w, http.StatusNotImplemented, "no key store is configured")
		return
	}
	if err := s.keyStore.Revoke(r.Context(), id, s.now().UTC()); err != nil {
		adminErr(w, err)
		return
	}
	_ = s.keys.reload(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}

// rotateKey makes a new key with the old one's consumer, name, models and
// expiry, and revokes the old one after ?grace= (default: at once).
func (s *Service) rotateKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.keyStore == nil {
		adminError(w, http.StatusNotImplemented, "no key store is configured")
		return
	}
	if s.configured(id) {
		adminError(w, http.StatusConflict, "key "+id+" is declared in the configuration: rotate it there")
		return
	}
	var grace time.Duration
	if g := r.URL.Query().Get("grace"); g != "" {
		d, err := time.ParseDuration(g)
		if err != nil || d < 0 {
			adminError(w, http.StatusBadRequest, "grace must be a duration such as 10m")
			return
		}
		grace = d
	}
	all, err := s.keyStore.List(r.Context(), "")
	if err != nil {
		adminErr(w, err)
		return
	}
	i := slices.IndexFunc(all, func(k store.Key) bool { return k.ID == id })
	if i < 0 {
		adminErr(w, store.ErrNotFound)
		return
	}
	old := all[i]
	if !old.RevokedAt.IsZero() {
		adminError(w, http.StatusConflict, "key "+id+" is revoked")
		return
	}
	k, err := s.makeKey(r, createRequest{Consumer: old.Consumer, Name: old.Name, Models: old.Models, ExpiresAt: old.ExpiresAt})
	if err != nil {
		adminErr(w, err)
		return
	}
	if err := s.keyStore.Revoke(r.Context(), id, s.now().UTC().Add(grace)); err != nil {
		adminErr(w, err)
		return
	}
	_ = s.keys.reload(r.Context())
	writeJSON(w, http.StatusCreated, map[string]any{"key": k, "revokes": id, "revokedAt": s.now().UTC().Add(grace)})
}

// configured reports whether id is a key of the configuration.
func (s *Service) configured(id string) bool {
	dir := s.dir.Load()
	if dir == nil {
		return false
	}
	for _, k := range dir.keys {
		if k.principal.KeyID == id {
			return true
		}
	}
	return false
}

// statusError is an error with the admin API status to answer.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func errStatus(status int, msg string) error { return &statusError{status, msg} }

// adminErr answers err: its own status, 404 for ErrNotFound, 503 for an
// unreachable store, else 500.
func adminErr(w http.ResponseWriter, err error) {
	var se *statusError
	switch {
	case errors.As(err, &se):
		adminError(w, se.status, se.msg)
	case errors.Is(err, store.ErrNotFound):
		adminError(w, http.StatusNotFound, "no such key")
	case errors.Is(err, store.ErrUnavailable):
		adminError(w, http.StatusServiceUnavailable, "the key store is unreachable; retry later")
	default:
		adminError(w, http.StatusInternalServerError, err.Error())
	}
}

// adminError writes {"error":{"message":...}}.
func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// nonNil makes an empty list encode as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
