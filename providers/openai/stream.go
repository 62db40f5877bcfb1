package openai

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/sse"
)

var doneMarker = []byte("[DONE]")

// Stream implements [providers.Translator.Stream]: each data event's JSON is
// emitted as is until [DONE]. The usage-only chunk the gateway asked for is
// read but not emitted; an error event ends the stream with an *schema.Error.
func (t *Translator) Stream(src io.Reader, emit func(chunk []byte) error) (schema.Usage, error) {
	c := t.chunks(src)
	for {
		chunk, err := c.Next()
		if errors.Is(err, io.EOF) {
			return c.Usage(), nil
		}
		if err != nil {
			return c.Usage(), err
		}
		if err := emit(chunk); err != nil {
			return c.Usage(), err
		}
	}
}

var _ providers.Chunks = (*Chunks)(nil)

// Chunks is Stream without a callback: the caller pulls the chunks one by one
// (a gateway can then read a stream on the goroutine that writes it to the
// client, with no producer goroutine or hand-off in between).
type Chunks struct {
	t     *Translator
	r     *sse.Reader
	usage schema.Usage
	err   error
	// seen is set once the stream sent an event ([DONE] included): a body
	// that ends before any is a failed answer, not an empty stream.
	seen bool
}

// Chunks returns a pull reader of the chunks of the 2xx upstream stream src.
// The upstream request that Request returned has been sent by then: the
// translator drops it (its body may be a copy as large as the client's).
func (t *Translator) Chunks(src io.Reader) providers.Chunks { return t.chunks(src) }

func (t *Translator) chunks(src io.Reader) *Chunks {
	t.up = schema.Upstream{}
	return &Chunks{t: t, r: sse.NewReader(src)}
}

// Next returns the next chunk's JSON, valid until the next call. It returns
// io.EOF at the end of the stream ([DONE], or the end of the body after an
// event), an *schema.Error for an error event, a malformed event or a body
// that ends before its first event (errNoEvents: a gateway may still fail
// over), and the read error (wrapped) when the upstream broke off. After an
// error, Next returns it again.
func (c *Chunks) Next() ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	chunk, err := c.next()
	if err != nil {
		c.err = err
	}
	return chunk, err
}

// Usage returns the usage the stream reported so far.
func (c *Chunks) Usage() schema.Usage { return c.usage }

func (c *Chunks) next() ([]byte, error) {
	for {
		ev, err := c.r.Next()
		if err != nil {
			return nil, c.readError(err)
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 {
			continue
		}
		c.seen = true
		if bytes.Equal(data, doneMarker) {
			return nil, io.EOF
		}
		if !gjson.ValidBytes(data) {
			return nil, errMalformedEvent()
		}
		// A chunk without the key skips the lookup (the common case: content
		// deltas). The rare paths are functions of their own so that this
		// frame stays small: an open stream parks its connection's goroutine
		// in this loop, and a shallow stack lets the runtime shrink it.
		if bytes.Contains(data, keyError) {
			if err := eventError(data); err != nil {
				return nil, err
			}
		}
		if bytes.Contains(data, keyUsage) && c.takeUsage(data) {
			continue
		}
		return data, nil
	}
}

// readError is the error of a failed read from the event stream.
func (c *Chunks) readError(err error) error {
	if errors.Is(err, io.EOF) {
		if !c.seen {
			return errNoEvents()
		}
		return io.EOF
	}
	return fmt.Errorf("openai: read stream: %w", err)
}

// eventError returns the error an event carries, or nil. Lookups view data
// as a string: none of their results outlives it (MapError copies what it
// keeps).
func eventError(data []byte) error {
	e := gjson.Get(bstr(data), "error")
	if !e.Exists() || e.Type == gjson.Null {
		return nil
	}
	status := 500
	if code := e.Get("code"); code.Type == gjson.Number && code.Int() >= 400 && code.Int() <= 599 {
		status = int(code.Int())
	}
	return MapError(status, data)
}

// takeUsage records the usage an event carries and reports whether the
// event is the usage-only chunk the gateway asked for (dropped from the
// client's stream).
func (c *Chunks) takeUsage(data []byte) (drop bool) {
	u := gjson.Get(bstr(data), "usage")
	if !u.IsObject() {
		return false
	}
	c.usage = UsageOf(u)
	return c.t.stripUsage && gjson.Get(bstr(data), "choices.#").Int() == 0
}

// errMalformedEvent is the error of an event that is not JSON.
func errMalformedEvent() *schema.Error {
	return schema.Errorf(502, schema.ErrServer, "the upstream provider sent a malformed stream event")
}

// errNoEvents is the error of a 2xx stream whose body ended before its
// first event (an upstream that answered and then dropped the connection):
// nothing reached the client, so the request may be tried elsewhere.
func errNoEvents() *schema.Error {
	return schema.Errorf(502, schema.ErrServer, "the upstream provider's stream ended before its first event")
}

var (
	keyError = []byte(`"error"`)
	keyUsage = []byte(`"usage"`)
)
