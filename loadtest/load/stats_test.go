package load

import (
	"testing"
	"time"
)

func TestPercentileAndSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    Dist
	}{
		{name: "empty", samples: nil, want: Dist{}},
		{name: "one", samples: ms(7), want: Dist{Count: 1, Mean: 7, P50: 7, P90: 7, P99: 7, Max: 7}},
		{name: "unsorted ten", samples: ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5),
			want: Dist{Count: 10, Mean: 5.5, P50: 5, P90: 9, P99: 10, Max: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.samples); got != tt.want {
				t.Fatalf("Summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    float64
		wantErr bool
	}{
		{name: "plain", line: "42 (switchyard) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0",
			want: 3.0},
		{name: "name with spaces and parens", line: "7 (a) b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 0 0",
			want: 0.03},
		{name: "malformed", line: "garbage", wantErr: true},
		{name: "short", line: "1 (x) S 1 2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	m := parseStatus([]byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads: 3\n"))
	if m.RSS != 1024*1024 || m.HWM != 2048*1024 {
		t.Fatalf("got %+v", m)
	}
}

func TestChatBody(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{name: "tiny", size: 10},
		{name: "1 KB", size: 1 << 10},
		{name: "256 KB", size: 256 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ChatBody("m", true, tt.size)
			if tt.size > 200 && len(b) != tt.size {
				t.Fatalf("len = %d, want %d", len(b), tt.size)
			}
			if !jsonValid(b) {
				t.Fatalf("invalid JSON: %.100s", b)
			}
		})
	}
}

func TestProcSelf(t *testing.T) {
	pid := osGetpid()
	if _, err := CPUSeconds(pid); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMemory(pid)
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Fatalf("memory %+v, err %v", m, err)
	}
}
