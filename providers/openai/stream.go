package openai

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/sse"
)

var doneMarker = []byte("[DONE]")

// Stream implements [providers.Translator.Stream]: each data event's JSON is
// emitted as is until [DONE]. The usage-only chunk the gateway asked for is
// read but not emitted; an error event ends the stream with an *schema.Error.
func (t *Translator) Stream(src io.Reader, emit func(chunk []byte) error) (schema.Usage, error) {
	var usage schema.Usage
	r := sse.NewReader(src)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return usage, nil
		}
		if err != nil {
			return usage, fmt.Errorf("openai: read stream: %w", err)
		}
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 {
			continue
		}
		if bytes.Equal(data, doneMarker) {
			return usage, nil
		}
		if !gjson.ValidBytes(data) {
			return usage, schema.Errorf(502, schema.ErrServer, "the upstream provider sent a malformed stream event")
		}
		// Lookups view data as a string: none of their results outlives it
		// (MapError copies what it keeps).
		if e := gjson.Get(bstr(data), "error"); e.Exists() && e.Type != gjson.Null {
			status := 500
			if c := e.Get("code"); c.Type == gjson.Number && c.Int() >= 400 && c.Int() <= 599 {
				status = int(c.Int())
			}
			return usage, MapError(status, data)
		}
		if u := gjson.Get(bstr(data), "usage"); u.IsObject() {
			usage = UsageOf(u)
			if t.stripUsage && gjson.Get(bstr(data), "choices.#").Int() == 0 {
				continue
			}
		}
		if err := emit(data); err != nil {
			return usage, err
		}
	}
}
