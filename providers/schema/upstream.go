package schema

// Upstream is one request to send to a provider, built by a translator and
// signed by an auth signer over its final bytes. The router sends it.
type Upstream struct {
	// Method is the HTTP method (POST unless said otherwise).
	Method string
	// URL is the absolute URL (scheme://host[:port]/path?query).
	URL string
	// Header holds the request headers to send, in order, beside Content-Type.
	Header []Header
	// ContentType of Body (default application/json).
	ContentType string
	// Body is the final request body.
	Body []byte
	// Stream is true when the response is a stream (SSE or AWS event stream).
	Stream bool
}

// Header is one header name and value.
type Header struct{ Name, Value string }

// SetHeader replaces (or adds) a header, case-insensitively.
func (u *Upstream) SetHeader(name, value string) {
	for i := range u.Header {
		if equalFold(u.Header[i].Name, name) {
			u.Header[i].Value = value
			return
		}
	}
	u.Header = append(u.Header, Header{name, value})
}

// GetHeader returns a header's value, case-insensitively.
func (u *Upstream) GetHeader(name string) string {
	for _, h := range u.Header {
		if equalFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
