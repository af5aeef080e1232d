// Command policy is a CHECK_FORBIDDEN plugin that rejects sends by topic or tag, or without keys.
//
// Settings: deny_topics=a,b (topic names without namespace), deny_tags=secret,internal,
// require_keys=true|false (default false). Unknown settings reject the configuration.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o policy.wasm .   # a wasm plugin
//	go build -o policy .   # the same code as a process plugin (guest.Serve in main)
package main

import (
	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var pol policy

func init() {
	guest.Register(guest.Plugin{
		Name: "policy", Version: "1.0.0",
		FailurePolicy: hookv1.FailClosed,
		Init: func(c hookv1.HookConfig) (err error) {
			pol, err = parseConfig(c)
			return err
		},
		Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error { return pol.check(v, d) },
	})
}

// main serves the plugin as a process plugin (host.LoadProcess); in the wasm reactor it never runs.
func main() { guest.Serve() }
