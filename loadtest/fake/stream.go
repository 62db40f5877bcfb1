package fake

import (
	"bufio"
	"time"

	"github.com/valyala/fasthttp"
)

// stream answers with Config.Chunks SSE content chunks, Config.Gap apart,
// after Config.Delay, then a finish chunk, a usage chunk and [DONE]. Each
// chunk is flushed on its own so the client sees it when it is written.
func (s *Server) stream(ctx *fasthttp.RequestCtx) {
	cfg := s.cfg
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		if cfg.Delay > 0 {
			time.Sleep(cfg.Delay)
		}
		for i := 0; i < cfg.Chunks; i++ {
			if i > 0 && cfg.Gap > 0 {
				time.Sleep(cfg.Gap)
			}
			if _, err := w.Write(ChunkEvent(i)); err != nil {
				return
			}
			if err := w.Flush(); err != nil {
				return // the client has gone
			}
		}
		for _, ev := range [][]byte{finalEvent, usageEvent, doneEvent} {
			if _, err := w.Write(ev); err != nil {
				return
			}
		}
		_ = w.Flush()
	})
}
