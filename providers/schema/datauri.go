package schema

import (
	"errors"
	"strings"
)

// Errors of [ParseDataURI] for a data URI it cannot use.
var (
	// ErrDataURINoComma is a data URI without the comma that ends its header.
	ErrDataURINoComma = errors.New("data URI has no comma")
	// ErrDataURINotBase64 is a data URI whose header does not end in ";base64".
	ErrDataURINotBase64 = errors.New("data URI must be base64-encoded")
)

// ParseDataURI splits a base64 data URI, "data:<media type>;base64,<data>", as
// clients send images in image_url.url. ok reports whether u is a data URI at
// all (starts with "data:"); when it is not, the rest is zero and the caller
// may try other URL forms. When it is, err is [ErrDataURINoComma] or
// [ErrDataURINotBase64] if the header is malformed; otherwise mediaType is the
// header without ";base64", exactly as written (possibly empty, not lowercased),
// and data the payload exactly as written, still base64 and not validated:
// which media types to accept and how strictly to decode are the caller's.
func ParseDataURI(u string) (mediaType, data string, ok bool, err error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return "", "", false, nil
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", true, ErrDataURINoComma
	}
	mediaType, ok = strings.CutSuffix(meta, ";base64")
	if !ok {
		return "", "", true, ErrDataURINotBase64
	}
	return mediaType, data, true, nil
}
