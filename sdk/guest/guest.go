package guest

import (
	"fmt"
	"strings"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Plugin describes a plugin: its identity, what it needs from the host and the functions it
// implements. A nil function is a point the plugin does not implement (the host never calls it).
type Plugin struct {
	Name, Version string
	// Topics restricts the calls to these topics (without namespace); empty means all topics.
	Topics []string
	// Needs are the capabilities the plugin asks for (hookv1.NeedProperties, NeedQueues,
	// NeedBodyLazy, NeedBodyEager).
	Needs []hookv1.Need
	// FailurePolicy and TimeoutUs are hints; the host configuration overrides them.
	FailurePolicy hookv1.FailurePolicy
	TimeoutUs     uint32
	// ConsistentSelect declares that Select depends only on the message and the offered queues
	// (a key hash): the producer treats the send as an ordered one.
	ConsistentSelect bool
	// SelectRetry declares what a failed attempt of a send this plugin routed may do: by default
	// (hookv1.SelectRetryNever) it is sent once, as Java sends selector sends;
	// hookv1.SelectRetrySameQueue retries on the chosen queue, hookv1.SelectRetryReselect asks
	// Select again without the failed broker's queues.
	SelectRetry hookv1.SelectRetry

	// Init receives the plugin's configuration once per instance, before any call. An error
	// rejects the configuration (the plugin is not loaded).
	Init func(cfg hookv1.HookConfig) error
	// Before runs at BEFORE_SEND: may edit properties, tags, keys and the body, or forbid.
	Before func(v *hookv1.View, d *hookv1.DecisionBuilder) error
	// After runs at AFTER_SEND: observes the attempt's outcome.
	After func(v *hookv1.View)
	// Forbidden runs at CHECK_FORBIDDEN: d.Forbid(reason) rejects the send.
	Forbidden func(v *hookv1.View, d *hookv1.DecisionBuilder) error
	// Select runs at SELECT_QUEUE: d.SelectQueue(i) picks the i-th offered queue; leaving d empty
	// lets the built-in selector decide.
	Select func(v *hookv1.View, d *hookv1.DecisionBuilder) error
}

// Points returns the hook points p implements, in HookPoint order.
func (p *Plugin) Points() []hookv1.HookPoint {
	var pts []hookv1.HookPoint
	if p.Before != nil {
		pts = append(pts, hookv1.PointBeforeSend)
	}
	if p.After != nil {
		pts = append(pts, hookv1.PointAfterSend)
	}
	if p.Forbidden != nil {
		pts = append(pts, hookv1.PointCheckForbidden)
	}
	if p.Select != nil {
		pts = append(pts, hookv1.PointSelectQueue)
	}
	return pts
}

// Register makes p the module's plugin. Call it exactly once, from init(). Mistakes (a second
// Register, a missing name, no function) are reported to the host by hook_describe, which then fails
// the plugin's loading with the text; Register itself never panics (a panic in a reactor's
// initialisation would trap _initialize with no explanation).
func Register(p Plugin) {
	rt.register(p)
}

// maxErrText caps the error text returned to the host.
const maxErrText = 4096

// minScratch is the smallest scratch buffer handed out, so the pointer is never 0.
const minScratch = 4096

// runtime is the per-instance state behind the exports. It is portable so that it can be tested
// on the build machine; the wasip1 files only convert pointers.
type runtime struct {
	plugin  *Plugin
	regErr  string
	scratch []byte
	view    hookv1.View
	dec     hookv1.DecisionBuilder
	out     []byte // HookInfo or error text
	inCall  bool   // imports are valid
}

var rt runtime

func (r *runtime) register(p Plugin) {
	switch {
	case r.plugin != nil || r.regErr != "":
		if r.regErr == "" {
			r.regErr = "guest: Register called more than once (plugin " + r.plugin.Name + " and " + p.Name + ")"
		}
		return
	case p.Name == "":
		r.regErr = "guest: Register: Plugin.Name is empty"
		return
	case p.Before == nil && p.After == nil && p.Forbidden == nil && p.Select == nil:
		r.regErr = "guest: Register: plugin " + p.Name + " implements no hook point (Before, After, Forbidden, Select are all nil)"
		return
	}
	r.plugin = &p
}

// scratchBuf implements hook_scratch: it returns a buffer of at least min bytes, reusing the
// current one when it is large enough, or nil when it cannot (min negative).
func (r *runtime) scratchBuf(min int32) []byte {
	if min < 0 {
		return nil
	}
	if int(min) > cap(r.scratch) || cap(r.scratch) == 0 {
		n := max(int(min), minScratch, 2*cap(r.scratch))
		if n > hookv1.MaxResultLen {
			n = int(min)
		}
		r.scratch = make([]byte, n)
	}
	return r.scratch[:cap(r.scratch)]
}

// errResult writes an error text into the result buffer and returns it.
func (r *runtime) errResult(msg string) ([]byte, bool) {
	if msg == "" {
		msg = "error"
	}
	if len(msg) > maxErrText {
		msg = msg[:maxErrText]
	}
	r.out = append(r.out[:0], msg...)
	return r.out, true
}

// describe implements hook_describe: the HookInfo of the registered plugin, or an error text.
func (r *runtime) describe() (b []byte, isErr bool) {
	if r.regErr != "" {
		return r.errResult(r.regErr)
	}
	p := r.plugin
	if p == nil {
		return r.errResult("guest: no plugin registered (call guest.Register from init())")
	}
	info := hookv1.HookInfo{
		Name: p.Name, Version: p.Version,
		Points: p.Points(), Needs: p.Needs, Topics: p.Topics,
		FailurePolicy: p.FailurePolicy, TimeoutUs: p.TimeoutUs, ConsistentSelect: p.ConsistentSelect,
		SelectRetry: p.SelectRetry,
	}
	r.out = hookv1.AppendHookInfo(r.out[:0], &info)
	return r.out, false
}

// initConfig implements hook_init: 0 on success, 1 when the configuration is rejected (the reason
// goes to stderr, the only channel the host offers outside hook_call).
func (r *runtime) initConfig(n int32) (rc int32) {
	if err := r.initErr(n); err != nil {
		reportInitError(r.name(), err)
		return 1
	}
	return 0
}

func (r *runtime) name() string {
	if r.plugin != nil {
		return r.plugin.Name
	}
	return "?"
}

func (r *runtime) initErr(n int32) (err error) {
	if n < 0 || int(n) > len(r.scratch) {
		return fmt.Errorf("guest: hook_init: config length %d outside the scratch buffer (%d bytes)", n, len(r.scratch))
	}
	return r.initConfigBytes(r.scratch[:n])
}

// initConfigBytes decodes an encoded HookConfig and hands it to the plugin's Init (hook_init of
// both transports).
func (r *runtime) initConfigBytes(b []byte) (err error) {
	if r.regErr != "" {
		return fmt.Errorf("%s", r.regErr)
	}
	if r.plugin == nil {
		return fmt.Errorf("guest: no plugin registered")
	}
	cfg, err := hookv1.DecodeHookConfig(b)
	if err != nil {
		return err
	}
	if r.plugin.Init == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("guest: plugin %s: panic in Init: %v", r.plugin.Name, v)
		}
	}()
	return r.plugin.Init(cfg)
}

