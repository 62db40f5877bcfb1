package inference

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"time"
)

// Redial backoff after a failed connection: requests meanwhile fail at once
// (and a FailOpen pool chooses), as gRPC clients do in transient failure.
const (
	minRedial = 200 * time.Millisecond
	maxRedial = 5 * time.Second
)

// wirePool is the connections to one picker: streams open on the first
// connection that takes another (one, unless the picker limits its
// concurrent streams or sent GOAWAY), and a connection is dialled, one at
// a time, when none does.
type wirePool struct {
	addr   string
	tls    *tls.Config
	linger time.Duration // finished streams' wait for trailers (wireLinger)

	mu        sync.Mutex
	conns     []*wireConn
	dialing   chan struct{} // closed when the dial under way ends
	failUntil time.Time
	backoff   time.Duration
	lastErr   error
	closed    bool
}

// newWirePool returns the pool of addr; conf (nil: plaintext) gets ALPN h2
// and, when it names none, the address's host as the server name.
func newWirePool(addr string, conf *tls.Config) *wirePool {
	if conf != nil {
		conf = conf.Clone()
		if !slices.Contains(conf.NextProtos, "h2") {
			conf.NextProtos = append(conf.NextProtos, "h2")
		}
		if conf.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				conf.ServerName = host
			}
		}
	}
	return &wirePool{addr: addr, tls: conf, linger: wireLinger}
}

var errPoolClosed = errors.New("the picker connection is closed")

// stream opens a stream, dialling (within timeout) when it must.
func (p *wirePool) stream(ctx context.Context, timeout time.Duration) (*wireStream, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errPoolClosed
		}
		c := p.usable()
		if c != nil {
			p.mu.Unlock()
			if s, err := c.open(); err == nil {
				return s, nil
			}
			continue
		}
		if time.Now().Before(p.failUntil) {
			err := p.lastErr
			p.mu.Unlock()
			return nil, err
		}
		if len(p.conns) >= maxWireConns {
			p.mu.Unlock()
			return nil, errConnFull
		}
		if ch := p.dialing; ch != nil {
			p.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		p.dialing = ch
		p.mu.Unlock()
		dctx, cancel := context.WithTimeout(ctx, timeout)
		c, err := dialWire(dctx, p.addr, p.tls)
		cancel()
		p.mu.Lock()
		p.dialing = nil
		close(ch)
		switch {
		case err != nil && ctx.Err() == nil:
			p.backoff = min(max(2*p.backoff, minRedial), maxRedial)
			p.failUntil, p.lastErr = time.Now().Add(p.backoff), err
		case err == nil && p.closed:
			_ = c.nc.Close()
		case err == nil:
			p.backoff = 0
			c.linger = p.linger
			p.conns = append(p.conns, c)
		}
		p.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// usable returns a connection that takes a new stream, dropping those that
// failed or drained after GOAWAY (p.mu held).
func (p *wirePool) usable() *wireConn {
	var found *wireConn
	live := p.conns[:0]
	for _, c := range p.conns {
		c.mu.Lock()
		dead := c.err != nil || c.goaway && len(c.streams) == 0
		ok := !dead && c.takesLocked()
		c.mu.Unlock()
		if dead {
			c.close(errPoolClosed)
			continue
		}
		live = append(live, c)
		if ok && found == nil {
			found = c
		}
	}
	clear(p.conns[len(live):])
	p.conns = live
	return found
}

// close ends every connection.
func (p *wirePool) close() {
	p.mu.Lock()
	conns := p.conns
	p.conns, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range conns {
		c.close(errPoolClosed)
	}
}
