package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
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
	// Transport is "wasm" or "process": the kind of plugin, for the error text.
	Transport string
}

func (e *Forbidden) Error() string {
	return fmt.Sprintf("%s %q forbids the send: %s", transportName(e.Transport), e.Plugin, e.Reason)
}

// transportName is "wasm plugin", "process plugin", or "plugin" when unknown.
func transportName(t string) string {
	if t == "" {
		return "plugin"
	}
	return t + " plugin"
}

// policy resolves the failure policy of a point: configuration, then the plugin's hint, then the
// defaults of docs/abi.md §6.
func (p *WasmPlugin) policy(point hookv1.HookPoint) hookv1.FailurePolicy {
	if fp, ok := p.cfg.policies[point]; ok && fp != hookv1.FailureDefault {
		return fp
	}
	if fp := p.info.FailurePolicy; fp == hookv1.FailClosed || fp == hookv1.FailOpen {
		return fp
	}
	switch point {
	case hookv1.PointAfterSend, hookv1.PointSelectQueue:
		return hookv1.FailOpen
	}
	return hookv1.FailClosed
}

// fail records a failure, logs it and returns the error to report.
func (p *WasmPlugin) fail(point hookv1.HookPoint, kind FailureKind, err error) *PluginError {
	pe := p.failQuietly(point, kind, err)
	p.log.Error("plugin call failed", "point", pointName(point), "kind", kind.String(), "error", err, "policy", policyName(p.policy(point)))
	return pe
}

// failQuietly records a failure without logging it (the open circuit logged once when it opened).
func (p *WasmPlugin) failQuietly(point hookv1.HookPoint, kind FailureKind, err error) *PluginError {
	p.failures.Add(1)
	p.byKind[kind].Add(1)
	return &PluginError{Plugin: p.name, Point: point, Kind: kind, Err: err, Transport: "wasm"}
}

func policyName(fp hookv1.FailurePolicy) string {
	if fp == hookv1.FailOpen {
		return "open"
	}
	return "closed"
}

// wants reports whether the plugin is called for point and topic.
func (p *WasmPlugin) wants(point hookv1.HookPoint, topic, namespace string) bool {
	if !p.info.Has(point) {
		return false
	}
	if len(p.info.Topics) == 0 {
		return true
	}
	if namespace != "" {
		topic = strings.TrimPrefix(topic, namespace+"%")
	} else if i := strings.IndexByte(topic, '%'); i > 0 {
		topic = topic[i+1:]
	}
	return slices.Contains(p.info.Topics, topic)
}

// fillMessage fills the message part of in.view.
func (in *instance) fillMessage(msg *message.Message) {
	v := &in.view
	*v = hookv1.MessageView{Properties: in.props[:0], Queues: in.queues[:0]}
	if msg == nil {
		return
	}
	v.Topic = msg.Topic
	v.Tags = msg.Properties[message.PropertyTags]
	v.Keys = msg.Properties[message.PropertyKeys]
	v.BodySize = uint32(len(msg.Body))
	v.Flag = msg.Flag
	if in.p.needProp {
		for k, val := range msg.Properties {
			v.Properties = append(v.Properties, hookv1.Property{Name: k, Value: val})
		}
		slices.SortFunc(v.Properties, func(a, b hookv1.Property) int { return strings.Compare(a.Name, b.Name) })
		in.props = v.Properties
	}
}

func (in *instance) fillContext(sc *send.SendContext, after bool) {
	in.fillMessage(sc.Message)
	v := &in.view
	v.Group, v.Namespace = sc.Group, sc.Namespace
	v.Mode = hookv1.Mode(sc.Mode + 1)
	v.MessageType = hookv1.MessageType(sc.MessageType + 1)
	v.Attempt = uint32(sc.Attempt)
	if sc.Queue.BrokerName != "" {
		v.HasQueue = true
		v.Queue = hookv1.QueueRef{Broker: sc.Queue.BrokerName, QueueID: int32(sc.Queue.QueueID)}
	}
	v.BrokerAddr, v.BornHost = sc.BrokerAddr, sc.BornHost
	if after {
		if sc.Result != nil && sc.Err == nil {
			v.Status = hookv1.SendStatus(sc.Result.Status + 1)
			v.MsgID, v.OffsetMsgID, v.QueueOffset = sc.Result.MsgID, sc.Result.OffsetMsgID, sc.Result.QueueOffset
		}
		v.LatencyNs = int64(sc.Latency)
		if sc.Err != nil {
			v.Error = sc.Err.Error()
		}
	}
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
	fill(in)
	in.viewBuf = hookv1.AppendMessageViewFor(in.viewBuf[:0], point, &in.view)
	d, kind, err := in.call(point, in.viewBuf, msg)
	if err == nil && apply != nil {
		if e := apply(d); e != nil {
			kind, err = FailInvalidDecision, e
		}
	}
	if err != nil {
		p.discard(in)
		p.callFailed()
		return p.fail(point, kind, err)
	}
	p.release(in)
	p.callSucceeded()
	return nil
}

func ctxOf(sc *send.SendContext) context.Context {
	if sc.Context != nil {
		return sc.Context
	}
	return context.Background()
}

// checkVerdict turns a Decision's verdict into an error.
func (p *WasmPlugin) checkVerdict(d *hookv1.Decision, forbid *error) {
	if d != nil && d.Verdict == hookv1.Forbid {
		*forbid = &Forbidden{Plugin: p.name, Reason: d.Reason, Transport: "wasm"}
	}
}

