// Package sse decodes server-sent event streams (text/event-stream) frame by
// frame, for translators that read streamed upstream responses.
package sse

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// MaxEventBytes bounds one event: one line, and all the data lines of one
// event together. A longer event ends the stream with an error.
const MaxEventBytes = 4 << 20

// initialBuffer is a Reader's first line buffer; it grows (to MaxEventBytes)
// for longer lines. Chat stream events are a few hundred bytes, and a
// gateway holds one Reader per open stream: 16 KiB each would cost 16 MB per
// 1,000 streams, 512 B cost half a megabyte.
const initialBuffer = 512

// Event is one dispatched event. Data is valid only until the next call to Next.
type Event struct {
	// Name is the event field ("" for the default "message").
	Name string
	// Data is the data fields joined with "\n".
	Data []byte
}

// Reader reads events from a stream.
type Reader struct {
	sc   *bufio.Scanner
	data []byte
	name string
}

// NewReader returns a Reader over src.
func NewReader(src io.Reader) *Reader {
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, initialBuffer), MaxEventBytes)
	return &Reader{sc: sc}
}

// Next returns the next event, or io.EOF at the end of the stream. A stream
// that ends mid-event dispatches what it has.
func (r *Reader) Next() (Event, error) {
	r.data = r.data[:0]
	r.name = ""
	have, hasData := false, false
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			if have {
				return Event{Name: r.name, Data: r.data}, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // comment
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if len(r.data)+len(value)+1 > MaxEventBytes {
				return Event{}, fmt.Errorf("sse: event larger than %d bytes", MaxEventBytes)
			}
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			have, hasData = true, true
		case "event":
			r.name = string(value)
			have = true
		}
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, fmt.Errorf("sse: read: %w", err)
	}
	if have {
		return Event{Name: r.name, Data: r.data}, nil
	}
	return Event{}, io.EOF
}
