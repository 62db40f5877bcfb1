package ai

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// serveModels answers GET /v1/models (id == "") or GET /v1/models/{id}.
func (h *ruleHandler) serveModels(ctx *fasthttp.RequestCtx, id string) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET")
		writeError(ctx, &schema.Error{Status: fasthttp.StatusMethodNotAllowed, Type: schema.ErrInvalidRequest,
			Message: "method " + string(ctx.Method()) + " is not allowed on " + string(ctx.Path()) + ": use GET"})
		return
	}
	models := h.Models()
	var out []byte
	if id != "" {
		found := false
		for _, m := range models {
			if m == id {
				found = true
				break
			}
		}
		if !found {
			writeError(ctx, modelNotFound(id))
			return
		}
		out = appendModel(nil, id)
	} else {
		out = append(out, `{"object":"list","data":[`...)
		for i, m := range models {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendModel(out, m)
		}
		out = append(out, "]}"...)
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}

func appendModel(dst []byte, id string) []byte {
	dst = append(dst, `{"id":`...)
	q, _ := json.Marshal(id) // a string always marshals
	dst = append(dst, q...)
	return append(dst, `,"object":"model","created":0,"owned_by":"switchyard"}`...)
}
