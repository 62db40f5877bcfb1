package ai

import (
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestDuplicateMembersRefused checks that a body naming model or stream twice
// is refused: the front end routes on the last occurrence, while sjson's
// model rewrite and the openai translator's stream lookup read the first, so
// the upstream could be asked for another model, or stream unmetered.
func TestDuplicateMembersRefused(t *testing.T) {
	msgs := `"messages":[{"role":"user"}]`
	tests := []struct {
		name  string
		body  string
		param string // "" when the body is accepted
	}{
		{name: "one model", body: `{"model":"a",` + msgs + `}`},
		{name: "model twice", body: `{"model":"a","model":"b",` + msgs + `}`, param: "model"},
		{name: "model twice, escaped key", body: `{"model":"a","mod\u0065l":"b",` + msgs + `}`, param: "model"},
		{name: "stream twice", body: `{"model":"a","stream":false,"stream":true,` + msgs + `}`, param: "stream"},
		{name: "model in a message is not a duplicate", body: `{"model":"a","messages":[{"role":"user","model":"b"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []func([]byte, schema.Operation) (reqInfo, *schema.Error){
				func(b []byte, op schema.Operation) (reqInfo, *schema.Error) { return inspect(b, op, 0) },
				inspectSlow,
			} {
				_, err := f([]byte(tt.body), schema.OpChat)
				switch {
				case tt.param == "" && err != nil:
					t.Errorf("refused: %v", err)
				case tt.param != "" && err == nil:
					t.Errorf("accepted, want a 400 on %s", tt.param)
				case tt.param != "" && (err.Param != tt.param || err.Status != 400):
					t.Errorf("error %+v, want a 400 on %s", err, tt.param)
				}
			}
			checkAgainstSlow(t, []byte(tt.body), schema.OpChat)
		})
	}
}
