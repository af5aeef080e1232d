// Command tracing is a BEFORE_SEND/AFTER_SEND plugin: before each attempt it stamps the properties
// trace_id (plugin name and a per-instance counter; kept when already present) and traced_by, and
// after each attempt it logs the latency and outcome through the host logger.
//
// Settings: name=<prefix> (default "tracing"), log_level=trace|debug|info|warn|error (default info).
//
// The trace id is unique per instance only (name-counter): the sandbox has no randomness to spare
// and the host pools several instances; it is an example, not a distributed tracer.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o tracing.wasm .   # a wasm plugin
//	go build -o tracing .   # the same code as a process plugin (guest.Serve in main)
package main

import (
	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

const pluginName = "tracing"

var tr = &tracer{name: pluginName, level: hookv1.LogInfo}

func init() {
	guest.Register(guest.Plugin{
		Name: pluginName, Version: "1.0.0",
		FailurePolicy: hookv1.FailOpen,
		Init: func(c hookv1.HookConfig) (err error) {
			tr, err = parseConfig(c, pluginName)
			return err
		},
		Before: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			return tr.before(v, d, guest.Property)
		},
		After: func(v *hookv1.View) {
			if !guest.LogEnabled(tr.level) {
				return
			}
			id, _ := guest.Property(propTraceID)
			guest.Log(tr.level, tr.afterLine(v, id))
		},
	})
}

// main serves the plugin as a process plugin (host.LoadProcess); in the wasm reactor it never runs.
func main() { guest.Serve() }
