// Command zoneaffinity is a queue selector plugin that prefers the queues of the brokers listed in
// its configuration (for example those in the producer's zone), round-robin among them, and falls
// back to all queues (the built-in selector) when none of them is offered.
//
// Settings: brokers=broker-a,broker-b (required).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o zoneaffinity.wasm .   # a wasm plugin
//	go build -o zoneaffinity .   # the same code as a process plugin (guest.Serve in main)
package main

import (
	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var sel *selector

func init() {
	guest.Register(guest.Plugin{
		Name: "zoneaffinity", Version: "1.0.0",
		Needs: []hookv1.Need{hookv1.NeedQueues},
		// Zone affinity does not care about order: a failed attempt may go to another broker,
		// as a send without a selector does. (The default is one attempt, as in Java.)
		SelectRetry: hookv1.SelectRetryReselect,
		Init: func(c hookv1.HookConfig) (err error) {
			sel, err = parseConfig(c)
			return err
		},
		Select: func(v *hookv1.View, d *hookv1.DecisionBuilder) error { return sel.selectQueue(v, d) },
	})
}

// main serves the plugin as a process plugin (host.LoadProcess); in the wasm reactor it never runs.
func main() { guest.Serve() }
