package host

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Load-time checks shared by the back ends: what a module exports and what a plugin declares must
// match docs/abi.md before it is trusted with a send. A hook_call of the wrong type would be called
// with whatever its parameters happen to be, and an (i32)->i32 export returning 0 reads as "allow,
// no change" to every call: both are refused with a clear error rather than loaded.

// abiExports are the signatures of ABI v1's exports (docs/abi.md §2).
var abiExports = []struct {
	name            string
	params, results []api.ValueType
}{
	{hookv1.ExportMarker, nil, nil},
	{hookv1.ExportScratch, []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	{hookv1.ExportDescribe, nil, []api.ValueType{api.ValueTypeI64}},
	{hookv1.ExportInit, []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	{hookv1.ExportCall, []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI64}},
	{"_initialize", nil, nil}, // optional
}

// checkExports checks the presence (all but _initialize) and the signature of the ABI's exports.
func checkExports(exports map[string]api.FunctionDefinition) error {
	for _, want := range abiExports {
		def, ok := exports[want.name]
		if !ok {
			if want.name == "_initialize" {
				continue
			}
			return fmt.Errorf("missing export %s", want.name)
		}
		if !slices.Equal(def.ParamTypes(), want.params) || !slices.Equal(def.ResultTypes(), want.results) {
			return fmt.Errorf("export %s has type %s, the ABI requires %s", want.name,
				sigString(def.ParamTypes(), def.ResultTypes()), sigString(want.params, want.results))
		}
	}
	return nil
}

func sigString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		var s []string
		for _, t := range ts {
			s = append(s, api.ValueTypeName(t))
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}

// knownPoints are the hook points this host calls.
var knownPoints = []hookv1.HookPoint{hookv1.PointBeforeSend, hookv1.PointAfterSend, hookv1.PointCheckForbidden, hookv1.PointSelectQueue}

// checkInfo refuses a plugin that declares no hook point this host knows: it would load, cost a
// process or instances, and never be called, which is almost certainly a mistake in its
// HookInfo.points.
func checkInfo(info hookv1.HookInfo) error {
	for _, pt := range knownPoints {
		if info.Has(pt) {
			return nil
		}
	}
	if len(info.Points) == 0 {
		return fmt.Errorf("the plugin declares no hook points (HookInfo.points is empty): it would never be called")
	}
	return fmt.Errorf("the plugin declares only hook points this host does not know (%v): it would never be called", info.Points)
}
