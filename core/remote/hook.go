package remote

import (
	"context"

	"github.com/rocketsend/rocketsend/core/codec"
)

// RPCHook observes and may amend every outbound request. BeforeRequest runs before the request
// is encoded, so it can add ext fields (ACL signing does); an error aborts the request with that
// error. AfterResponse runs when the request completes: with the response, or with the error when
// there is none (oneway requests complete with a nil response once written).
//
// AfterResponse runs on the connection's reader goroutine and must not block.
type RPCHook interface {
	BeforeRequest(addr string, req *codec.Command) error
	AfterResponse(addr string, req, resp *codec.Command, err error)
}

// Handler serves a request that a broker initiates on a client connection: transaction
// check-backs and reply pushes. It returns the response to send, or nil to send none (always nil
// for oneway requests). ctx is cancelled when the client closes.
type Handler interface {
	ServeRemoting(ctx context.Context, addr string, req *codec.Command) *codec.Command
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, addr string, req *codec.Command) *codec.Command

// ServeRemoting calls f.
func (f HandlerFunc) ServeRemoting(ctx context.Context, addr string, req *codec.Command) *codec.Command {
	return f(ctx, addr, req)
}
