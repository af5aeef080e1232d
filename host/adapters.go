package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rocketsend/rocketsend/core/codec"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Forbidden is the error a plugin's FORBID verdict produces; the producer wraps it in a
// *send.ForbiddenError (CHECK_FORBIDDEN) or *send.HookError (BEFORE_SEND).
type Forbidden struct {
	Plugin string
	Reason string
	// Transport is the plugin's back end, for the error text.
	Transport Kind
}

func (e *Forbidden) Error() string {
	return fmt.Sprintf("%s %q forbids the send: %s", transportName(e.Transport), e.Plugin, e.Reason)
}

// transportName is "wasm plugin", "process plugin", or "plugin" when unknown.
func transportName(t Kind) string {
	if t == "" {
		return "plugin"
	}
	return string(t) + " plugin"
}

// fillMessage fills the message part of in.view, in the instance's reused buffers.
func (in *instance) fillMessage(msg *message.Message) {
	fillMessageView(&in.view, msg, in.props, in.queues, in.p.needProp)
	in.props = in.view.Properties
}

func (in *instance) fillContext(sc *send.SendContext, after bool) {
	in.fillMessage(sc.Message)
	fillContextView(&in.view, sc, after)
}

// invoke runs one hook point on a pooled instance: fill builds the view, apply consumes the
// decision (nil = no change) while the instance is still held. Failures are counted, logged and
// returned as *PluginError; the instance is discarded on any failure.
func (p *WasmPlugin) invoke(ctx context.Context, point hookv1.HookPoint, msg *message.Message,
	fill func(*instance), apply func(*hookv1.Decision) error) *PluginError {
	p.calls.Add(1)
	if err := p.circuitOpen(); err != nil {
		return p.failQuietly(point, FailUnavailable, err)
	}
	in, err := p.acquire(ctx)
	if err != nil {
		return p.fail(point, FailUnavailable, err)
	}
	if !in.hold() { // closed under our feet: its memory is gone
		p.discard(in)
		return p.fail(point, FailUnavailable, ErrClosed)
	}
	fill(in)
	in.viewBuf = hookv1.AppendMessageViewFor(in.viewBuf[:0], point, &in.view)
	d, kind, err := in.call(point, in.viewBuf, msg)
	if err == nil && apply != nil {
		if e := apply(d); e != nil {
			kind, err = FailInvalidDecision, e
		}
	}
	in.letGo()
	if err != nil {
		p.discard(in)
		p.callDone(true, kind)
		return p.fail(point, kind, err)
	}
	p.release(in)
	p.callDone(false, 0)
	return nil
}

func ctxOf(sc *send.SendContext) context.Context {
	if sc.Context != nil {
		return sc.Context
	}
	return context.Background()
}

// callHook implements pluginBackend: the view and the decision live in a pooled instance.
func (p *WasmPlugin) callHook(point hookv1.HookPoint, sc *send.SendContext) (forbid error, perr *PluginError) {
	perr = p.invoke(ctxOf(sc), point, sc.Message,
		func(in *instance) { in.fillContext(sc, point == hookv1.PointAfterSend) },
		func(d *hookv1.Decision) error { return p.decideHook(point, sc, d, &forbid) })
	return forbid, perr
}

// callSelect implements pluginBackend.
func (p *WasmPlugin) callSelect(msg *message.Message, queues []message.MessageQueue, arg any) (idx int32, perr *PluginError) {
	idx = -1
	perr = p.invoke(context.Background(), hookv1.PointSelectQueue, msg,
		func(in *instance) {
			in.fillMessage(msg)
			fillSelectView(&in.view, queues, arg, p.needQ)
			in.queues = in.view.Queues
		},
		func(d *hookv1.Decision) (err error) { idx, err = decideQueue(d, len(queues)); return err })
	return idx, perr
}

func validText(what, s string) error {
	if strings.ContainsAny(s, "\x01\x02") {
		return fmt.Errorf(`%s %q contains a separator character \x01 or \x02`, what, s)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	return nil
}

// applyEdits validates every edit of d, then applies them all to msg (all or nothing).
func applyEdits(msg *message.Message, d *hookv1.Decision) error {
	for _, e := range d.Edits {
		if err := codec.ValidatePropertyName(e.Name); err != nil {
			return fmt.Errorf("edit: %w", err)
		}
		if !e.Delete {
			if err := codec.ValidatePropertyValue(e.Name, e.Value); err != nil {
				return fmt.Errorf("edit: %w", err)
			}
		}
	}
	if d.HasTags {
		if err := validText("tags", d.Tags); err != nil {
			return err
		}
	}
	if d.HasKeys {
		if err := validText("keys", d.Keys); err != nil {
			return err
		}
	}
	if msg.Properties == nil && (len(d.Edits) > 0 || d.HasTags || d.HasKeys) {
		msg.Properties = map[string]string{}
	}
	for _, e := range d.Edits {
		if e.Delete {
			msg.DelProperty(e.Name)
		} else {
			msg.SetSystemProperty(e.Name, e.Value)
		}
	}
	if d.HasTags {
		if d.Tags == "" {
			msg.DelProperty(message.PropertyTags)
		} else {
			msg.SetSystemProperty(message.PropertyTags, d.Tags)
		}
	}
	if d.HasKeys {
		if d.Keys == "" {
			msg.DelProperty(message.PropertyKeys)
		} else {
			msg.SetSystemProperty(message.PropertyKeys, d.Keys)
		}
	}
	if d.ReplaceBody {
		msg.Body = bytes.Clone(d.Body) // d.Body is reused by the instance
		if msg.Body == nil {
			msg.Body = []byte{}
		}
	}
	return nil
}

var errNoFallback = errors.New("no fallback selector")