func (p *WasmPlugin) checkForbidden(sc *send.SendContext) error {
	if sc.Message == nil || !p.wants(hookv1.PointCheckForbidden, sc.Message.Topic, sc.Namespace) {
		return nil
	}
	var forbid error
	perr := p.invoke(ctxOf(sc), hookv1.PointCheckForbidden, sc.Message,
		func(in *instance) { in.fillContext(sc, false) },
		func(d *hookv1.Decision) error { p.checkVerdict(d, &forbid); return nil })
	if perr != nil {
		if p.policy(hookv1.PointCheckForbidden) == hookv1.FailOpen {
			return nil
		}
		return perr
	}
	return forbid
}

func (p *WasmPlugin) before(sc *send.SendContext) error {
	if sc.Message == nil || !p.wants(hookv1.PointBeforeSend, sc.Message.Topic, sc.Namespace) {
		return nil
	}
	var forbid error
	perr := p.invoke(ctxOf(sc), hookv1.PointBeforeSend, sc.Message,
		func(in *instance) { in.fillContext(sc, false) },
		func(d *hookv1.Decision) error {
			if d == nil {
				return nil
			}
			if p.checkVerdict(d, &forbid); forbid != nil {
				return nil
			}
			return applyEdits(sc.Message, d)
		})
	if perr != nil {
		if p.policy(hookv1.PointBeforeSend) == hookv1.FailOpen {
			return nil
		}
		return perr
	}
	return forbid
}

func (p *WasmPlugin) after(sc *send.SendContext) {
	if sc.Message == nil || !p.wants(hookv1.PointAfterSend, sc.Message.Topic, sc.Namespace) {
		return
	}
	// Failures are logged and counted by invoke; an after hook cannot change the outcome.
	_ = p.invoke(ctxOf(sc), hookv1.PointAfterSend, sc.Message,
		func(in *instance) { in.fillContext(sc, true) }, nil)
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
			msg.SetProperty(e.Name, e.Value)
		}
	}
	if d.HasTags {
		if d.Tags == "" {
			msg.DelProperty(message.PropertyTags)
		} else {
			msg.SetProperty(message.PropertyTags, d.Tags)
		}
	}
	if d.HasKeys {
		if d.Keys == "" {
			msg.DelProperty(message.PropertyKeys)
		} else {
			msg.SetProperty(message.PropertyKeys, d.Keys)
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

// Hooks returns a value implementing the send hook interfaces (send.CheckForbiddenHook,
// send.SendMessageBeforeHook, send.SendMessageAfterHook) the plugin declared, and Name. It
// returns nil if the plugin declares none of them.
func (p *WasmPlugin) Hooks() send.Hook {
	return composeHooks(p, p.info.Has(hookv1.PointCheckForbidden), p.info.Has(hookv1.PointBeforeSend), p.info.Has(hookv1.PointAfterSend))
}

// Selector returns a send.QueueSelector that asks the plugin (SELECT_QUEUE) and falls back to
// fallback when the plugin makes no choice, does not apply to the topic, or fails under a fail-open
// policy (the default). If the plugin does not declare SELECT_QUEUE, fallback is returned; if it
// declares consistent_select, the selector is a send.ConsistentSelector.
func (p *WasmPlugin) Selector(fallback send.QueueSelector) send.QueueSelector {
	if !p.info.Has(hookv1.PointSelectQueue) {
		return fallback
	}
	if p.info.ConsistentSelect {
		return consistentSelector{&selector{p: p, fallback: fallback}}
	}
	return &selector{p: p, fallback: fallback}
}

// consistentSelector is the selector of a plugin that declared consistent_select: the producer
// keeps its choice on a retry and treats the send as ordered (send.ConsistentSelector).
type consistentSelector struct{ *selector }

func (consistentSelector) Consistent() bool { return true }

type selector struct {
	p        *WasmPlugin
	fallback send.QueueSelector
}

func (s *selector) Name() string { return s.p.name }

var errNoFallback = errors.New("no fallback selector")

func (s *selector) Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	p := s.p
	if len(queues) == 0 {
		return message.MessageQueue{}, send.ErrEmptyQueues
	}
	if msg == nil || !p.wants(hookv1.PointSelectQueue, msg.Topic, "") {
		return s.fall(msg, queues, arg)
	}
	idx := int32(-1)
	perr := p.invoke(context.Background(), hookv1.PointSelectQueue, msg,
		func(in *instance) {
			in.fillMessage(msg)
			v := &in.view
			v.QueueCount = uint32(len(queues))
			if p.needQ {
				for _, q := range queues {
					v.Queues = append(v.Queues, hookv1.QueueRef{Broker: q.BrokerName, QueueID: int32(q.QueueID)})
				}
				in.queues = v.Queues
			}
			switch a := arg.(type) {
			case string:
				v.SelectArg = []byte(a)
			case []byte:
				v.SelectArg = a
				if a == nil {
					v.SelectArg = []byte{}
				}
			}
		},
		func(d *hookv1.Decision) error {
			if d == nil || d.QueueIndex < 0 {
				return nil
			}
			if int(d.QueueIndex) >= len(queues) {
				return fmt.Errorf("queue_index %d out of range (%d queues)", d.QueueIndex, len(queues))
			}
			idx = d.QueueIndex
			return nil
		})
	if perr != nil {
		if p.policy(hookv1.PointSelectQueue) == hookv1.FailClosed {
			return message.MessageQueue{}, perr
		}
		return s.fall(msg, queues, arg)
	}
	if idx < 0 {
		return s.fall(msg, queues, arg)
	}
	return queues[idx], nil
}

func (s *selector) fall(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	if s.fallback == nil {
		return message.MessageQueue{}, fmt.Errorf("wasm plugin %q made no choice and there is %w", s.p.name, errNoFallback)
	}
	return s.fallback.Select(msg, queues, arg)
}
