package vertexfake

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// CredentialsJSON returns a service-account key file whose token_uri is this
// server's token endpoint and whose private key is the one the server checks.
func (s *Server) CredentialsJSON() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return nil, fmt.Errorf("vertexfake: encode key: %w", err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  s.Project,
		"private_key_id":              s.keyID,
		"private_key":                 string(pemKey),
		"client_email":                ClientEmail,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    s.URL + "/auth",
		"token_uri":                   s.TokenURL(),
		"auth_provider_x509_cert_url": s.URL + "/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
}

// WriteCredentials writes [Server.CredentialsJSON] to dir/service-account.json
// (mode 0600) and returns its path, for auth: {gcp: {credentialsFile: path}} or
// GOOGLE_APPLICATION_CREDENTIALS.
func (s *Server) WriteCredentials(dir string) (string, error) {
	b, err := s.CredentialsJSON()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("vertexfake: write credentials: %w", err)
	}
	return path, nil
}

// serveToken is the OAuth 2 token endpoint for the JWT-bearer grant.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		oauthError(w, 405, "invalid_request", "method must be POST")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, 400, "invalid_request", "body must be application/x-www-form-urlencoded")
		return
	}
	if g := form.Get("grant_type"); g != jwtBearerGrant {
		oauthError(w, 400, "unsupported_grant_type", fmt.Sprintf("Invalid grant_type: %s", g))
		return
	}
	if err := s.verifyAssertion(form.Get("assertion"), time.Now()); err != nil {
		oauthError(w, 400, "invalid_grant", err.Error())
		return
	}
	writeJSON(w, 200, map[string]any{
		"access_token": s.IssueToken(),
		"expires_in":   int(s.ttl / time.Second),
		"token_type":   "Bearer",
	})
}

// verifyAssertion checks the service account's signed JWT as Google does.
func (s *Server) verifyAssertion(assertion string, now time.Time) error {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return fmt.Errorf("invalid JWT: assertion must have three parts")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return fmt.Errorf("invalid JWT header: %v", err)
	}
	if hdr.Alg != "RS256" {
		return fmt.Errorf("invalid JWT: alg must be RS256, not %q", hdr.Alg)
	}
	if hdr.Kid != "" && hdr.Kid != s.keyID {
		return fmt.Errorf("invalid JWT Signature: unknown key id")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("invalid JWT Signature: not base64url")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("invalid JWT signature")
	}
	var c struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return fmt.Errorf("invalid JWT claims: %v", err)
	}
	switch {
	case c.Iss != ClientEmail:
		return fmt.Errorf("invalid JWT: iss must be the service account's client_email")
	case c.Aud != s.TokenURL():
		return fmt.Errorf("invalid JWT: aud must be the token URI")
	case strings.TrimSpace(c.Scope) == "":
		return fmt.Errorf("invalid JWT: no scope requested")
	case c.Iat == 0 || c.Exp == 0:
		return fmt.Errorf("invalid JWT: iat and exp are required")
	case time.Unix(c.Iat, 0).After(now.Add(5 * time.Minute)):
		return fmt.Errorf("invalid JWT: token must be a short-lived token and in a reasonable timeframe (iat in the future)")
	case !time.Unix(c.Exp, 0).After(now):
		return fmt.Errorf("invalid JWT: token must be a short-lived token and in a reasonable timeframe (expired)")
	case c.Exp-c.Iat > 3600:
		return fmt.Errorf("invalid JWT: token must be a short-lived token (60 minutes)")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return fmt.Errorf("not base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("not JSON")
	}
	return nil
}

func oauthError(w http.ResponseWriter, code int, kind, desc string) {
	writeJSON(w, code, map[string]string{"error": kind, "error_description": desc})
}
