package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// AWSService is the SigV4 signing name of the Bedrock runtime.
const AWSService = "bedrock"

// awsExpiryWindow refreshes cached temporary credentials this long before they expire.
const awsExpiryWindow = 5 * time.Minute

// AWSSigner signs upstream requests with AWS Signature Version 4 over their
// final body. It is built once per backend per snapshot; credentials are
// cached and refreshed before they expire. Safe for concurrent use.
type AWSSigner struct {
	creds   aws.CredentialsProvider
	signer  *v4.Signer
	region  string
	service string
	now     func() time.Time
	// derived caches the signing key of the current day (signFast).
	derived atomic.Pointer[signingKey]
}

var _ Signer = (*AWSSigner)(nil)

// NewAWSSigner resolves AWS credentials for a and returns a signer for the
// bedrock service in region. Credentials come from a's static keys when set,
// else from the standard chain (environment, shared config/credentials files
// with a.Profile, web identity, container and instance metadata). With
// a.RoleARN the role is assumed with STS on top of those base credentials.
// Credentials are retrieved once here so that a broken setup fails at load
// time; errors never contain secrets. An empty region falls back to the
// chain's region (AWS_REGION, profile).
func NewAWSSigner(ctx context.Context, a *config.AWSAuth, region string) (*AWSSigner, error) {
	if a == nil {
		a = &config.AWSAuth{}
	}
	if (a.AccessKeyID == "") != (a.SecretAccessKey == "") {
		return nil, errors.New("auth: aws: accessKeyID and secretAccessKey must be set together")
	}
	if a.SessionToken != "" && a.AccessKeyID == "" {
		return nil, errors.New("auth: aws: sessionToken needs accessKeyID and secretAccessKey")
	}
	opts := []func(*awsconfig.LoadOptions) error{}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if a.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(a.Profile))
	}
	if a.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			a.AccessKeyID, a.SecretAccessKey.Value(), a.SessionToken.Value())))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("auth: aws: load config: %w", err)
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return nil, errors.New("auth: aws: no region: set the backend's region or AWS_REGION")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("auth: aws: no credentials provider found")
	}
	provider := cfg.Credentials
	if a.RoleARN != "" {
		client := sts.NewFromConfig(cfg)
		provider = stscreds.NewAssumeRoleProvider(client, a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "switchyard"
		})
	}
	// Always wrap in our own cache so the expiry window applies to every source.
	provider = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = awsExpiryWindow
	})
	if _, err := provider.Retrieve(ctx); err != nil {
		if a.RoleARN != "" {
			return nil, fmt.Errorf("auth: aws: assume role %s: %w", a.RoleARN, err)
		}
		return nil, fmt.Errorf("auth: aws: retrieve credentials: %w", err)
	}
	return &AWSSigner{
		creds:   provider,
		signer:  v4.NewSigner(),
		region:  region,
		service: AWSService,
		now:     time.Now,
	}, nil
}

// Region returns the region the signer signs for.
func (s *AWSSigner) Region() string { return s.region }

// Sign implements [Signer.Sign]. It signs method, URL, Content-Type, the
// request's headers and the SHA-256 of req.Body, then copies Authorization,
// X-Amz-Date and X-Amz-Security-Token (and X-Amz-Content-Sha256 when the
// SDK sets it) back onto req. The router must send the URL path verbatim
// (no re-escaping or normalization) and the same signed headers.
func (s *AWSSigner) Sign(ctx context.Context, req *schema.Upstream, _ ClientCredentials) error {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		// The cause (STS or metadata errors name accounts, roles and files) is
		// for logs; the client sees only the generic *schema.Error.
		return fmt.Errorf("auth: aws: retrieve credentials: %v: %w", err, &schema.Error{Status: http.StatusBadGateway,
			Type: schema.ErrServer, Message: "upstream authentication failed: AWS credentials are unavailable"})
	}
	t := s.now().UTC()
	if s.signFast(creds, req, t) {
		return nil
	}
	return s.signSDK(ctx, creds, req, t)
}

// signSDK signs req with the SDK's signer (any request signFast declines).
func (s *AWSSigner) signSDK(ctx context.Context, creds aws.Credentials, req *schema.Upstream, t time.Time) error {
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequestWithContext(ctx, method, req.URL, io.NopCloser(bytes.NewReader(req.Body)))
	if err != nil {
		return fmt.Errorf("auth: aws: build request for signing: %w", err)
	}
	// Content-Length is left out of the signed headers on purpose: the router sets it.
	hr.ContentLength = 0
	ct := req.ContentType
	if ct == "" {
		ct = "application/json"
	}
	hr.Header.Set("Content-Type", ct)
	for _, h := range req.Header {
		switch http.CanonicalHeaderKey(h.Name) {
		case "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "Content-Type", "Content-Length", "Host":
			continue
		}
		hr.Header.Set(h.Name, h.Value)
	}
	sum := sha256.Sum256(req.Body)
	if err := s.signer.SignHTTP(ctx, creds, hr, hex.EncodeToString(sum[:]), s.service, s.region, t); err != nil {
		return fmt.Errorf("auth: aws: sign: %w", err)
	}
	req.SetHeader("Authorization", hr.Header.Get("Authorization"))
	req.SetHeader("X-Amz-Date", hr.Header.Get("X-Amz-Date"))
	if tok := hr.Header.Get("X-Amz-Security-Token"); tok != "" {
		req.SetHeader("X-Amz-Security-Token", tok)
	}
	if cs := hr.Header.Get("X-Amz-Content-Sha256"); cs != "" {
		req.SetHeader("X-Amz-Content-Sha256", cs)
	}
	return nil
}
