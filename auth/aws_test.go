package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/bedrockfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// isolateAWSEnv points every AWS credential source at nothing: a temp HOME,
// empty config files, no env keys, and IMDS disabled, so nothing leaves the host.
func isolateAWSEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	return home
}

// signAndSend signs a Converse request for the fake with s and posts it.
func signAndSend(t *testing.T, s auth.Signer, fake *bedrockfake.Server) (int, string) {
	t.Helper()
	up := &schema.Upstream{
		Method:      http.MethodPost,
		URL:         fake.URL + "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
		ContentType: "application/json",
		Body:        []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`),
	}
	if err := s.Sign(context.Background(), up, auth.ClientCredentials{}); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	resp, b := testutil.Send(t, up)
	return resp.StatusCode, string(b)
}

func TestAWSSignerVerifiesInFake(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, home string)
		cfg     config.AWSAuth
		fake    bedrockfake.Options
		region  string
		wantOK  bool
		wantMsg string
	}{
		{name: "static keys", cfg: config.AWSAuth{AccessKeyID: bedrockfake.TestAccessKeyID,
			SecretAccessKey: bedrockfake.TestSecretAccessKey}, region: "us-east-1", wantOK: true},
		{name: "static keys with session token", cfg: config.AWSAuth{AccessKeyID: bedrockfake.TestAccessKeyID,
			SecretAccessKey: bedrockfake.TestSecretAccessKey, SessionToken: "tok/en+1"},
			fake: bedrockfake.Options{SessionToken: "tok/en+1"}, region: "us-east-1", wantOK: true},
		{name: "environment", setup: func(t *testing.T, _ string) {
			t.Setenv("AWS_ACCESS_KEY_ID", bedrockfake.TestAccessKeyID)
			t.Setenv("AWS_SECRET_ACCESS_KEY", bedrockfake.TestSecretAccessKey)
			t.Setenv("AWS_REGION", "eu-west-1")
		}, fake: bedrockfake.Options{Region: "eu-west-1"}, wantOK: true},
		{name: "shared profile", setup: func(t *testing.T, home string) {
			writeFile(t, filepath.Join(home, "credentials"), "[team]\naws_access_key_id = "+bedrockfake.TestAccessKeyID+
				"\naws_secret_access_key = "+bedrockfake.TestSecretAccessKey+"\n")
			writeFile(t, filepath.Join(home, "config"), "[profile team]\nregion = ap-southeast-2\n")
		}, cfg: config.AWSAuth{Profile: "team"}, fake: bedrockfake.Options{Region: "ap-southeast-2"}, wantOK: true},
		{name: "wrong secret", cfg: config.AWSAuth{AccessKeyID: bedrockfake.TestAccessKeyID, SecretAccessKey: "wrong-secret"},
			region: "us-east-1", wantMsg: "The request signature we calculated does not match"},
		{name: "wrong region", cfg: config.AWSAuth{AccessKeyID: bedrockfake.TestAccessKeyID,
			SecretAccessKey: bedrockfake.TestSecretAccessKey}, region: "us-west-2", wantMsg: "Credential should be scoped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := isolateAWSEnv(t)
			if tc.setup != nil {
				tc.setup(t, home)
			}
			fake := bedrockfake.New(tc.fake)
			defer fake.Close()
			s, err := auth.NewAWSSigner(context.Background(), &tc.cfg, tc.region)
			if err != nil {
				t.Fatalf("NewAWSSigner: %v", err)
			}
			status, body := signAndSend(t, s, fake)
			if tc.wantOK && status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if !tc.wantOK {
				var e struct{ Message string }
				_ = json.Unmarshal([]byte(body), &e)
				if status != http.StatusForbidden || !strings.Contains(e.Message, tc.wantMsg) {
					t.Fatalf("status %d %s, want 403 %q", status, body, tc.wantMsg)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNewAWSSignerErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.AWSAuth
		region  string
		wantErr string
	}{
		{name: "no credentials anywhere", region: "us-east-1", wantErr: "auth: aws: retrieve credentials"},
		{name: "half static keys", cfg: config.AWSAuth{SecretAccessKey: "s3cr3t-value"}, region: "us-east-1",
			wantErr: "accessKeyID and secretAccessKey must be set together"},
		{name: "missing profile", cfg: config.AWSAuth{Profile: "nope"}, region: "us-east-1", wantErr: "auth: aws: load config"},
		{name: "no region", cfg: config.AWSAuth{AccessKeyID: "AKID", SecretAccessKey: "s3cr3t-value"}, wantErr: "no region"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWSEnv(t)
			_, err := auth.NewAWSSigner(context.Background(), &tc.cfg, tc.region)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestAWSSignerCopiesHeaders(t *testing.T) {
	isolateAWSEnv(t)
	s, err := auth.NewAWSSigner(context.Background(), &config.AWSAuth{AccessKeyID: "AKIDEXAMPLE",
		SecretAccessKey: "secret", SessionToken: "session"}, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	up := &schema.Upstream{URL: "https://bedrock-runtime.us-east-1.amazonaws.com/model/m%3A0/converse", Body: []byte("{}")}
	if err := s.Sign(context.Background(), up, auth.ClientCredentials{}); err != nil {
		t.Fatal(err)
	}
	a := up.GetHeader("Authorization")
	if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(a, "/us-east-1/bedrock/aws4_request") ||
		!strings.Contains(a, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token") {
		t.Errorf("Authorization = %q", a)
	}
	if up.GetHeader("X-Amz-Date") == "" || up.GetHeader("X-Amz-Security-Token") != "session" {
		t.Errorf("headers = %+v", up.Header)
	}
	if s.Region() != "us-east-1" {
		t.Errorf("Region = %q", s.Region())
	}
}

func TestAWSSignerAssumeRole(t *testing.T) {
	isolateAWSEnv(t)
	const tempKey, tempSecret, tempToken = "ASIAFAKEASSUMEDROLE1", "assumed/secret+key", "assumed-session-token"
	var calls atomic.Int32
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = r.ParseForm()
		if r.Form.Get("Action") != "AssumeRole" || r.Form.Get("RoleArn") != "arn:aws:iam::123456789012:role/bedrock" ||
			!strings.Contains(r.Header.Get("Authorization"), "Credential="+bedrockfake.TestAccessKeyID+"/") {
			http.Error(w, "bad assume role request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
			`<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/bedrock/switchyard</Arn><AssumedRoleId>AROAFAKE:switchyard</AssumedRoleId></AssumedRoleUser>`+
			`<Credentials><AccessKeyId>`+tempKey+`</AccessKeyId><SecretAccessKey>`+tempSecret+`</SecretAccessKey>`+
			`<SessionToken>`+tempToken+`</SessionToken><Expiration>`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`</Expiration></Credentials>`+
			`</AssumeRoleResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></AssumeRoleResponse>`)
	}))
	defer sts.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	fake := bedrockfake.New(bedrockfake.Options{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: tempToken})
	defer fake.Close()
	s, err := auth.NewAWSSigner(context.Background(), &config.AWSAuth{AccessKeyID: bedrockfake.TestAccessKeyID,
		SecretAccessKey: bedrockfake.TestSecretAccessKey, RoleARN: "arn:aws:iam::123456789012:role/bedrock"}, "us-east-1")
	if err != nil {
		t.Fatalf("NewAWSSigner: %v", err)
	}
	for i := 0; i < 2; i++ {
		if status, body := signAndSend(t, s, fake); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("STS called %d times, want 1 (credentials cached)", calls.Load())
	}
}
