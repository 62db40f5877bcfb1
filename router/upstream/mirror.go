package upstream

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Mirror limits.
const (
	mirrorTimeout     = 5 * time.Second
	mirrorMaxInFlight = 256
)

// mirrorState bounds and counts mirrored requests.
type mirrorState struct {
	sem     chan struct{}
	sent    atomic.Uint64
	dropped atomic.Uint64
	failed  atomic.Uint64
}

func newMirrorState() mirrorState {
	return mirrorState{sem: make(chan struct{}, mirrorMaxInFlight)}
}

// MirrorStats counts mirrored requests: sent (an answer came back, any status),
// dropped (over the in-flight limit, unknown backend or streamed body) and failed
// (no endpoint, connect error or timeout).
type MirrorStats struct {
	Sent, Dropped, Failed uint64
}

// MirrorStats returns the Pool's mirror counters.
func (p *Pool) MirrorStats() MirrorStats {
	return MirrorStats{Sent: p.mirror.sent.Load(), Dropped: p.mirror.dropped.Load(), Failed: p.mirror.failed.Load()}
}

// Mirror sends a copy of req to the static backend, fire and forget: the copy is
// taken before Mirror returns, then sent from its own goroutine with its own timeout
// (5s, body included); the answer is read and discarded. At most 256 mirrors are in
// flight per Pool; over that, and for requests whose body is a stream, the mirror is
// dropped and counted. Mirror never blocks on the network. The caller decides the
// percentage.
func (p *Pool) Mirror(req *fasthttp.Request, backend string) {
	b := p.backends[backend]
	if b == nil || req.IsBodyStream() {
		p.mirror.dropped.Add(1)
		return
	}
	select {
	case p.mirror.sem <- struct{}{}:
	default:
		p.mirror.dropped.Add(1)
		return
	}
	out := fasthttp.AcquireRequest()
	req.CopyTo(out)
	stripRequestHopByHop(&out.Header)
	out.Header.SetProtocolBytes(http11)
	out.UseHostHeader = true
	if b.tls {
		out.URI().SetScheme("https")
	} else {
		out.URI().SetScheme("http")
	}
	go p.sendMirror(b, out)
}

func (p *Pool) sendMirror(b *backend, req *fasthttp.Request) {
	defer func() { <-p.mirror.sem }()
	defer fasthttp.ReleaseRequest(req)
	i := b.pick(0)
	if i < 0 {
		p.mirror.failed.Add(1)
		return
	}
	st := b.members[i].st
	if len(req.Header.Host()) == 0 {
		req.Header.SetHost(st.addr)
	}
	st.active.Add(1)
	defer st.active.Add(-1)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	// The timeout's deadline stays on the connection while the body is drained.
	if err := st.client.DoTimeout(req, resp, mirrorTimeout); err != nil {
		p.mirror.failed.Add(1)
		return
	}
	if s := resp.BodyStream(); s != nil {
		_, _ = io.Copy(io.Discard, s)
	}
	p.mirror.sent.Add(1)
}
