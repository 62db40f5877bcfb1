package bedrockfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	sigAlgorithm  = "AWS4-HMAC-SHA256"
	amzDateLayout = "20060102T150405Z"
	maxClockSkew  = 5 * time.Minute
	signingName   = "bedrock"
)

// authError is a rejection of the request's signature or credentials.
type authError struct {
	status  int
	errType string
	message string
}

// parsedAuth is the Authorization header of a SigV4 request.
type parsedAuth struct {
	accessKeyID   string
	date          string
	region        string
	service       string
	terminator    string
	signedHeaders []string
	signature     string
}

func parseAuthorization(h string) (parsedAuth, bool) {
	var p parsedAuth
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return p, false
	}
	for _, field := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			return p, false
		}
		switch k {
		case "Credential":
			parts := strings.Split(v, "/")
			if len(parts) != 5 {
				return p, false
			}
			p.accessKeyID, p.date, p.region, p.service, p.terminator = parts[0], parts[1], parts[2], parts[3], parts[4]
		case "SignedHeaders":
			p.signedHeaders = strings.Split(v, ";")
		case "Signature":
			p.signature = v
		}
	}
	return p, p.accessKeyID != "" && len(p.signedHeaders) > 0 && p.signature != ""
}

// verifySignature recomputes the SigV4 signature of r over body with the
// fake's credentials, as the real service does, and returns nil when it matches.
func (s *Server) verifySignature(r *http.Request, body []byte) *authError {
	h := r.Header.Get("Authorization")
	if h == "" {
		return &authError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	p, ok := parseAuthorization(h)
	if !ok {
		return &authError{http.StatusForbidden, "IncompleteSignatureException",
			"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."}
	}
	if p.accessKeyID != s.opts.AccessKeyID {
		return &authError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if s.opts.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != s.opts.SessionToken {
		return &authError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return &authError{http.StatusForbidden, "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	now := s.opts.Now().UTC()
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return &authError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - 5 min.)", amzDate,
			now.Add(-maxClockSkew).Format(amzDateLayout), now.Format(amzDateLayout))}
	}
	if p.date != t.Format("20060102") || p.region != s.opts.Region || p.service != signingName || p.terminator != "aws4_request" {
		return &authError{http.StatusForbidden, "InvalidSignatureException", fmt.Sprintf(
			"Credential should be scoped to a valid region and service: expected %s/%s/%s/aws4_request",
			t.Format("20060102"), s.opts.Region, signingName)}
	}
	signed := map[string]bool{}
	for _, name := range p.signedHeaders {
		signed[name] = true
	}
	if !signed["host"] || !signed["x-amz-date"] || (s.opts.SessionToken != "" && !signed["x-amz-security-token"]) {
		return &authError{http.StatusForbidden, "InvalidSignatureException", "host, x-amz-date and x-amz-security-token must be signed"}
	}
	canonical := canonicalRequest(r, p.signedHeaders, body)
	scope := strings.Join([]string{p.date, p.region, p.service, p.terminator}, "/")
	crHash := sha256.Sum256([]byte(canonical))
	stringToSign := sigAlgorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crHash[:])
	key := hmacSHA256([]byte("AWS4"+s.opts.SecretAccessKey), p.date)
	key = hmacSHA256(key, p.region)
	key = hmacSHA256(key, p.service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(p.signature)) {
		return &authError{http.StatusForbidden, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. " +
				"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalRequest builds the SigV4 canonical request of r as received.
func canonicalRequest(r *http.Request, signedHeaders []string, body []byte) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	// Non-S3 services encode the (already escaped) path a second time.
	b.WriteString(uriEncode(r.URL.EscapedPath(), false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.Query()))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(canonicalHeaderValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	sum := sha256.Sum256(body)
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.String()
}

func canonicalHeaderValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		return strconv.FormatInt(r.ContentLength, 10)
	}
	vals := r.Header.Values(name)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(out, ",")
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	return strings.Join(parts, "&")
}

// uriEncode percent-encodes every byte except unreserved characters (and '/'
// unless encodeSlash), as SigV4 specifies.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}
