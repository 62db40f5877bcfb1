package auth

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// principal checks the verified claims and maps them to a Principal.
func (v *JWTVerifier) principal(claims map[string]any) (*Principal, error) {
	now := v.now()
	exp, ok, err := numericDate(claims, "exp")
	switch {
	case err != nil:
		return nil, tokenErr(ErrClaimInvalid, "exp is not a number")
	case !ok:
		return nil, tokenErr(ErrClaimInvalid, "exp is missing")
	case !now.Before(exp.Add(v.skew)):
		return nil, tokenErr(ErrTokenExpired, "")
	}
	for _, name := range [...]string{"nbf", "iat"} {
		t, ok, err := numericDate(claims, name)
		if err != nil {
			return nil, tokenErr(ErrClaimInvalid, name+" is not a number")
		}
		if ok && now.Add(v.skew).Before(t) {
			return nil, tokenErr(ErrTokenNotYetValid, name+" is in the future")
		}
	}
	if v.issuer != "" {
		if iss, _ := claims["iss"].(string); iss != v.issuer {
			return nil, tokenErr(ErrIssuerNotAccepted, "")
		}
	}
	if len(v.audiences) > 0 && !v.audienceOK(claims["aud"]) {
		return nil, tokenErr(ErrAudienceNotAccepted, "")
	}
	sub, ok := claims["sub"].(string)
	if !ok && claims["sub"] != nil {
		return nil, tokenErr(ErrClaimInvalid, "sub is not a string")
	}
	consumer, _ := claims[v.consumerClaim].(string)
	if consumer == "" {
		return nil, tokenErr(ErrClaimInvalid, "the consumer claim is missing or not a string")
	}
	team, ok := claims[v.teamClaim].(string)
	if !ok && claims[v.teamClaim] != nil {
		return nil, tokenErr(ErrClaimInvalid, "the team claim is not a string")
	}
	return &Principal{Subject: sub, Consumer: consumer, Team: team, Claims: claims}, nil
}

// audienceOK reports whether aud (a string or an array of strings) holds
// one of the accepted audiences.
func (v *JWTVerifier) audienceOK(aud any) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(v.audiences, a)
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && slices.Contains(v.audiences, s) {
				return true
			}
		}
	}
	return false
}

// numericDate reads a NumericDate claim: ok is false when it is absent
// (or null), err non-nil when it is not a number. Values beyond ±1e11
// seconds are clamped.
func numericDate(claims map[string]any, name string) (t time.Time, ok bool, err error) {
	raw, present := claims[name]
	if !present || raw == nil {
		return time.Time{}, false, nil
	}
	f, isNum := raw.(float64)
	if !isNum || math.IsNaN(f) {
		return time.Time{}, false, fmt.Errorf("%s is not a number", name)
	}
	const limit = 1e11
	f = max(min(f, limit), -limit)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// BearerToken returns the token of an Authorization header value
// "Bearer <token>" (the scheme in any case), and false for anything else.
func BearerToken(authorization string) (string, bool) {
	const scheme = "bearer "
	if len(authorization) <= len(scheme) || !strings.EqualFold(authorization[:len(scheme)], scheme) {
		return "", false
	}
	tok := strings.TrimSpace(authorization[len(scheme):])
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}
