package auth

import (
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

// TestDigestSeesEverySecret: a changed secret changes the digest (so a
// reload builds a new signer); the same settings give the same digest.
func TestDigestSeesEverySecret(t *testing.T) {
	base := func() *config.AIBackend {
		return &config.AIBackend{Provider: config.ProviderBedrock, Region: "us-east-1", Auth: config.BackendAuth{
			APIKey: "k", AWS: &config.AWSAuth{AccessKeyID: "AKID", SecretAccessKey: "s1", SessionToken: "t1"}}}
	}
	tests := []struct {
		name   string
		change func(b *config.AIBackend)
		same   bool
	}{
		{name: "unchanged", change: func(*config.AIBackend) {}, same: true},
		{name: "api key", change: func(b *config.AIBackend) { b.Auth.APIKey = "k2" }},
		{name: "aws secret key", change: func(b *config.AIBackend) { b.Auth.AWS.SecretAccessKey = "s2" }},
		{name: "aws session token", change: func(b *config.AIBackend) { b.Auth.AWS.SessionToken = "t2" }},
		{name: "aws access key id", change: func(b *config.AIBackend) { b.Auth.AWS.AccessKeyID = "AKID2" }},
		{name: "region", change: func(b *config.AIBackend) { b.Region = "eu-west-1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := base()
			tt.change(b)
			if got := Digest(b) == Digest(base()); got != tt.same {
				t.Errorf("same digest = %v, want %v", got, tt.same)
			}
		})
	}
}
