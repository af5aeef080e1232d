// Package guest is the Go guest SDK of rocketsend's wasm plugin ABI v1 (docs/abi.md): a plugin
// author writes plain Go functions, registers them once from init(), and this package provides the
// wasm exports (producer_hook_abi_v1, hook_scratch, hook_describe, hook_init, hook_call) and
// wrappers of the producer_hook host imports (BodyLen, ReadBody, Body, Property, Log, Logf).
//
//	package main
//
//	import (
//		"github.com/rocketsend/rocketsend/sdk/guest"
//		"github.com/rocketsend/rocketsend/sdk/hookv1"
//	)
//
//	func init() {
//		guest.Register(guest.Plugin{
//			Name: "policy", Version: "1.0.0",
//			Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
//				if len(v.Keys()) == 0 {
//					d.Forbid("KEYS is required")
//				}
//				return nil
//			},
//		})
//	}
//
//	func main() {} // never runs: the module is a reactor
//
// Build a plugin as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// Registration must happen in init(): in a reactor (-buildmode=c-shared) the host runs
// _initialize, which runs the package initialisers but never main.
//
// The exports follow docs/abi.md exactly. Per instance the package keeps one scratch buffer (grown on
// demand, referenced from a global so the collector keeps it), one hookv1.View, one
// hookv1.DecisionBuilder and one result buffer, all reused across calls: a hook that only reads
// metadata and returns a small Decision does not allocate in the SDK. hook_call returns 0 when the
// plugin function leaves the builder empty ("allow, no change"). A plugin function that returns an
// error, or panics, produces an error result (bit 31 of the length) with the error text; a panic never
// escapes an export (an escaping Go panic would trap the instance).
//
// The Topics, Needs, FailurePolicy and TimeoutUs fields of Plugin are reported to the host in the
// HookInfo; the host filters topics and grants capabilities (NEED_BODY_LAZY or NEED_BODY_EAGER for
// ReadBody/Body, NEED_PROPERTIES to receive the properties in the view, NEED_QUEUES to receive the
// offered queues at SELECT_QUEUE). The points declared are those whose function is set.
//
// Host imports are valid only during hook_call; from Init they return the "not available" values
// (BodyLen 0, ReadBody -1, Property absent, logs dropped).
//
// Built for any platform other than wasip1 (tests on the build machine), the package has no exports
// and the imports are served by a FakeHost; Simulate* functions drive the registered plugin exactly as
// the exports would (see other.go).
package guest
