package schema

import (
	"errors"
	"testing"
)

func TestParseDataURI(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		mediaType string
		data      string
		ok        bool
		err       error
	}{
		{name: "png", url: "data:image/png;base64,iVBORw0KGgo=", mediaType: "image/png", data: "iVBORw0KGgo=", ok: true},
		{name: "case kept", url: "data:Image/JPEG;base64,/9j/", mediaType: "Image/JPEG", data: "/9j/", ok: true},
		{name: "no media type", url: "data:;base64,AAAA", mediaType: "", data: "AAAA", ok: true},
		{name: "empty payload", url: "data:image/gif;base64,", mediaType: "image/gif", data: "", ok: true},
		{name: "payload kept as written", url: "data:image/png;base64, AA==\n", mediaType: "image/png", data: " AA==\n", ok: true},
		{name: "comma in payload", url: "data:image/png;base64,AA,BB", mediaType: "image/png", data: "AA,BB", ok: true},
		{name: "media type parameters", url: "data:image/png;name=a.png;base64,AA", mediaType: "image/png;name=a.png", data: "AA", ok: true},
		{name: "https URL", url: "https://example.com/cat.png", ok: false},
		{name: "gs URL", url: "gs://bucket/cat.png", ok: false},
		{name: "empty", url: "", ok: false},
		{name: "upper-case scheme is not a data URI", url: "DATA:image/png;base64,AA", ok: false},
		{name: "no comma", url: "data:image/png;base64", ok: true, err: ErrDataURINoComma},
		{name: "not base64", url: "data:image/png,abc", ok: true, err: ErrDataURINotBase64},
		{name: "upper-case base64 marker", url: "data:image/png;BASE64,AA", ok: true, err: ErrDataURINotBase64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mediaType, data, ok, err := ParseDataURI(tc.url)
			if mediaType != tc.mediaType || data != tc.data || ok != tc.ok || !errors.Is(err, tc.err) {
				t.Fatalf("ParseDataURI(%q) = %q, %q, %v, %v; want %q, %q, %v, %v",
					tc.url, mediaType, data, ok, err, tc.mediaType, tc.data, tc.ok, tc.err)
			}
		})
	}
}
