package auth

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestSignFastMatchesSDK signs a table of requests with signFast and with
// the SDK (signSDK) at the same time with the same credentials: the
// headers each sets must be equal, and signFast must take every request a
// Bedrock backend makes.
func TestSignFastMatchesSDK(t *testing.T) {
	const bedrock = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
	body := []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	static := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	session := static
	session.SessionToken = "FwoGZXIvYXdzEBYaDH session token=="
	tests := []struct {
		name  string
		creds aws.Credentials
		up    schema.Upstream
		fast  bool
	}{
		{"bedrock converse", static, schema.Upstream{Method: "POST", URL: bedrock, Body: body}, true},
		{"session token", session, schema.Upstream{URL: bedrock, Body: body}, true},
		{"stream, lower-case escape", static, schema.Upstream{URL: "https://h.example/model/a%3ab/converse-stream", Body: body}, true},
		{"plain http, port", static, schema.Upstream{URL: "http://127.0.0.1:8080/model/m/converse", Body: body}, true},
		{"default ports", static, schema.Upstream{URL: "https://h.example:443/x", Body: body}, true},
		{"default http port", static, schema.Upstream{URL: "http://h.example:80/x"}, true},
		{"https on port 80", static, schema.Upstream{URL: "https://h.example:80/x"}, true},
		{"no path", static, schema.Upstream{Method: "GET", URL: "https://h.example"}, true},
		{"content type", static, schema.Upstream{URL: bedrock, ContentType: "application/x-amz-json-1.1", Body: body}, true},
		{"extra headers", static, schema.Upstream{URL: bedrock, Body: body, Header: []schema.Header{
			{Name: "X-Amzn-Bedrock-Trace", Value: "ENABLED"}, {Name: "accept", Value: "application/json"},
			{Name: "User-Agent", Value: "switchyard"}, {Name: "X-Amz-Date", Value: "stale"}, {Name: "authorization", Value: "x"}}}, true},
		// Left to the SDK.
		{"query", static, schema.Upstream{URL: bedrock + "?a=1", Body: body}, false},
		{"reserved path character", static, schema.Upstream{URL: "https://h.example/model/a:b/converse", Body: body}, false},
		{"spaces in a value", static, schema.Upstream{URL: bedrock, Header: []schema.Header{{Name: "X-A", Value: " a  b "}}}, false},
		{"repeated header", static, schema.Upstream{URL: bedrock, Header: []schema.Header{{Name: "X-A", Value: "1"}, {Name: "x-a", Value: "2"}}}, false},
		{"content sha header", static, schema.Upstream{URL: bedrock, Header: []schema.Header{{Name: "X-Amz-Content-Sha256", Value: "UNSIGNED-PAYLOAD"}}}, false},
		{"ipv6 host", static, schema.Upstream{URL: "https://[::1]:8443/x"}, false},
		{"upper-case scheme", static, schema.Upstream{URL: "HTTPS://h.example/x"}, false},
	}
	at := time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &AWSSigner{signer: v4.NewSigner(), region: "us-east-1", service: AWSService}
			fastUp, sdkUp := cloneUpstream(tt.up), cloneUpstream(tt.up)
			ok := s.signFast(tt.creds, fastUp, at)
			if ok != tt.fast {
				t.Fatalf("signFast took it: %v, want %v", ok, tt.fast)
			}
			if err := s.signSDK(context.Background(), tt.creds, sdkUp, at); err != nil {
				t.Fatal(err)
			}
			if !ok {
				if !reflect.DeepEqual(fastUp, cloneUpstream(tt.up)) {
					t.Fatal("signFast declined but changed the request")
				}
				return
			}
			if !reflect.DeepEqual(fastUp.Header, sdkUp.Header) {
				t.Fatalf("headers differ:\nfast %q\nsdk  %q", fastUp.Header, sdkUp.Header)
			}
			// Again on the cached key, and on the next day's.
			again := cloneUpstream(tt.up)
			s.signFast(tt.creds, again, at)
			next, nextSDK := cloneUpstream(tt.up), cloneUpstream(tt.up)
			s.signFast(tt.creds, next, at.Add(time.Second))
			if err := s.signSDK(context.Background(), tt.creds, nextSDK, at.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again.Header, sdkUp.Header) || !reflect.DeepEqual(next.Header, nextSDK.Header) {
				t.Fatal("a cached or a new day's signing key signs differently from the SDK")
			}
			if !strings.HasPrefix(fastUp.GetHeader("Authorization"), "AWS4-HMAC-SHA256 Credential="+tt.creds.AccessKeyID+"/") {
				t.Fatalf("Authorization = %q", fastUp.GetHeader("Authorization"))
			}
		})
	}
}

func cloneUpstream(u schema.Upstream) *schema.Upstream {
	u.Header = append([]schema.Header(nil), u.Header...)
	return &u
}

// BenchmarkSign measures signing a Bedrock Converse request of about 1 KB.
func BenchmarkSign(b *testing.B) {
	s := &AWSSigner{creds: aws.NewCredentialsCache(staticCreds{}), signer: v4.NewSigner(), region: "us-east-1",
		service: AWSService, now: time.Now}
	body := []byte(strings.Repeat("x", 1100))
	const u = "http://127.0.0.1:8080/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
	b.ReportAllocs()
	for b.Loop() {
		up := &schema.Upstream{Method: http.MethodPost, URL: u, Body: body}
		if err := s.Sign(context.Background(), up, ClientCredentials{}); err != nil {
			b.Fatal(err)
		}
	}
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
}
