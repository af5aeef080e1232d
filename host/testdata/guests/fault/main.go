// Command fault is a misbehaving test guest written against docs/abi.md. Its behaviour is chosen
// by the HookConfig setting "mode": trap (nil dereference, no recover), loop (never returns), oom
// (allocates without bound), garbage (result pointer outside memory), badproto (malformed
// Decision), initfail (hook_init rejects the configuration). Before the mode applies, a view with
// tags "ok" is allowed (so a healthy instance can be checked).
package main

import (
	"os"
	"unsafe"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var (
	scratch []byte
	out     []byte
	mode    string
	view    hookv1.View
	sink    [][]byte
	counter uint64
	nilp    *int
)

func ptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

//go:wasmexport producer_hook_abi_v1
func marker() {}

//go:wasmexport hook_scratch
func hookScratch(n uint32) uint32 {
	if uint32(cap(scratch)) < n {
		scratch = make([]byte, n)
	}
	scratch = scratch[:cap(scratch)]
	return ptr(scratch)
}

//go:wasmexport hook_describe
func hookDescribe() uint64 {
	out = hookv1.AppendHookInfo(out[:0], &hookv1.HookInfo{
		Name: "fault", Version: "1",
		Points: []hookv1.HookPoint{hookv1.PointCheckForbidden, hookv1.PointBeforeSend, hookv1.PointAfterSend, hookv1.PointSelectQueue},
	})
	return hookv1.PackResult(ptr(out), len(out), false)
}

//go:wasmexport hook_init
func hookInit(n uint32) uint32 {
	cfg, err := hookv1.DecodeHookConfig(scratch[:n])
	if err != nil {
		return 1
	}
	mode, _ = cfg.Setting("mode")
	if mode == "initfail" {
		os.Stderr.WriteString("mode initfail: this configuration is refused\n")
		return 7
	}
	return 0
}

//go:wasmexport hook_call
func hookCall(point int32, n uint32) uint64 {
	if view.Reset(scratch[:n]); string(view.Tags()) == "ok" {
		return 0
	}
	switch mode {
	case "trap":
		*nilp = 1
	case "loop":
		for {
			counter++
		}
	case "oom":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "garbage":
		return 0xfff00000<<32 | 100
	case "badproto":
		out = append(out[:0], 0xff, 0xff, 0xff)
		return hookv1.PackResult(ptr(out), len(out), false)
	}
	return 0
}

func main() {}
