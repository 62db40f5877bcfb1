package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

type failingCreds struct{ err error }

func (f failingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, f.err
}

// A credential refresh failure must not reach the client: STS and metadata
// errors name accounts, roles, files and request ids.
func TestAWSSignerCredentialErrorNotLeaked(t *testing.T) {
	secret := "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole on arn:aws:iam::123456789012:role/bedrock"
	s := &AWSSigner{creds: failingCreds{errors.New(secret)}, signer: v4.NewSigner(), region: "us-east-1",
		service: AWSService, now: time.Now}
	up := &schema.Upstream{Method: http.MethodPost, URL: "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", Body: []byte("{}")}
	err := s.Sign(context.Background(), up, ClientCredentials{})
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != http.StatusBadGateway {
		t.Fatalf("err = %v, want a 502 *schema.Error", err)
	}
	if strings.Contains(se.Message, "123456789012") || strings.Contains(string(se.JSON()), "arn:aws") {
		t.Errorf("client error leaks the credential error: %s", se.JSON())
	}
	if !strings.Contains(err.Error(), "not authorized") {
		t.Errorf("err = %v, want the cause kept for logs", err)
	}
	if up.GetHeader("Authorization") != "" {
		t.Error("request was signed")
	}
}
