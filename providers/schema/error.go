package schema

import (
	"encoding/json"
	"fmt"
)

// OpenAI error types.
const (
	ErrInvalidRequest = "invalid_request_error"
	ErrAuthentication = "authentication_error"
	ErrPermission     = "permission_error"
	ErrNotFound       = "not_found_error"
	ErrRateLimit      = "rate_limit_error"
	ErrServer         = "server_error"
	ErrUnavailable    = "service_unavailable"
	ErrTimeout        = "timeout"
)

// Error is an error that reaches a client, with its HTTP status, in OpenAI's shape
// {"error":{"message","type","param","code"}}. Translators return it for upstream
// errors (mapped, never leaked raw); only the router writes it.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   string `json:"param,omitempty"`
	Code    string `json:"code,omitempty"`
	// RetryAfter is the upstream's Retry-After in seconds, if any (for failover).
	RetryAfter int `json:"-"`
}

var _ error = (*Error)(nil)

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

// JSON returns the error body {"error":{...}}.
func (e *Error) JSON() []byte {
	b, _ := json.Marshal(struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}{Error: struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}{Message: e.Message, Type: e.Type, Param: strPtr(e.Param), Code: strPtr(e.Code)}})
	return b
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Errorf returns an *Error with the given status and type.
func Errorf(status int, typ, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// TypeForStatus returns the OpenAI error type for an HTTP status.
func TypeForStatus(status int) string {
	switch {
	case status == 401:
		return ErrAuthentication
	case status == 403:
		return ErrPermission
	case status == 404:
		return ErrNotFound
	case status == 429:
		return ErrRateLimit
	case status == 503:
		return ErrUnavailable
	case status == 504:
		return ErrTimeout
	case status >= 500:
		return ErrServer
	default:
		return ErrInvalidRequest
	}
}
