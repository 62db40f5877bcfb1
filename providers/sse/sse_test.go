package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event
	}{
		{"one event", "data: {\"a\":1}\n\n", []Event{{Data: []byte(`{"a":1}`)}}},
		{"crlf and comments", ": ping\r\ndata: x\r\n\r\n", []Event{{Data: []byte("x")}}},
		{"named event", "event: message_start\ndata: {}\n\n", []Event{{Name: "message_start", Data: []byte("{}")}}},
		{"multi-line data", "data: a\ndata: b\n\n", []Event{{Data: []byte("a\nb")}}},
		{"no space after colon", "data:x\n\n", []Event{{Data: []byte("x")}}},
		{"unterminated last event", "data: a\n\ndata: b", []Event{{Data: []byte("a")}, {Data: []byte("b")}}},
		{"blank lines only", "\n\n\n", nil},
		{"two events", "data: 1\n\ndata: 2\n\n", []Event{{Data: []byte("1")}, {Data: []byte("2")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in))
			var got []Event
			for {
				ev, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, Event{Name: ev.Name, Data: append([]byte(nil), ev.Data...)})
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events %q, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || string(got[i].Data) != string(tt.want[i].Data) {
					t.Fatalf("event %d = %q %q, want %q %q", i, got[i].Name, got[i].Data, tt.want[i].Name, tt.want[i].Data)
				}
			}
		})
	}
}

// endless writes data lines that never end an event.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	const line = "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	for i := range p {
		p[i] = line[(e.n+i)%len(line)]
	}
	e.n += len(p)
	return len(p), nil
}

func TestReaderBoundsOneEvent(t *testing.T) {
	src := &endless{}
	_, err := NewReader(src).Next()
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want an event-too-large error", err)
	}
	if src.n > 2*MaxEventBytes {
		t.Fatalf("read %d bytes before giving up", src.n)
	}
}
