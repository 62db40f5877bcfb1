package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// The common request, an http(s) URL without query and a few plain headers
// (every Bedrock call), is signed here without the SDK: it built an
// http.Request, parsed the URL and sorted header maps for each call, three
// times the work of the signature itself. Anything else goes to the SDK
// (signSDK). TestSignFastMatchesSDK checks that both sign alike.

// signingKey is a derived SigV4 signing key and what it was derived for.
type signingKey struct {
	accessKey, secret, day string
	key                    []byte
}

// sigHeader is one header of the canonical request.
type sigHeader struct{ name, value string }

// maxFastHeaders bounds the headers signFast signs (on the stack).
const maxFastHeaders = 8

// signFast signs req as the SDK would and reports true, or reports false
// without touching req when req is not the common request.
func (s *AWSSigner) signFast(creds aws.Credentials, req *schema.Upstream, t time.Time) bool {
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	host, path, ok := splitPlainURL(req.URL)
	if !ok || !isUpperToken(method) {
		return false
	}
	ct := req.ContentType
	if ct == "" {
		ct = "application/json"
	}
	var buf [maxFastHeaders]sigHeader
	hs := append(buf[:0], sigHeader{"host", host}, sigHeader{"content-type", ct})
	var date [16]byte
	amzDate := string(t.AppendFormat(date[:0], "20060102T150405Z"))
	hs = append(hs, sigHeader{"x-amz-date", amzDate})
	if creds.SessionToken != "" {
		hs = append(hs, sigHeader{"x-amz-security-token", creds.SessionToken})
	}
	for _, h := range req.Header {
		switch http.CanonicalHeaderKey(h.Name) {
		case "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "Content-Type", "Content-Length", "Host":
			continue // not sent as given (Sign's rule)
		case "User-Agent", "X-Amzn-Trace-Id", "Expect", "Transfer-Encoding":
			continue // sent, never signed (the SDK's rule)
		case "X-Amz-Content-Sha256":
			return false
		}
		if len(hs) == maxFastHeaders || !isToken(h.Name) {
			return false
		}
		hs = append(hs, sigHeader{strings.ToLower(h.Name), h.Value})
	}
	for _, h := range hs {
		if !plainValue(h.value) {
			return false
		}
	}
	slices.SortFunc(hs, func(a, b sigHeader) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(hs); i++ {
		if hs[i].name == hs[i-1].name {
			return false // http.Header.Set keeps the last: leave that to the SDK path
		}
	}

	sum := sha256.Sum256(req.Body)
	cr := make([]byte, 0, 512)
	cr = append(cr, method...)
	cr = append(cr, '\n')
	cr = appendCanonicalPath(cr, path)
	cr = append(cr, "\n\n"...) // no query
	for _, h := range hs {
		cr = append(cr, h.name...)
		cr = append(cr, ':')
		cr = append(cr, h.value...)
		cr = append(cr, '\n')
	}
	cr = append(cr, '\n')
	signedStart := len(cr)
	for i, h := range hs {
		if i > 0 {
			cr = append(cr, ';')
		}
		cr = append(cr, h.name...)
	}
	signed := cr[signedStart:]
	cr = append(cr, '\n')
	cr = hex.AppendEncode(cr, sum[:])
	crSum := sha256.Sum256(cr)

	day := amzDate[:8]
	scope := day + "/" + s.region + "/" + s.service + "/aws4_request"
	sts := make([]byte, 0, 128)
	sts = append(sts, "AWS4-HMAC-SHA256\n"...)
	sts = append(sts, amzDate...)
	sts = append(sts, '\n')
	sts = append(sts, scope...)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, crSum[:])
	mac := hmac.New(sha256.New, s.key(creds, day))
	mac.Write(sts)
	var sig [sha256.Size]byte

	auth := make([]byte, 0, 256)
	auth = append(auth, "AWS4-HMAC-SHA256 Credential="...)
	auth = append(auth, creds.AccessKeyID...)
	auth = append(auth, '/')
	auth = append(auth, scope...)
	auth = append(auth, ", SignedHeaders="...)
	auth = append(auth, signed...)
	auth = append(auth, ", Signature="...)
	auth = hex.AppendEncode(auth, mac.Sum(sig[:0]))
	req.SetHeader("Authorization", string(auth))
	req.SetHeader("X-Amz-Date", amzDate)
	if creds.SessionToken != "" {
		req.SetHeader("X-Amz-Security-Token", creds.SessionToken)
	}
	return true
}

// key returns the signing key of creds for day, derived once per day (and
// credentials) and shared by every request.
func (s *AWSSigner) key(creds aws.Credentials, day string) []byte {
	if k := s.derived.Load(); k != nil && k.day == day && k.accessKey == creds.AccessKeyID && k.secret == creds.SecretAccessKey {
		return k.key
	}
	k := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), day)
	k = hmacSHA256(k, s.region)
	k = hmacSHA256(k, s.service)
	k = hmacSHA256(k, "aws4_request")
	s.derived.Store(&signingKey{accessKey: creds.AccessKeyID, secret: creds.SecretAccessKey, day: day, key: k})
	return k
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// splitPlainURL splits an http(s) URL into its host (without the scheme's
// default port, as the SDK signs it) and path, when it has no userinfo,
// query or fragment, and its path only unreserved characters, slashes and
// %XX escapes (so that net/url would give it back as is).
func splitPlainURL(u string) (host, path string, ok bool) {
	var rest, defaultPort string
	switch {
	case strings.HasPrefix(u, "https://"):
		rest, defaultPort = u[len("https://"):], ":443"
	case strings.HasPrefix(u, "http://"):
		rest, defaultPort = u[len("http://"):], ":80"
	default:
		return "", "", false
	}
	host, path = rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if host == "" || strings.HasSuffix(host, ":") {
		return "", "", false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !unreserved(c) && c != ':' {
			return "", "", false
		}
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case unreserved(c) || c == '/':
		case c == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]):
			i += 2
		default:
			return "", "", false
		}
	}
	return strings.TrimSuffix(host, defaultPort), path, true
}

// appendCanonicalPath appends path escaped again, as the SDK's canonical
// URI: splitPlainURL's paths need it for '%' only.
func appendCanonicalPath(dst []byte, path string) []byte {
	for {
		i := strings.IndexByte(path, '%')
		if i < 0 {
			return append(dst, path...)
		}
		dst = append(dst, path[:i]...)
		dst = append(dst, "%25"...)
		path = path[i+1:]
	}
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isToken reports a header name of letters, digits and dashes.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return s != ""
}

// isUpperToken reports a method of upper-case letters.
func isUpperToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return s != ""
}

// plainValue reports a header value the SDK signs as it is: printable ASCII
// with no leading, trailing or doubled spaces.
func plainValue(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' || strings.Contains(v, "  ") {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
