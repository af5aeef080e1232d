//go:build wasip1

package guest

import (
	"math"
	"os"
	"unsafe"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// The exports of docs/abi.md §2. Wasm signatures (Go int32/uint32 = i32, uint64 = i64):
//
//	producer_hook_abi_v1 () -> ()
//	hook_scratch         (min_len i32) -> i32
//	hook_describe        () -> i64
//	hook_init            (cfg_len i32) -> i32
//	hook_call            (point i32, view_len i32) -> i64

//go:wasmexport producer_hook_abi_v1
func abiMarker() {}

//go:wasmexport hook_scratch
func hookScratch(minLen int32) uint32 {
	b := rt.scratchBuf(minLen)
	if len(b) == 0 {
		return 0
	}
	return addr(b)
}

//go:wasmexport hook_describe
func hookDescribe() uint64 { return pack(rt.describe()) }

//go:wasmexport hook_init
func hookInit(cfgLen int32) int32 { return rt.initConfig(cfgLen) }

//go:wasmexport hook_call
func hookCall(point, viewLen int32) uint64 { return pack(rt.call(point, viewLen)) }

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// pack turns a result into ptr<<32|len (bit 31 for errors); an empty non-error result is 0.
func pack(b []byte, isErr bool) uint64 {
	if len(b) == 0 && !isErr {
		return 0
	}
	return hookv1.PackResult(addr(b), len(b), isErr)
}

func reportInitError(name string, err error) {
	// Outside hook_call the log import drops messages; stderr is the host's only other channel.
	os.Stderr.WriteString("plugin " + name + ": hook_init: " + err.Error() + "\n")
}

// The imports of docs/abi.md §3 (module producer_hook).

//go:wasmimport producer_hook body_len
func hostBodyLen() int32

//go:wasmimport producer_hook body_read
func hostBodyRead(off int32, buf unsafe.Pointer, limit int32) int32

//go:wasmimport producer_hook get_property
func hostGetProperty(name unsafe.Pointer, nameLen int32, buf unsafe.Pointer, limit int32) int32

//go:wasmimport producer_hook log_enabled
func hostLogEnabled(level int32) int32

//go:wasmimport producer_hook log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

// BodyLen returns the body length (body_len); 0 when unavailable.
func BodyLen() int { return int(hostBodyLen()) }

// ReadBody copies body bytes from off into buf (body_read) and returns the count: 0 at or past the
// end, -1 when the body is unavailable (no NEED_BODY_* declared, outside hook_call) or off < 0.
func ReadBody(off int, buf []byte) int {
	if off < 0 || off > math.MaxInt32 {
		return -1
	}
	limit := min(len(buf), math.MaxInt32)
	return int(hostBodyRead(int32(off), unsafe.Pointer(unsafe.SliceData(buf)), int32(limit)))
}

// getProperty calls get_property: -1 if absent, else the value's length (written only if it fits).
func getProperty(name string, buf []byte) int {
	limit := min(len(buf), math.MaxInt32)
	return int(hostGetProperty(unsafe.Pointer(unsafe.StringData(name)), int32(len(name)),
		unsafe.Pointer(unsafe.SliceData(buf)), int32(limit)))
}

// LogEnabled reports whether the host would log a message at level (log_enabled).
func LogEnabled(level int32) bool { return hostLogEnabled(level) == 1 }

// Log logs msg at level (hookv1.LogTrace .. hookv1.LogError) through the host's logger for this
// plugin. Outside hook_call the message is dropped.
func Log(level int32, msg string) {
	n := min(len(msg), math.MaxInt32)
	hostLog(level, unsafe.Pointer(unsafe.StringData(msg)), int32(n))
}
