package vertex

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// refBomb is a schema of a few kilobytes whose local $refs, inlined, fan
// out fan ways at each of levels levels ("billion laughs").
func refBomb(levels, fan int) string {
	var defs []string
	for l := 0; l < levels; l++ {
		var props []string
		for f := 0; f < fan; f++ {
			props = append(props, fmt.Sprintf(`"p%d":{"$ref":"#/$defs/d%d"}`, f, l+1))
		}
		defs = append(defs, fmt.Sprintf(`"d%d":{"type":"object","properties":{%s}}`, l, strings.Join(props, ",")))
	}
	defs = append(defs, fmt.Sprintf(`"d%d":{"type":"string"}`, levels))
	return `{"$ref":"#/$defs/d0","$defs":{` + strings.Join(defs, ",") + `}}`
}

func TestConvertSchemaBounded(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "small fan-out inlines", in: refBomb(3, 3)},
		{name: "ref bomb is refused", in: refBomb(9, 12), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := convertSchema(json.RawMessage(tt.in), true)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(out) > 1<<20 {
				t.Errorf("output is %d bytes for an input of %d", len(out), len(tt.in))
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("conversion took %v", d)
			}
		})
	}
}
