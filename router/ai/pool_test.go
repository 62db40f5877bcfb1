package ai

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
	"github.com/switchyard-ai/switchyard/policies"
)

// TestPoolSelector: the pool's picker as an upstream.Selector returns the
// indexes of the endpoints the picker listed, in its order, and nothing when
// the picker answers for the pool.
func TestPoolSelector(t *testing.T) {
	eps := []string{"10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000"}
	tests := []struct {
		name   string
		answer eppfake.Answer
		want   []int
	}{
		{name: "ordered", answer: eppfake.Answer{Endpoints: []string{eps[2], eps[0]}}, want: []int{2, 0}},
		{name: "one", answer: eppfake.Answer{Endpoints: eps[1:2]}, want: []int{1}},
		{name: "shed", answer: eppfake.Answer{Immediate: 429}, want: []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := eppfake.Start(t, &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return tt.answer }}, nil)
			p, err := inference.New("default/pool", &config.InferencePool{Endpoints: eps,
				EndpointPicker: &config.EndpointPicker{Address: addr, Timeout: config.Duration(2 * time.Second)}}, inference.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got := poolSelector{p}.Select(context.Background(), &policies.Exchange{Body: []byte(`{"model":"m"}`)}, make([]int, 0, 4))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Select = %v, want %v", got, tt.want)
			}
		})
	}
}
