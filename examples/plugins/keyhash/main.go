// Command keyhash is an ordered queue selector plugin: messages with the same key go to the same
// queue, chosen exactly as RocketMQ Java's SelectMessageQueueByHash (String.hashCode % n, negated
// when negative). The key is the send's select arg, or the message's first key.
//
// Settings: source=auto|arg|keys (default auto: the select arg when present, else the first key).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o keyhash.wasm .   # a wasm plugin
//	go build -o keyhash .   # the same code as a process plugin (guest.Serve in main)
package main

import (
	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var cfg = config{source: sourceAuto}

func init() {
	guest.Register(guest.Plugin{
		Name: "keyhash", Version: "1.0.0",
		// The choice depends only on the key: an ordered send, made once (as Java makes selector
		// sends) so that a retry never stores a key's message twice or out of order.
		ConsistentSelect: true,
		Init: func(c hookv1.HookConfig) (err error) {
			cfg, err = parseConfig(c)
			return err
		},
		Select: func(v *hookv1.View, d *hookv1.DecisionBuilder) error { return cfg.selectQueue(v, d) },
	})
}

// main serves the plugin as a process plugin (host.LoadProcess); in the wasm reactor it never runs.
func main() { guest.Serve() }
