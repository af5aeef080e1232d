//go:build !wasip1

package guest

import (
	"errors"
	"sync"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// This file serves the package on platforms other than wasip1: there are no exports, and the host
// imports are answered by an importer: a FakeHost in tests on the build machine (the Simulate
// functions drive the registered plugin exactly as the host would through the exports), or the
// process transport's importer when the plugin runs as a process (Serve, serve.go).

// FakeHost answers the producer_hook imports off wasm. As with the real host, they answer only
// during a (simulated) hook_call; elsewhere they return the "not available" values.
type FakeHost struct {
	Body       []byte
	BodyDenied bool // body_read returns -1, as without NEED_BODY_*
	Properties map[string]string
	MinLevel   int32 // log_enabled(level) is level >= MinLevel
	Logs       []LogRecord
	InitErrors []string // hook_init rejections, as the wasm guest writes them to stderr
}

// LogRecord is one message passed to the log import.
type LogRecord struct {
	Level int32
	Msg   string
}

// importer answers the producer_hook imports during a call.
type importer interface {
	// body returns the message body, or ok false when it is not available to the plugin.
	body() (b []byte, ok bool)
	property(name string) (string, bool)
	logEnabled(level int32) bool
	log(level int32, msg string)
	initError(msg string)
}

var (
	fakeMu sync.Mutex
	fake   *FakeHost
	imp    importer // the process transport's importer, when serving
)

// SetFakeHost installs h as the host of the imports (nil: none, every import "not available").
// Not available on wasip1.
func SetFakeHost(h *FakeHost) {
	fakeMu.Lock()
	fake = h
	fakeMu.Unlock()
}

// host returns the importer of the current call, or nil outside a call.
func host() importer {
	if !rt.inCall {
		return nil
	}
	if imp != nil {
		return imp
	}
	if fake != nil {
		return fake
	}
	return nil
}

func (h *FakeHost) body() ([]byte, bool) { return h.Body, !h.BodyDenied }

func (h *FakeHost) property(name string) (string, bool) {
	v, ok := h.Properties[name]
	return v, ok
}

func (h *FakeHost) logEnabled(level int32) bool { return level >= h.MinLevel }

func (h *FakeHost) log(level int32, msg string) { h.Logs = append(h.Logs, LogRecord{level, msg}) }

func (h *FakeHost) initError(msg string) { h.InitErrors = append(h.InitErrors, msg) }

// SimulateDescribe runs hook_describe: the HookInfo bytes, or the error text as an error.
func SimulateDescribe() ([]byte, error) {
	b, isErr := rt.describe()
	if isErr {
		return nil, errors.New(string(b))
	}
	return append([]byte(nil), b...), nil
}

// SimulateInit runs hook_init with the encoded HookConfig cfg (nil: no configuration) written into
// the scratch buffer, and returns its result (0 = accepted).
func SimulateInit(cfg []byte) int32 {
	s := rt.scratchBuf(int32(len(cfg)))
	copy(s, cfg)
	return rt.initConfig(int32(len(cfg)))
}

// SimulateCall runs hook_call(point, len(view)) with view written into the scratch buffer. It
// returns the Decision bytes (nil for the 0 result, "allow, no change"), or the error text as an
// error. The bytes alias the guest's result buffer until the next call.
func SimulateCall(point hookv1.HookPoint, view []byte) ([]byte, error) {
	s := rt.scratchBuf(int32(len(view)))
	copy(s, view)
	b, isErr := rt.call(int32(point), int32(len(view)))
	if isErr {
		return nil, errors.New(string(b))
	}
	return b, nil
}

func reportInitError(name string, err error) {
	msg := "plugin " + name + ": hook_init: " + err.Error()
	if imp != nil {
		imp.initError(msg)
		return
	}
	fakeMu.Lock()
	defer fakeMu.Unlock()
	if fake != nil {
		fake.initError(msg)
	}
}

// BodyLen returns the body length (body_len); 0 when unavailable.
func BodyLen() int {
	h := host()
	if h == nil {
		return 0
	}
	b, ok := h.body()
	if !ok {
		return 0
	}
	return len(b)
}

// ReadBody copies body bytes from off into buf (body_read) and returns the count: 0 at or past the
// end, -1 when the body is unavailable (no NEED_BODY_* declared, outside hook_call) or off < 0.
func ReadBody(off int, buf []byte) int {
	h := host()
	if h == nil || off < 0 {
		return -1
	}
	b, ok := h.body()
	if !ok {
		return -1
	}
	if off >= len(b) {
		return 0
	}
	return copy(buf, b[off:])
}

func getProperty(name string, buf []byte) int {
	h := host()
	if h == nil {
		return -1
	}
	v, ok := h.property(name)
	if !ok {
		return -1
	}
	if len(v) <= len(buf) {
		copy(buf, v)
	}
	return len(v)
}

// LogEnabled reports whether the host would log a message at level (log_enabled).
func LogEnabled(level int32) bool {
	h := host()
	return h != nil && h.logEnabled(level)
}

// Log logs msg at level (hookv1.LogTrace .. hookv1.LogError) through the host's logger for this
// plugin. Outside hook_call the message is dropped.
func Log(level int32, msg string) {
	if h := host(); h != nil {
		h.log(level, msg)
	}
}
