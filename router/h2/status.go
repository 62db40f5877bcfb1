package h2

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/policies"
)

// gRPC status codes the gateway answers with.
const (
	codeOK                = 0
	codeCancelled         = 1
	codeUnknown           = 2
	codeInvalidArgument   = 3
	codeDeadlineExceeded  = 4
	codePermissionDenied  = 7
	codeResourceExhausted = 8
	codeUnimplemented     = 12
	codeInternal          = 13
	codeUnavailable       = 14
	codeUnauthenticated   = 16
)

// writeStatus ends a call with a gRPC status written by the gateway: a
// trailers-only response when nothing was sent yet, trailers otherwise.
func writeStatus(w http.ResponseWriter, started bool, code int, msg string) {
	h := w.Header()
	if started {
		h.Set(http.TrailerPrefix+"Grpc-Status", strconv.Itoa(code))
		h.Set(http.TrailerPrefix+"Grpc-Message", encodeMessage(msg))
		return
	}
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(code))
	h.Set("Grpc-Message", encodeMessage(msg))
	w.WriteHeader(http.StatusOK)
}

// encodeMessage percent-encodes a grpc-message as the gRPC HTTP/2 protocol asks.
func encodeMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '%' {
			b.WriteByte(c)
		} else {
			b.WriteString(url.QueryEscape(string(c)))
		}
	}
	return b.String()
}

// denialCode maps a policy's denial to a gRPC status.
func denialCode(err error) (int, string) {
	var d *policies.Denial
	if !errors.As(err, &d) {
		return codePermissionDenied, "the call was refused by a policy"
	}
	switch d.Status {
	case http.StatusUnauthorized:
		return codeUnauthenticated, d.Message
	case http.StatusForbidden:
		return codePermissionDenied, d.Message
	case http.StatusTooManyRequests, http.StatusPaymentRequired:
		return codeResourceExhausted, d.Message
	case http.StatusBadRequest:
		return codeInvalidArgument, d.Message
	case http.StatusServiceUnavailable:
		return codeUnavailable, d.Message
	}
	return codeUnknown, d.Message
}

// statusOf reads grpc-status from h ("" when absent: -1).
func statusOf(h http.Header) int {
	v := h.Get("Grpc-Status")
	if v == "" {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return codeUnknown
	}
	return n
}

// parseTimeout reads a grpc-timeout header value ("100m", "2S").
func parseTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second,
		'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}[v[len(v)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// formatTimeout writes d as a grpc-timeout value in milliseconds (at least 1).
func formatTimeout(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "m"
}

// httpStatusOf is the HTTP status the access log and policies see for a gRPC code.
func httpStatusOf(code int) int {
	switch code {
	case codeOK:
		return http.StatusOK
	case codeInvalidArgument:
		return http.StatusBadRequest
	case codeUnauthenticated:
		return http.StatusUnauthorized
	case codePermissionDenied:
		return http.StatusForbidden
	case codeUnimplemented:
		return http.StatusNotImplemented
	case codeResourceExhausted:
		return http.StatusTooManyRequests
	case codeUnavailable:
		return http.StatusServiceUnavailable
	case codeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case codeCancelled:
		return 499
	}
	return http.StatusInternalServerError
}
