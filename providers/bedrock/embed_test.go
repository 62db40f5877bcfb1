package bedrock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestEmbeddingsRequest(t *testing.T) {
	tests := []struct {
		name, raw, wantURL, wantBody string
		wantErr                      string
	}{
		{name: "titan single", raw: `{"model":"amazon.titan-embed-text-v2:0","input":"hello world","dimensions":512}`,
			wantURL:  "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke",
			wantBody: `{"inputText":"hello world","dimensions":512,"normalize":true}`},
		{name: "titan one-element array", raw: `{"model":"amazon.titan-embed-text-v2:0","input":["a"]}`,
			wantURL:  "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke",
			wantBody: `{"inputText":"a","normalize":true}`},
		{name: "titan g1 takes inputText only", raw: `{"model":"amazon.titan-embed-text-v1","input":"hello"}`,
			wantURL:  "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v1/invoke",
			wantBody: `{"inputText":"hello"}`},
		{name: "titan g1 dimensions", raw: `{"model":"amazon.titan-embed-text-v1","input":"hello","dimensions":256}`,
			wantErr: "amazon.titan-embed-text-v1 does not support dimensions"},
		{name: "titan several", raw: `{"model":"amazon.titan-embed-text-v2:0","input":["a","b"]}`,
			wantErr: "bedrock titan embeddings take one input per request"},
		{name: "cohere batch", raw: `{"model":"cohere.embed-english-v3","input":["a","b"]}`,
			wantURL:  "https://bedrock-runtime.us-east-1.amazonaws.com/model/cohere.embed-english-v3/invoke",
			wantBody: `{"texts":["a","b"],"input_type":"search_document"}`},
		{name: "unknown model", raw: `{"model":"meta.llama3","input":"a"}`, wantErr: `bedrock embeddings support amazon.titan-embed-text-* and cohere.embed-* models, not "meta.llama3"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New().NewTranslator(schema.OpEmbeddings, testBackend)
			if err != nil {
				t.Fatal(err)
			}
			up, err := tr.Request([]byte(tc.raw), nil)
			if tc.wantErr != "" {
				var se *schema.Error
				if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.Message != tc.wantErr {
					t.Fatalf("err = %v, want 400 %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if up.URL != tc.wantURL || string(up.Body) != tc.wantBody || up.Stream {
				t.Errorf("upstream = %s %s, want %s %s", up.URL, up.Body, tc.wantURL, tc.wantBody)
			}
		})
	}
}

func TestEmbeddingsResponse(t *testing.T) {
	tests := []struct {
		name, raw, body string
		want            string
	}{
		{name: "titan", raw: `{"model":"amazon.titan-embed-text-v2:0","input":"hi there"}`,
			body: `{"embedding":[0.25,-0.5],"inputTextTokenCount":3}`,
			want: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.25,-0.5]}],"model":"amazon.titan-embed-text-v2:0","usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}}`},
		{name: "cohere", raw: `{"model":"cohere.embed-english-v3","input":["a","b"]}`,
			body: `{"embeddings":[[0.1],[0.2]],"id":"x","response_type":"embeddings_floats","texts":["a","b"]}`,
			want: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]},{"object":"embedding","index":1,"embedding":[0.2]}],"model":"cohere.embed-english-v3","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := New().NewTranslator(schema.OpEmbeddings, testBackend)
			if _, err := tr.Request([]byte(tc.raw), nil); err != nil {
				t.Fatal(err)
			}
			out, _, err := tr.Response(200, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got  %s\nwant %s", out, tc.want)
			}
		})
	}
}

func TestEmbeddingsBase64AndError(t *testing.T) {
	tr, _ := New().NewTranslator(schema.OpEmbeddings, testBackend)
	if _, err := tr.Request([]byte(`{"model":"amazon.titan-embed-text-v2:0","input":"x","encoding_format":"base64"}`), nil); err != nil {
		t.Fatal(err)
	}
	out, _, err := tr.Response(200, []byte(`{"embedding":[0.5,-1],"inputTextTokenCount":1}`))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Data []struct {
			Embedding string `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Data) != 1 {
		t.Fatalf("bad response %s: %v", out, err)
	}
	b, _ := base64.StdEncoding.DecodeString(r.Data[0].Embedding)
	if len(b) != 8 || math.Float32frombits(binary.LittleEndian.Uint32(b[4:])) != -1 {
		t.Errorf("base64 embedding decodes to %v", b)
	}
	_, _, err = tr.Response(403, []byte(`{"message":"User is not authorized"}`))
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != 403 || se.Message != "User is not authorized" || se.Type != schema.ErrPermission {
		t.Errorf("err = %v", err)
	}
	_, _, err = tr.Response(502, []byte(`<html>bad gateway</html>`))
	if !errors.As(err, &se) || se.Message != "bedrock returned HTTP 502" {
		t.Errorf("non-JSON error body leaked or unmapped: %v", err)
	}
}
