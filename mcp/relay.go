package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"sync"
)

// Requests a target sends its client inside a call's SSE answer (sampling,
// elicitation, roots) carry ids of the target's numbering. The gateway
// relays them with an id that names the target — "sy~<target>~<the original
// id, base64url of its JSON>" — so that the client's answer, POSTed to the
// gateway, goes back to that target with the original id: no state kept.

// serverIDPrefix begins the ids the gateway gives targets' requests.
const serverIDPrefix = "sy~"

// wrapServerID returns the relayed id of a target's request id.
func wrapServerID(target string, id json.RawMessage) json.RawMessage {
	s := serverIDPrefix + target + "~" + base64.RawURLEncoding.EncodeToString(id)
	b, _ := json.Marshal(s)
	return b
}

// unwrapServerID returns the target and original id of a relayed id.
func unwrapServerID(id json.RawMessage) (string, json.RawMessage, bool) {
	var s string
	if json.Unmarshal(id, &s) != nil {
		return "", nil, false
	}
	rest, ok := strings.CutPrefix(s, serverIDPrefix)
	if !ok {
		return "", nil, false
	}
	target, enc, ok := strings.Cut(rest, "~")
	if !ok {
		return "", nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !json.Valid(raw) {
		return "", nil, false
	}
	return target, raw, true
}

// sseRelay relays a target's SSE answer event by event, giving the
// requests among its events ids that name the target.
type sseRelay struct {
	src    *bufio.Reader
	body   io.ReadCloser
	target string
	cancel context.CancelFunc
	once   sync.Once

	event   bytes.Buffer // the event being read
	pending []byte       // what Read has not returned yet
	err     error
}

// Read implements [io.Reader]: one event (or what is left of it) per call.
func (r *sseRelay) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// next reads one event into pending, rewritten when it is a request.
func (r *sseRelay) next() {
	r.event.Reset()
	for {
		line, err := r.src.ReadSlice('\n')
		if len(line) > 0 {
			if r.event.Len()+len(line) > maxEventBytes {
				r.err = errNoReply
				return
			}
			r.event.Write(line)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			r.err = err
			r.pending = r.event.Bytes()
			return
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 { // the blank line ending the event
			r.pending = r.rewrite(r.event.Bytes())
			return
		}
	}
}

// rewrite returns ev with a request's id wrapped, or ev as it is.
func (r *sseRelay) rewrite(ev []byte) []byte {
	if !bytes.Contains(ev, []byte(`"method"`)) || !bytes.Contains(ev, []byte(`"id"`)) {
		return ev
	}
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(ev, []byte("\n")) {
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			out.Write(line)
			continue
		}
		var m message
		if json.Unmarshal(bytes.TrimSpace(data), &m) != nil || !m.isRequest() {
			out.Write(line)
			continue
		}
		m.ID = wrapServerID(r.target, m.ID)
		b, err := json.Marshal(&m)
		if err != nil {
			out.Write(line)
			continue
		}
		out.WriteString("data: ")
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// Close implements [io.Closer].
func (r *sseRelay) Close() error {
	err := r.body.Close()
	r.once.Do(r.cancel)
	return err
}
