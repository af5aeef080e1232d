package host

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// The send hook adapters of a process plugin. They follow the wasm adapters (adapters.go) rule for
// rule: the same view, the same failure policies, the same validation of decisions (applyEdits), and
// both back ends build their send.Hook with composeHooks.

// policy resolves the failure policy of a point: configuration, then the plugin's hint, then the
// defaults of docs/abi.md §6.
func (p *ProcessPlugin) policy(point hookv1.HookPoint) hookv1.FailurePolicy {
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

// failLogsPerSecond caps the failure records a process plugin logs: while a process is down every
// call fails at once, and a producer sending thousands of messages a second must not log each.
const failLogsPerSecond = 20

// fail records a failure, logs it (at most failLogsPerSecond a second; the next record says how many
// were left out) and returns the error to report.
func (p *ProcessPlugin) fail(point hookv1.HookPoint, kind FailureKind, err error) *PluginError {
	p.failures.Add(1)
	p.byKind[kind].Add(1)
	pe := &PluginError{Plugin: p.name, Point: point, Kind: kind, Err: err, Transport: "process"}
	now := time.Now().Unix()
	if w := p.failWindow.Load(); w != now && p.failWindow.CompareAndSwap(w, now) {
		p.failLogged.Store(0)
	}
	if p.failLogged.Add(1) > failLogsPerSecond {
		p.failSuppressed.Add(1)
		return pe
	}
	args := []any{"point", pointName(point), "kind", kind.String(), "error", err, "policy", policyName(p.policy(point))}
	if n := p.failSuppressed.Swap(0); n > 0 {
		args = append(args, "not_logged_before", n)
	}
	p.log.Error("plugin call failed", args...)
	return pe
}

// wants reports whether the plugin is called for point and topic.
func (p *ProcessPlugin) wants(point hookv1.HookPoint, topic, namespace string) bool {
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

// viewOfMessage fills the message part of a view. This transport always sends the properties: a
// process plugin cannot call back for them cheaply (get_property would be a round trip).
func viewOfMessage(v *hookv1.MessageView, msg *message.Message) {
	*v = hookv1.MessageView{}
	if msg == nil {
		return
	}
	v.Topic = msg.Topic
	v.Tags = msg.Properties[message.PropertyTags]
	v.Keys = msg.Properties[message.PropertyKeys]
	v.BodySize = uint32(len(msg.Body))
	v.Flag = msg.Flag
	v.Properties = make([]hookv1.Property, 0, len(msg.Properties))
	for k, val := range msg.Properties {
		v.Properties = append(v.Properties, hookv1.Property{Name: k, Value: val})
	}
	slices.SortFunc(v.Properties, func(a, b hookv1.Property) int { return strings.Compare(a.Name, b.Name) })
}

func viewOfContext(v *hookv1.MessageView, sc *send.SendContext, after bool) {
	viewOfMessage(v, sc.Message)
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

// invoke runs one hook point: apply consumes the decision (nil = no change). Failures are counted,
// logged and returned as *PluginError.
func (p *ProcessPlugin) invoke(ctx context.Context, point hookv1.HookPoint, msg *message.Message,
	v *hookv1.MessageView, apply func(*hookv1.Decision) error) *PluginError {
	p.calls.Add(1)
	view := hookv1.AppendMessageView(nil, v)
	var body []byte
	if p.needBody && msg != nil {
		body = msg.Body
		if body == nil {
			body = []byte{}
		}
	}
	d, kind, err := p.call(ctx, point, view, body)
	if err == nil && apply != nil {
		if e := apply(d); e != nil {
			kind, err = FailInvalidDecision, e
		}
	}
	if err != nil {
		return p.fail(point, kind, err)
	}
	return nil
}

func (p *ProcessPlugin) verdict(d *hookv1.Decision) error {
	if d != nil && d.Verdict == hookv1.Forbid {
		return &Forbidden{Plugin: p.name, Reason: d.Reason, Transport: "process"}
	}
	return nil
}

func (p *ProcessPlugin) checkForbidden(sc *send.SendContext) error {
	if sc.Message == nil || !p.wants(hookv1.PointCheckForbidden, sc.Message.Topic, sc.Namespace) {
		return nil
	}
	var v hookv1.MessageView
	viewOfContext(&v, sc, false)
	var forbid error
	perr := p.invoke(ctxOf(sc), hookv1.PointCheckForbidden, sc.Message, &v,
		func(d *hookv1.Decision) error { forbid = p.verdict(d); return nil })
	if perr != nil {
		if p.policy(hookv1.PointCheckForbidden) == hookv1.FailOpen {
			return nil
		}
		return perr
	}
	return forbid
}

func (p *ProcessPlugin) before(sc *send.SendContext) error {
	if sc.Message == nil || !p.wants(hookv1.PointBeforeSend, sc.Message.Topic, sc.Namespace) {
		return nil
	}
	var v hookv1.MessageView
	viewOfContext(&v, sc, false)
	var forbid error
	perr := p.invoke(ctxOf(sc), hookv1.PointBeforeSend, sc.Message, &v,
		func(d *hookv1.Decision) error {
			if d == nil {
				return nil
			}
			if forbid = p.verdict(d); forbid != nil {
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

func (p *ProcessPlugin) after(sc *send.SendContext) {
	if sc.Message == nil || !p.wants(hookv1.PointAfterSend, sc.Message.Topic, sc.Namespace) {
		return
	}
	var v hookv1.MessageView
	viewOfContext(&v, sc, true)
	// Failures are logged and counted by invoke; an after hook cannot change the outcome.
	_ = p.invoke(ctxOf(sc), hookv1.PointAfterSend, sc.Message, &v, nil)
}

// Hooks returns a value implementing the send hook interfaces (send.CheckForbiddenHook,
// send.SendMessageBeforeHook, send.SendMessageAfterHook) the plugin declared, and Name. It
// returns nil if the plugin declares none of them.
func (p *ProcessPlugin) Hooks() send.Hook {
	return composeHooks(p, p.info.Has(hookv1.PointCheckForbidden), p.info.Has(hookv1.PointBeforeSend), p.info.Has(hookv1.PointAfterSend))
}

// hookImpl is a plugin seen by the send hook adapters.
type hookImpl interface {
	Name() string
	checkForbidden(sc *send.SendContext) error
	before(sc *send.SendContext) error
	after(sc *send.SendContext)
}

// composeHooks returns a value implementing exactly the hook interfaces selected (the producer
// checks them with type assertions, so an unimplemented point must not be there at all).
func composeHooks(h hookImpl, f, b, a bool) send.Hook {
	n := implName{h}
	switch {
	case f && b && a:
		return struct {
			implName
			implForbid
			implBefore
			implAfter
		}{n, implForbid{h}, implBefore{h}, implAfter{h}}
	case f && b:
		return struct {
			implName
			implForbid
			implBefore
		}{n, implForbid{h}, implBefore{h}}
	case f && a:
		return struct {
			implName
			implForbid
			implAfter
		}{n, implForbid{h}, implAfter{h}}
	case b && a:
		return struct {
			implName
			implBefore
			implAfter
		}{n, implBefore{h}, implAfter{h}}
	case f:
		return struct {
			implName
			implForbid
		}{n, implForbid{h}}
	case b:
		return struct {
			implName
			implBefore
		}{n, implBefore{h}}
	case a:
		return struct {
			implName
			implAfter
		}{n, implAfter{h}}
	}
	return nil
}

type implName struct{ h hookImpl }

func (n implName) Name() string { return n.h.Name() }

type implForbid struct{ h hookImpl }

func (x implForbid) CheckForbidden(sc *send.SendContext) error { return x.h.checkForbidden(sc) }

type implBefore struct{ h hookImpl }

func (x implBefore) SendMessageBefore(sc *send.SendContext) error { return x.h.before(sc) }

type implAfter struct{ h hookImpl }

func (x implAfter) SendMessageAfter(sc *send.SendContext) { x.h.after(sc) }

// Selector returns a send.QueueSelector that asks the plugin (SELECT_QUEUE) and falls back to
// fallback when the plugin makes no choice, does not apply to the topic, or fails under a fail-open
// policy (the default). If the plugin does not declare SELECT_QUEUE, fallback is returned. If it
// declares consistent_select, the selector is a send.ConsistentSelector.
func (p *ProcessPlugin) Selector(fallback send.QueueSelector) send.QueueSelector {
	if !p.info.Has(hookv1.PointSelectQueue) {
		return fallback
	}
	if p.info.ConsistentSelect {
		return consistentProcSelector{&procSelector{p: p, fallback: fallback}}
	}
	return &procSelector{p: p, fallback: fallback}
}

// consistentProcSelector is the selector of a plugin that declared consistent_select: the producer
// keeps its choice on a retry and treats the send as ordered.
type consistentProcSelector struct{ *procSelector }

func (consistentProcSelector) Consistent() bool { return true }

type procSelector struct {
	p        *ProcessPlugin
	fallback send.QueueSelector
}

func (s *procSelector) Name() string { return s.p.name }

func (s *procSelector) Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	p := s.p
	if len(queues) == 0 {
		return message.MessageQueue{}, send.ErrEmptyQueues
	}
	if msg == nil || !p.wants(hookv1.PointSelectQueue, msg.Topic, "") {
		return s.fall(msg, queues, arg)
	}
	var v hookv1.MessageView
	viewOfMessage(&v, msg)
	v.QueueCount = uint32(len(queues))
	if p.info.Need(hookv1.NeedQueues) {
		v.Queues = make([]hookv1.QueueRef, 0, len(queues))
		for _, q := range queues {
			v.Queues = append(v.Queues, hookv1.QueueRef{Broker: q.BrokerName, QueueID: int32(q.QueueID)})
		}
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
	idx := int32(-1)
	perr := p.invoke(context.Background(), hookv1.PointSelectQueue, msg, &v,
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

func (s *procSelector) fall(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	if s.fallback == nil {
		return message.MessageQueue{}, fmt.Errorf("process plugin %q made no choice and there is %w", s.p.name, errNoFallback)
	}
	return s.fallback.Select(msg, queues, arg)
}
