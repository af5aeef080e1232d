// Command badabi exports only a marker of an ABI the host does not know.
package main

//go:wasmexport producer_hook_abi_v9
func marker() {}

//go:wasmexport hook_call
func hookCall(point int32, n uint32) uint64 { return 0 }

func main() {}
