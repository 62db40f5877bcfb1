package upstream

import (
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

func TestFailedAmong(t *testing.T) {
	od := &config.OutlierDetection{Consecutive5xx: 1, BaseEjectionTime: config.Duration(time.Minute)}
	tests := []struct {
		name             string
		od               *config.OutlierDetection
		members, ejected int
		want             bool
	}{
		{"first of three", od, 3, 0, true},
		{"second of three is over 50%", od, 3, 1, false},
		{"last of two", od, 2, 1, false},
		{"only one", od, 1, 0, false},
		{"second of four at 50%", od, 4, 1, true},
		{"no outlier detection", nil, 3, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Ejection
			now := Now()
			if got := e.FailedAmong(now, tt.od, tt.members, tt.ejected); got != tt.want {
				t.Errorf("ejected = %v, want %v", got, tt.want)
			}
			if e.Ejected(now) != tt.want {
				t.Errorf("Ejected = %v", e.Ejected(now))
			}
		})
	}
}
