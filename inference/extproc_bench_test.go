package inference

import (
	"context"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
)

// BenchmarkExternalPick is one request's whole exchange with an external
// picker (an in-process eppfake over loopback gRPC): request headers and
// body, the decision and body back, the served report and its answer, the
// stream's end. The SDK-shaped chat body of the load tests.
func BenchmarkExternalPick(b *testing.B) {
	for _, par := range []struct {
		name     string
		parallel bool
	}{{"c1", false}, {"c64", true}} {
		b.Run(par.name, func(b *testing.B) {
			p := &eppfake.Picker{NoRecord: true, Choose: func(eppfake.Seen) eppfake.Answer {
				return eppfake.Answer{Endpoints: poolEndpoints[:1]}
			}}
			pool := newTestPool(b, eppfake.Start(b, p, nil), "FailClose", nil)
			body := `{"messages":[{"role":"system","content":"You are a helpful assistant."},` +
				`{"role":"user","content":"Say this is a test"}],"model":"gpt-4o-mini","max_tokens":16,"stream":false}`
			one := func() {
				d, err := pool.Pick(context.Background(), chatRequest(body))
				if err != nil || len(d.Endpoints) == 0 {
					b.Fatalf("pick: %v", err)
				}
				if hs := d.Served(context.Background(), d.Endpoints[0], 200, "application/json"); len(hs) == 0 {
					b.Fatal("no served answer")
				}
				d.Close()
			}
			b.ReportAllocs()
			if !par.parallel {
				for b.Loop() {
					one()
				}
				return
			}
			b.SetParallelism(64)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					one()
				}
			})
		})
	}
}
