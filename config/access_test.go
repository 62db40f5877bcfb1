package config

import (
	"strings"
	"testing"
)

// TestAccessErrors checks that every mistake in the access block and the
// metering policies is reported with its file, line and field.
func TestAccessErrors(t *testing.T) {
	route := okListener + "routes:\n  - name: r\n    policies:\n%s    rules: [{backendRefs: [{name: app}]}]\n" + okBackend
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "key without value or hash, short key, bad hash",
			yaml: "access:\n  consumers:\n    - name: a\n      keys:\n        - {id: k1}\n        - {value: short}\n        - {hash: md5:abc}\n",
			want: []string{
				`t.yaml:5: access.consumers[0].keys[0]: a key needs value or hash`,
				`t.yaml:6: access.consumers[0].keys[1].value: a key must be at least 16 characters long`,
				`t.yaml:7: access.consumers[0].keys[2].hash: hash must be sha256: followed by 64 hex digits`,
			},
		},
		{
			name: "duplicate consumer and key",
			yaml: "access:\n  consumers:\n    - {name: a, keys: [{value: 0123456789abcdef}]}\n    - {name: a, keys: [{value: 0123456789abcdef}]}\n",
			want: []string{
				`t.yaml:4: access.consumers[1].name: duplicate consumer "a"`,
				`t.yaml:4: access.consumers[1].keys[0]: the same key is declared twice (also access.consumers[0].keys[0])`,
			},
		},
		{
			name: "bad limit",
			yaml: "access:\n  consumers:\n    - name: a\n      limits:\n        - {per: fortnight, tokenType: some, by: [model]}\n",
			want: []string{
				`t.yaml:5: access.consumers[0].limits[0]: a limit needs requests or tokens`,
				`t.yaml:5: access.consumers[0].limits[0].per: per "fortnight": use second, minute, hour, day or a positive duration such as 10s`,
				`t.yaml:5: access.consumers[0].limits[0].tokenType: tokenType "some": use total, input or output`,
				`t.yaml:5: access.consumers[0].limits[0].by: by applies to a route's rateLimits; a limit here counts its own subject`,
			},
		},
		{
			name: "bad budget",
			yaml: "access:\n  teams:\n    - name: t\n      budgets:\n        - {usd: 5, tokens: 10, period: year, timeZone: Mars/Olympus, onExceeded: Warn}\n",
			want: []string{
				`t.yaml:5: access.teams[0].budgets[0]: a budget needs usd or tokens (one of the two, positive)`,
				`t.yaml:5: access.teams[0].budgets[0].period: period "year": use day, week or month`,
				`t.yaml:5: access.teams[0].budgets[0].timeZone: unknown time zone "Mars/Olympus"`,
				`t.yaml:5: access.teams[0].budgets[0].onExceeded: onExceeded "Warn": use Block or Audit`,
			},
		},
		{
			name: "bad store",
			yaml: "access:\n  store:\n    redis: {address: 127.0.0.1:6379, failureMode: Maybe}\n",
			want: []string{`t.yaml:3: access.store.redis.failureMode: failureMode "Maybe": use FailOpen or FailClose`},
		},
		{
			name: "client auth without a method",
			yaml: strings.Replace(route, "%s", "      clientAuth: {optional: true}\n", 1),
			want: []string{`t.yaml:6: routes[0].policies.clientAuth: clientAuth needs apiKeys, jwt or both`},
		},
		{
			name: "jwt with both jwks sources and HMAC",
			yaml: strings.Replace(route, "%s", "      clientAuth:\n        jwt: {jwks: {url: https://idp/jwks, file: k.json}, algorithms: [HS256]}\n", 1),
			want: []string{
				`t.yaml:7: routes[0].policies.clientAuth.jwt.jwks: set jwks.url or jwks.file (one of the two)`,
				`t.yaml:7: routes[0].policies.clientAuth.jwt.algorithms[0]: algorithm "HS256" is not allowed: use an asymmetric one (RS*, PS*, ES*, EdDSA); none and HMAC are refused`,
			},
		},
		{
			name: "route rate limit by an unknown subject",
			yaml: strings.Replace(route, "%s", "      rateLimits: [{requests: 5, per: minute, by: [ip]}]\n", 1),
			want: []string{`t.yaml:6: routes[0].policies.rateLimits[0].by[0]: by "ip": use key, consumer, team, model, route`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("t.yaml", []byte(tt.yaml), envOf(nil))
			errs, ok := err.(Errors)
			if !ok {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			if got := strings.Split(errs.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
