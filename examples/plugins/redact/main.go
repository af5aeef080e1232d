// Command redact is a BEFORE_SEND plugin that masks card-number-like runs of digits in the message
// body (reading it through body_len/body_read) and sets the property redacted=true when it changed
// something.
//
// Settings: min_digits=<n> (default 12), mask=<char> (default *).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o redact.wasm .   # a wasm plugin
//	go build -o redact .   # the same code as a process plugin (guest.Serve in main)
package main

import (
	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var red = &redactor{minDigits: 12, mask: '*'}

func init() {
	guest.Register(guest.Plugin{
		Name: "redact", Version: "1.0.0",
		Needs: []hookv1.Need{hookv1.NeedBodyLazy},
		Init: func(c hookv1.HookConfig) (err error) {
			red, err = parseConfig(c)
			return err
		},
		Before: func(v *hookv1.View, d *hookv1.DecisionBuilder) error { return red.before(v, d, guest.Body) },
	})
}

// main serves the plugin as a process plugin (host.LoadProcess); in the wasm reactor it never runs.
func main() { guest.Serve() }
