package engine

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestRequestContext: an Exchange's context carries the deadline, ends when
// it passes or when the client goes, and costs no channel until asked.
func TestRequestContext(t *testing.T) {
	tests := []struct {
		name      string
		deadline  time.Duration // 0: none
		gone      bool
		doneEarly bool // ask for Done before the event
		wantErr   error
	}{
		{name: "no deadline, client stays", wantErr: nil},
		{name: "client goes", gone: true, wantErr: context.Canceled},
		{name: "client goes, Done asked first", gone: true, doneEarly: true, wantErr: context.Canceled},
		{name: "deadline passes", deadline: 20 * time.Millisecond, wantErr: context.DeadlineExceeded},
		{name: "deadline passes, Done asked first", deadline: 20 * time.Millisecond, doneEarly: true, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rc fasthttp.RequestCtx
			ex := Acquire(&rc, "id", nil)
			defer func() { ex.Finish(ex.Usage); Release(ex) }()
			if tt.deadline > 0 {
				ex.SetDeadline(time.Now().Add(tt.deadline))
			}
			ctx := ex.Context()
			if _, ok := ctx.Deadline(); ok != (tt.deadline > 0) {
				t.Fatalf("Deadline set = %v", ok)
			}
			var done <-chan struct{}
			if tt.doneEarly {
				done = ctx.Done()
			}
			if tt.gone {
				ex.ClientGone()
			}
			time.Sleep(2 * tt.deadline)
			if err := ctx.Err(); err != tt.wantErr {
				t.Fatalf("Err = %v, want %v", err, tt.wantErr)
			}
			if done == nil {
				done = ctx.Done()
			}
			select {
			case <-done:
				if tt.wantErr == nil {
					t.Fatal("Done closed with no cause")
				}
			case <-time.After(50 * time.Millisecond):
				if tt.wantErr != nil {
					t.Fatal("Done not closed")
				}
			}
		})
	}
}
