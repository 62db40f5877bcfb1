package ai

import "github.com/switchyard-ai/switchyard/providers/schema"

// errClientClosed is the error of a request whose client closed its
// connection before the response began (status 499, never failed over).
func errClientClosed() *schema.Error {
	return &schema.Error{Status: statusClientClosed, Type: schema.ErrInvalidRequest,
		Message: "the client closed the connection before the response began"}
}
