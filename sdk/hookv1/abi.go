package hookv1

// Names of the wasm ABI v1 (docs/abi.md).
const (
	// ExportMarker is the function a v1 guest exports (no parameters, no results); the host refuses
	// modules without a marker it knows.
	ExportMarker = "producer_hook_abi_v1"
	// ExportScratch: hook_scratch(min_len i32) -> i32, a pointer to a guest-owned buffer of at
	// least min_len bytes.
	ExportScratch = "hook_scratch"
	// ExportDescribe: hook_describe() -> i64, the packed result of a HookInfo.
	ExportDescribe = "hook_describe"
	// ExportInit: hook_init(cfg_len i32) -> i32, with a HookConfig in the scratch buffer; 0 = ok.
	ExportInit = "hook_init"
	// ExportCall: hook_call(point i32, view_len i32) -> i64, with a MessageView in the scratch
	// buffer; 0 = allow with no change, otherwise the packed result of a Decision.
	ExportCall = "hook_call"

	// ImportModule is the module name of the host functions.
	ImportModule = "producer_hook"
	// ImportBodyLen: body_len() -> i32.
	ImportBodyLen = "body_len"
	// ImportBodyRead: body_read(off i32, buf i32, limit i32) -> i32.
	ImportBodyRead = "body_read"
	// ImportGetProperty: get_property(name i32, name_len i32, buf i32, limit i32) -> i32.
	ImportGetProperty = "get_property"
	// ImportLogEnabled: log_enabled(level i32) -> i32.
	ImportLogEnabled = "log_enabled"
	// ImportLog: log(level i32, ptr i32, len i32).
	ImportLog = "log"
)

// Log levels of the log and log_enabled imports (hclog's order).
const (
	LogTrace int32 = 1
	LogDebug int32 = 2
	LogInfo  int32 = 3
	LogWarn  int32 = 4
	LogError int32 = 5
)

// ErrorBit is bit 31 of the length half of a packed result: the bytes are UTF-8 error text, not a
// Decision or HookInfo.
const ErrorBit = 1 << 31

// MaxResultLen is the largest length a packed result can carry (31 bits).
const MaxResultLen = 1<<31 - 1

// PackResult packs a guest result: ptr<<32 | len, with bit 31 of len set when isErr. A zero
// length with a zero pointer is 0, the "allow, no change" result. PackResult panics if n does not
// fit in 31 bits.
func PackResult(ptr uint32, n int, isErr bool) uint64 {
	if n < 0 || n > MaxResultLen {
		panic("hookv1: result length does not fit in 31 bits")
	}
	r := uint64(ptr)<<32 | uint64(n)
	if isErr {
		r |= ErrorBit
	}
	return r
}

// UnpackResult splits a packed guest result. It is 0 for "allow, no change" (noop true).
func UnpackResult(r uint64) (ptr uint32, n uint32, isErr bool, noop bool) {
	if r == 0 {
		return 0, 0, false, true
	}
	return uint32(r >> 32), uint32(r) &^ ErrorBit, r&ErrorBit != 0, false
}
