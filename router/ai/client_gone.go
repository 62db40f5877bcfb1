package ai

import (
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// errClientClosed is the error of a request whose client closed its
// connection before the response began (status 499, never failed over).
func errClientClosed() *schema.Error {
	return &schema.Error{Status: statusClientClosed, Type: schema.ErrInvalidRequest,
		Message: "the client closed the connection before the response began"}
}

// sleepOrGone sleeps d (a retry pass's backoff) while probing the client's
// connection every clientProbeInterval; gone is true, as soon as it is seen,
// when the client has closed it: the caller then stops trying.
func (s *exchange) sleepOrGone(d time.Duration) (gone bool) {
	conn := s.ctx.Conn()
	if conn == nil {
		time.Sleep(d)
		return false
	}
	if peerClosed(conn) {
		return true
	}
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	probe := time.NewTicker(min(clientProbeInterval, d))
	defer probe.Stop()
	for {
		select {
		case <-t.C:
			return false
		case <-probe.C:
			if peerClosed(conn) {
				return true
			}
		}
	}
}
