package bedrockfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/bedrockfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func signer(t *testing.T, secret string) auth.Signer {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	s, err := auth.NewAWSSigner(context.Background(), &config.AWSAuth{AccessKeyID: bedrockfake.TestAccessKeyID,
		SecretAccessKey: config.Secret(secret)}, bedrockfake.TestRegion)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func post(t *testing.T, s auth.Signer, url, body string) (*http.Response, []byte) {
	t.Helper()
	up := &schema.Upstream{Method: http.MethodPost, URL: url, ContentType: "application/json", Body: []byte(body)}
	if s != nil {
		if err := s.Sign(context.Background(), up, auth.ClientCredentials{}); err != nil {
			t.Fatal(err)
		}
	}
	return testutil.Send(t, up)
}

const converseURL = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"

func TestFakeRejectsBadAuth(t *testing.T) {
	tests := []struct {
		name     string
		signer   func(t *testing.T) auth.Signer
		now      func() time.Time
		wantType string
	}{
		{name: "unsigned", signer: func(*testing.T) auth.Signer { return nil }, wantType: "MissingAuthenticationTokenException"},
		{name: "wrong secret", signer: func(t *testing.T) auth.Signer { return signer(t, "not-the-secret") }, wantType: "InvalidSignatureException"},
		{name: "expired date", signer: func(t *testing.T) auth.Signer { return signer(t, bedrockfake.TestSecretAccessKey) },
			now: func() time.Time { return time.Now().Add(6 * time.Minute) }, wantType: "InvalidSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := bedrockfake.New(bedrockfake.Options{Now: tc.now})
			defer fake.Close()
			resp, body := post(t, tc.signer(t), fake.URL+converseURL, `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
			if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("x-amzn-ErrorType"), tc.wantType) {
				t.Fatalf("got %d %s (%s), want 403 %s", resp.StatusCode, body, resp.Header.Get("x-amzn-ErrorType"), tc.wantType)
			}
			if len(fake.Requests()) != 0 {
				t.Error("rejected request was recorded")
			}
		})
	}
}

func TestFakeValidatesConverse(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	s := signer(t, bedrockfake.TestSecretAccessKey)
	tests := []struct {
		name, body, wantMsg string
	}{
		{name: "unknown field", body: `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"max_tokens":5}`, wantMsg: "Malformed input request"},
		{name: "not alternating", body: `{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"user","content":[{"text":"b"}]}]}`, wantMsg: "alternate"},
		{name: "blank text", body: `{"messages":[{"role":"user","content":[{"text":" "}]}]}`, wantMsg: "blank"},
		{name: "tool result without config", body: `{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"f","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"ok"}]}}]}]}`, wantMsg: "toolConfig field must be defined"},
		{name: "bad image", body: `{"messages":[{"role":"user","content":[{"image":{"format":"bmp","source":{"bytes":"AAAA"}}}]}]}`, wantMsg: "format"},
		{name: "temperature", body: `{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"temperature":1.5}}`, wantMsg: "temperature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, s, fake.URL+converseURL, tc.body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.wantMsg) ||
				!strings.HasPrefix(resp.Header.Get("x-amzn-ErrorType"), "ValidationException") {
				t.Fatalf("got %d %s, want 400 ValidationException with %q", resp.StatusCode, body, tc.wantMsg)
			}
		})
	}
}

func TestFakeReplies(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	s := signer(t, bedrockfake.TestSecretAccessKey)
	const tools = `"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}}]}`
	resp, body := post(t, s, fake.URL+converseURL, `{"messages":[{"role":"user","content":[{"text":"weather?"}]}],`+tools+`}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"toolUse":{"input":{"city":"Paris"},"name":"get_weather"`) ||
		!strings.Contains(string(body), `"stopReason":"tool_use"`) {
		t.Fatalf("tool reply: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, s, fake.URL+converseURL, `{"messages":[{"role":"user","content":[{"text":"weather?"}]},`+
		`{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris"}}}]},`+
		`{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"sunny"}]}}]}],`+tools+`}`)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"text":"The tool returned: sunny"`) {
		t.Fatalf("text after tool result: %d %s", resp.StatusCode, body)
	}
	if got := fake.Requests(); len(got) != 2 || got[0].ModelID != "anthropic.claude-3-haiku-20240307-v1:0" || got[0].Op != "converse" {
		t.Errorf("recorded %+v", got)
	}
}

func TestFakeStreamThrottle(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	s := signer(t, bedrockfake.TestSecretAccessKey)
	resp, body := post(t, s, fake.URL+strings.Replace(converseURL, "converse", "converse-stream", 1),
		`{"messages":[{"role":"user","content":[{"text":"go `+bedrockfake.TriggerThrottle+`"}]}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	dec := eventstream.NewDecoder()
	r := bytes.NewReader(body)
	var kinds []string
	for r.Len() > 0 {
		msg, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		kind := msg.Headers.Get(":event-type")
		if kind == nil {
			kind = msg.Headers.Get(":exception-type")
		}
		kinds = append(kinds, kind.String())
		if !json.Valid(msg.Payload) {
			t.Errorf("payload not JSON: %s", msg.Payload)
		}
	}
	if got := strings.Join(kinds, ","); got != "messageStart,contentBlockDelta,throttlingException" {
		t.Errorf("events = %s", got)
	}
}

func TestFakeEmbeddings(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	s := signer(t, bedrockfake.TestSecretAccessKey)
	resp, body := post(t, s, fake.URL+"/model/amazon.titan-embed-text-v2%3A0/invoke", `{"inputText":"hi","dimensions":256,"normalize":true}`)
	var tr struct {
		Embedding []float64 `json:"embedding"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &tr) != nil || len(tr.Embedding) != 256 {
		t.Fatalf("titan: %d %.200s", resp.StatusCode, body)
	}
	resp, body = post(t, s, fake.URL+"/model/amazon.titan-embed-text-v1/invoke", `{"inputText":"hi","normalize":true}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "extraneous key [normalize]") {
		t.Fatalf("titan g1 with normalize: %d %s", resp.StatusCode, body)
	}
	resp, body = post(t, s, fake.URL+"/model/amazon.titan-embed-text-v1/invoke", `{"inputText":"hi"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("titan g1: %d %.200s", resp.StatusCode, body)
	}
	resp, body = post(t, s, fake.URL+"/model/cohere.embed-english-v3/invoke", `{"texts":["a","b"]}`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "input_type") {
		t.Fatalf("cohere without input_type: %d %s", resp.StatusCode, body)
	}
}

// The signature covers the body: a body changed after signing (as a
// translator that signed too early would send) must be refused.
func TestFakeRejectsBodyChangedAfterSigning(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	up := &schema.Upstream{Method: http.MethodPost, URL: fake.URL + converseURL, ContentType: "application/json",
		Body: []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)}
	if err := signer(t, bedrockfake.TestSecretAccessKey).Sign(context.Background(), up, auth.ClientCredentials{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, body string }{
		{name: "as signed", body: string(up.Body)},
		{name: "changed", body: `{"messages":[{"role":"user","content":[{"text":"ho"}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := *up // the signed headers, with tc.body
			sent.Body = []byte(tc.body)
			resp, b := testutil.Send(t, &sent)
			want := http.StatusOK
			if tc.name == "changed" {
				want = http.StatusForbidden
			}
			if resp.StatusCode != want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, want)
			}
		})
	}
}
