// Command good is a test guest written by hand against docs/abi.md (no SDK): it forbids tag
// "blocked", sets properties in BEFORE_SEND, logs in AFTER_SEND and selects a queue.
package main

import (
	"strconv"
	"unsafe"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var (
	scratch []byte
	out     []byte
	view    hookv1.View
	dec     hookv1.DecisionBuilder
	nameBuf = []byte("region")
	valBuf  = make([]byte, 64)
	bodyBuf = make([]byte, 4)
)

//go:wasmimport producer_hook get_property
func getProperty(name, nameLen, buf, limit uint32) int32

//go:wasmimport producer_hook body_read
func bodyRead(off int32, buf, limit uint32) int32

//go:wasmimport producer_hook log
func hostLog(level int32, ptr, n uint32)

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
		Name: "good", Version: "1",
		Points: []hookv1.HookPoint{hookv1.PointCheckForbidden, hookv1.PointBeforeSend, hookv1.PointAfterSend, hookv1.PointSelectQueue},
		Needs:  []hookv1.Need{hookv1.NeedProperties, hookv1.NeedQueues, hookv1.NeedBodyLazy},
		Topics: []string{"orders", "audit"},
		// select_retry (ABI v1 field 9): the host's selector must opt in to reselection.
		SelectRetry: hookv1.SelectRetryReselect,
	})
	return hookv1.PackResult(ptr(out), len(out), false)
}

//go:wasmexport hook_init
func hookInit(n uint32) uint32 { return 0 }

//go:wasmexport hook_call
func hookCall(point int32, n uint32) uint64 {
	if view.Reset(scratch[:n]); view.Validate() != nil {
		return fail(view.Err().Error())
	}
	dec.Reset()
	tags := string(view.Tags())
	switch hookv1.HookPoint(point) {
	case hookv1.PointCheckForbidden:
		if tags == "blocked" {
			dec.Forbid("tag blocked")
		}
	case hookv1.PointBeforeSend:
		switch tags {
		case "error":
			return fail("guest says no")
		case "badedit":
			dec.SetProperty("bad\x01name", "x")
		case "fast":
			return 0
		default:
			dec.SetProperty("plugin", "good")
			if r := getProperty(ptr(nameBuf), uint32(len(nameBuf)), ptr(valBuf), uint32(len(valBuf))); r > 0 {
				dec.SetProperty("region_seen", string(valBuf[:r]))
			}
			if r := bodyRead(0, ptr(bodyBuf), uint32(len(bodyBuf))); r > 0 {
				dec.SetProperty("body_head", string(bodyBuf[:r]))
			}
			if tags == "retag" {
				dec.SetTags("retagged")
				dec.SetKeys("k1 k2")
				dec.ReplaceBody([]byte("new body"))
			}
		}
	case hookv1.PointAfterSend:
		msg := "after status=" + strconv.Itoa(int(view.Status())) + " msgid=" + string(view.MsgID())
		b := []byte(msg)
		hostLog(hookv1.LogInfo, ptr(b), uint32(len(b)))
		return 0
	case hookv1.PointSelectQueue:
		if arg, ok := view.SelectArg(); ok {
			i, err := strconv.Atoi(string(arg))
			if err != nil {
				return 0 // no choice
			}
			dec.SelectQueue(int32(i))
		} else {
			dec.SelectQueue(int32(view.QueueCount()) - 1)
		}
	}
	if dec.Empty() {
		return 0
	}
	out = append(out[:0], dec.Bytes()...)
	return hookv1.PackResult(ptr(out), len(out), false)
}

func fail(s string) uint64 {
	out = append(out[:0], s...)
	return hookv1.PackResult(ptr(out), len(out), true)
}

func main() {}