// call implements hook_call on the first n scratch bytes. It returns (nil, false) for "allow, no
// change", the Decision bytes, or an error text with isErr.
func (r *runtime) call(point int32, n int32) (b []byte, isErr bool) {
	if n < 0 || int(n) > len(r.scratch) {
		return r.errResult("guest: hook_call: view length outside the scratch buffer")
	}
	return r.callView(point, r.scratch[:n])
}

func (r *runtime) callView(point int32, view []byte) (b []byte, isErr bool) {
	p := r.plugin
	if p == nil {
		return r.errResult("guest: no plugin registered")
	}
	// The view is read lazily (hookv1.View): only what the plugin reads is decoded, and a
	// malformation found on the way fails the call below.
	r.view.Reset(view)
	r.dec.Reset()
	r.inCall = true
	defer func() {
		r.inCall = false
		if v := recover(); v != nil {
			b, isErr = r.errResult(panicText(p.Name, v))
		}
	}()
	var err error
	switch hookv1.HookPoint(point) {
	case hookv1.PointBeforeSend:
		if p.Before != nil {
			err = p.Before(&r.view, &r.dec)
		}
	case hookv1.PointAfterSend:
		if p.After != nil {
			p.After(&r.view)
		}
		r.dec.Reset() // an after hook changes nothing
	case hookv1.PointCheckForbidden:
		if p.Forbidden != nil {
			err = p.Forbidden(&r.view, &r.dec)
		}
	case hookv1.PointSelectQueue:
		if p.Select != nil {
			err = p.Select(&r.view, &r.dec)
		}
	default:
		// A point this version does not know: allow, no change.
		return nil, false
	}
	if verr := r.view.Err(); verr != nil {
		return r.errResult("guest: " + verr.Error())
	}
	if err != nil {
		return r.errResult(err.Error())
	}
	if r.dec.Empty() {
		return nil, false
	}
	return r.dec.Bytes(), false
}

func panicText(name string, v any) string {
	var sb strings.Builder
	sb.WriteString("guest: plugin ")
	sb.WriteString(name)
	sb.WriteString(": panic: ")
	sb.WriteString(fmt.Sprint(v))
	return sb.String()
}

// Logf formats and logs a message when the host would log it at level (it asks log_enabled first,
// so a disabled level costs no formatting).
func Logf(level int32, format string, args ...any) {
	if !LogEnabled(level) {
		return
	}
	Log(level, fmt.Sprintf(format, args...))
}

// Body reads the whole message body through body_len/body_read into a buffer the package reuses: the
// bytes are valid until the next hook_call (copy what you keep). It needs NEED_BODY_LAZY or
// NEED_BODY_EAGER; it returns nil when the body is empty or unavailable.
func Body() []byte {
	n := BodyLen()
	if n <= 0 {
		return nil
	}
	if cap(bodyBuf) < n {
		bodyBuf = make([]byte, n)
	}
	buf := bodyBuf[:n]
	got := 0
	for got < n {
		k := ReadBody(got, buf[got:])
		if k <= 0 {
			break
		}
		got += k
	}
	if got == 0 {
		return nil
	}
	return buf[:got]
}

var bodyBuf, propBuf []byte

// Property looks a property up through the get_property import (for plugins that do not declare
// NEED_PROPERTIES; with it, use View.Property). The value aliases a buffer the package reuses: it is
// valid until the next Property call (copy what you keep).
func Property(name string) ([]byte, bool) {
	if cap(propBuf) == 0 {
		propBuf = make([]byte, 256)
	}
	for {
		n := getProperty(name, propBuf[:cap(propBuf)])
		if n < 0 {
			return nil, false
		}
		if n <= cap(propBuf) {
			return propBuf[:n], true
		}
		propBuf = make([]byte, n)
	}
}
