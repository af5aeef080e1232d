package host

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// This file holds what the wasm and the process back ends share, so that the two follow the same
// rules by construction rather than by copy: the failure policies, the topic filter, failure
// accounting, the view built from a message and a send context, the consumption of decisions, the
// send hook adapters and the queue selector. A back end embeds pluginCore and supplies only the call
// itself (pluginBackend).

// pluginBackend is what differs between the back ends: building the view in their own buffers,
// calling the plugin, and consuming the decision (with decideHook or decideQueue) while the
// buffers it points into are still valid. Failures are counted and logged (pluginCore.fail) and
// returned as *PluginError; the caller applies the failure policy.
type pluginBackend interface {
	// callHook calls a send hook point (CHECK_FORBIDDEN, BEFORE_SEND, AFTER_SEND) for sc, whose
	// Message is not nil; forbid is the plugin's FORBID verdict.
	callHook(point hookv1.HookPoint, sc *send.SendContext) (forbid error, perr *PluginError)
	// callSelect calls SELECT_QUEUE for msg (not nil) and queues (not empty); idx is the queue
	// chosen, or -1 when the plugin made no choice.
	callSelect(msg *message.Message, queues []message.MessageQueue, arg any) (idx int32, perr *PluginError)
}

// pluginCore is the state and logic both plugin types embed.
type pluginCore struct {
	name      string
	transport string // "wasm" or "process": the kind of plugin, for error texts
	info      hookv1.HookInfo
	policies  map[hookv1.HookPoint]hookv1.FailurePolicy // configured per point
	log       hclog.Logger
	needBody  bool
	backend   pluginBackend // the embedding plugin

	logLimit        logLimiter // the guest's log records (sanitize.go)
	calls, failures atomic.Uint64
	byKind          [numFailureKinds]atomic.Uint64
	circuit         circuit // circuit.go

	// failLogLimit caps the failure records logged a second; 0 logs every one.
	failLogLimit                           int64
	failWindow, failLogged, failSuppressed atomic.Int64 // failure log rate limit
}

// failLogsPerSecond caps the failure records a process plugin logs: while a process is down every
// call fails at once, and a producer sending thousands of messages a second must not log each. (A
// wasm plugin logs every failure; for both, the call circuit (circuit.go) stops calling a plugin
// whose calls keep failing, and its refusals are not logged.)
const failLogsPerSecond = 20

// adopt records what the plugin said about itself when it was loaded: a plugin that names itself
// is known, and logs, by that name.
func (c *pluginCore) adopt(info hookv1.HookInfo, logger hclog.Logger) {
	// The name and version are the guest's text, shown in logs and errors: made safe once here.
	info.Name, info.Version = sanitizeName(info.Name), sanitizeName(info.Version)
	c.info = info
	if info.Name != "" {
		c.name = info.Name
		c.log = logger.Named(info.Name)
	}
	c.needBody = info.Need(hookv1.NeedBodyLazy) || info.Need(hookv1.NeedBodyEager)
}

// setPolicy is the body of the WithFailurePolicy options of both back ends.
func setPolicy(policies *map[hookv1.HookPoint]hookv1.FailurePolicy, point hookv1.HookPoint, fp hookv1.FailurePolicy) {
	if *policies == nil {
		*policies = map[hookv1.HookPoint]hookv1.FailurePolicy{}
	}
	(*policies)[point] = fp
}

// policy resolves the failure policy of a point: configuration, then the plugin's hint, then the
// defaults of docs/abi.md §6.
func (c *pluginCore) policy(point hookv1.HookPoint) hookv1.FailurePolicy {
	if fp, ok := c.policies[point]; ok && fp != hookv1.FailureDefault {
		return fp
	}
	if fp := c.info.FailurePolicy; fp == hookv1.FailClosed || fp == hookv1.FailOpen {
		return fp
	}
	switch point {
	case hookv1.PointAfterSend, hookv1.PointSelectQueue:
		return hookv1.FailOpen
	}
	return hookv1.FailClosed
}

func policyName(fp hookv1.FailurePolicy) string {
	if fp == hookv1.FailOpen {
		return "open"
	}
	return "closed"
}

// wants reports whether the plugin is called for point and topic.
func (c *pluginCore) wants(point hookv1.HookPoint, topic, namespace string) bool {
	if !c.info.Has(point) {
		return false
	}
	if len(c.info.Topics) == 0 {
		return true
	}
	if namespace != "" {
		topic = strings.TrimPrefix(topic, namespace+"%")
	} else if i := strings.IndexByte(topic, '%'); i > 0 {
		topic = topic[i+1:]
	}
	return slices.Contains(c.info.Topics, topic)
}

// fail records a failure, logs it (at most failLogLimit a second when set; the next record says how
// many were left out) and returns the error to report.
func (c *pluginCore) fail(point hookv1.HookPoint, kind FailureKind, err error) *PluginError {
	pe := c.failQuietly(point, kind, err)
	if c.failLogLimit > 0 {
		now := time.Now().Unix()
		if w := c.failWindow.Load(); w != now && c.failWindow.CompareAndSwap(w, now) {
			c.failLogged.Store(0)
		}
		if c.failLogged.Add(1) > c.failLogLimit {
			c.failSuppressed.Add(1)
			return pe
		}
	}
	args := []any{"point", pointName(point), "kind", kind.String(), "error", err, "policy", policyName(c.policy(point))}
	if n := c.failSuppressed.Swap(0); n > 0 {
		args = append(args, "not_logged_before", n)
	}
	c.log.Error("plugin call failed", args...)
	return pe
}

// failQuietly records a failure without logging it (the open circuit logged once when it opened).
func (c *pluginCore) failQuietly(point hookv1.HookPoint, kind FailureKind, err error) *PluginError {
	c.failures.Add(1)
	c.byKind[kind].Add(1)
	return &PluginError{Plugin: c.name, Point: point, Kind: kind, Err: err, Transport: c.transport}
}

// fillMessageView fills the message part of v, which it first empties. The properties are sent
// only when withProps; they are appended to props[:0], and v.Queues starts as queues[:0] (for
// fillSelectView): the wasm back end passes its instance's buffers so that a call allocates nothing.
func fillMessageView(v *hookv1.MessageView, msg *message.Message, props []hookv1.Property, queues []hookv1.QueueRef, withProps bool) {
	*v = hookv1.MessageView{Properties: props[:0], Queues: queues[:0]}
	if msg == nil {
		return
	}
	v.Topic = msg.Topic
	v.Tags = msg.Properties[message.PropertyTags]
	v.Keys = msg.Properties[message.PropertyKeys]
	v.BodySize = uint32(len(msg.Body))
	v.Flag = msg.Flag
	if withProps {
		for k, val := range msg.Properties {
			v.Properties = append(v.Properties, hookv1.Property{Name: k, Value: val})
		}
		slices.SortFunc(v.Properties, func(a, b hookv1.Property) int { return strings.Compare(a.Name, b.Name) })
	}
}

// fillContextView fills the send context part of v (after fillMessageView); after adds the
// outcome of the send (AFTER_SEND).
func fillContextView(v *hookv1.MessageView, sc *send.SendContext, after bool) {
	v.Group, v.Namespace = sc.Group, sc.Namespace
	v.Batch = sc.Batch
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

// fillSelectView fills the SELECT_QUEUE part of v (after fillMessageView): the queue count, the
// queues themselves when withQueues (appended to v.Queues), and the selector argument when it is
// a string or bytes.
func fillSelectView(v *hookv1.MessageView, queues []message.MessageQueue, arg any, withQueues bool) {
	v.QueueCount = uint32(len(queues))
	if withQueues {
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
}

// decideHook consumes the decision of a send hook point: a FORBID verdict (CHECK_FORBIDDEN,
// BEFORE_SEND) is stored in *forbid; the edits of any other BEFORE_SEND decision are validated and
// applied to the message (an error: the decision is invalid). An AFTER_SEND decision is ignored: an
// after hook cannot change the outcome.
func (c *pluginCore) decideHook(point hookv1.HookPoint, sc *send.SendContext, d *hookv1.Decision, forbid *error) error {
	if d == nil || point == hookv1.PointAfterSend {
		return nil
	}
	if d.Verdict == hookv1.Forbid {
		*forbid = &Forbidden{Plugin: c.name, Reason: sanitize(d.Reason), Transport: c.transport}
		return nil
	}
	if point == hookv1.PointBeforeSend {
		if d.ReplaceBody && sc.Batch {
			return errors.New("replace_body on a batch: its body is the encoded batch, not one message's body")
		}
		return applyEdits(sc.Message, d)
	}
	return nil
}

// decideQueue checks the decision of SELECT_QUEUE against the n queues offered: the index chosen,
// or -1 when the plugin made no choice.
func decideQueue(d *hookv1.Decision, n int) (int32, error) {
	if d == nil || d.QueueIndex < 0 {
		return -1, nil
	}
	if int(d.QueueIndex) >= n {
		return -1, fmt.Errorf("queue_index %d out of range (%d queues)", d.QueueIndex, n)
	}
	return d.QueueIndex, nil
}

// runHook calls a send hook point if the plugin wants it for sc's topic, and applies the point's
// failure policy to a failure.
func (c *pluginCore) runHook(point hookv1.HookPoint, sc *send.SendContext) error {
	if sc.Message == nil || !c.wants(point, sc.Message.Topic, sc.Namespace) {
		return nil
	}
	forbid, perr := c.backend.callHook(point, sc)
	if perr != nil {
		if c.policy(point) == hookv1.FailOpen {
			return nil
		}
		return perr
	}
	return forbid
}

func (c *pluginCore) checkForbidden(sc *send.SendContext) error {
	return c.runHook(hookv1.PointCheckForbidden, sc)
}

func (c *pluginCore) before(sc *send.SendContext) error { return c.runHook(hookv1.PointBeforeSend, sc) }

func (c *pluginCore) after(sc *send.SendContext) {
	// Failures are logged and counted by the back end; an after hook cannot change the outcome.
	_ = c.runHook(hookv1.PointAfterSend, sc)
}

// hooks is the body of both plugin types' Hooks.
func (c *pluginCore) hooks() send.Hook {
	return composeHooks(c, c.info.Has(hookv1.PointCheckForbidden), c.info.Has(hookv1.PointBeforeSend), c.info.Has(hookv1.PointAfterSend))
}

// composeHooks returns a value implementing exactly the hook interfaces selected (the producer
// checks them with type assertions, so an unimplemented point must not be there at all).
func composeHooks(c *pluginCore, f, b, a bool) send.Hook {
	n := implName{c}
	switch {
	case f && b && a:
		return struct {
			implName
			implForbid
			implBefore
			implAfter
		}{n, implForbid{c}, implBefore{c}, implAfter{c}}
	case f && b:
		return struct {
			implName
			implForbid
			implBefore
		}{n, implForbid{c}, implBefore{c}}
	case f && a:
		return struct {
			implName
			implForbid
			implAfter
		}{n, implForbid{c}, implAfter{c}}
	case b && a:
		return struct {
			implName
			implBefore
			implAfter
		}{n, implBefore{c}, implAfter{c}}
	case f:
		return struct {
			implName
			implForbid
		}{n, implForbid{c}}
	case b:
		return struct {
			implName
			implBefore
		}{n, implBefore{c}}
	case a:
		return struct {
			implName
			implAfter
		}{n, implAfter{c}}
	}
	return nil
}

type implName struct{ c *pluginCore }

func (n implName) Name() string { return n.c.name }

type implForbid struct{ c *pluginCore }

func (x implForbid) CheckForbidden(sc *send.SendContext) error { return x.c.checkForbidden(sc) }

type implBefore struct{ c *pluginCore }

func (x implBefore) SendMessageBefore(sc *send.SendContext) error { return x.c.before(sc) }

type implAfter struct{ c *pluginCore }

func (x implAfter) SendMessageAfter(sc *send.SendContext) { x.c.after(sc) }

// selector is the body of both plugin types' Selector.
func (c *pluginCore) selector(fallback send.QueueSelector) send.QueueSelector {
	if !c.info.Has(hookv1.PointSelectQueue) {
		return fallback
	}
	return &selector{c: c, fallback: fallback}
}

// Consistent implements send.ConsistentSelector: a plugin that declared consistent_select makes
// ordered sends.
func (s *selector) Consistent() bool { return s.c.info.ConsistentSelect }

// SelectorRetry implements send.RetryingSelector with the plugin's select_retry: by default a send
// the plugin routed is made once, as Java makes selector sends.
func (s *selector) SelectorRetry() send.SelectorRetry {
	switch s.c.info.SelectRetry {
	case hookv1.SelectRetrySameQueue:
		return send.RetrySameQueue
	case hookv1.SelectRetryReselect:
		return send.RetryReselect
	}
	return send.RetryNever
}

// selector asks the plugin (SELECT_QUEUE) and falls back when the plugin makes no choice, does not
// apply to the topic, or fails under a fail-open policy.
type selector struct {
	c        *pluginCore
	fallback send.QueueSelector
}

func (s *selector) Name() string { return s.c.name }

func (s *selector) Select(msg *message.Message, queues []message.MessageQueue, arg any) (message.MessageQueue, error) {
	c := s.c
	if len(queues) == 0 {
		return message.MessageQueue{}, send.ErrEmptyQueues
	}
	if msg == nil || !c.wants(hookv1.PointSelectQueue, msg.Topic, "") {
		return s.fall(msg, queues, arg)
	}
	idx, perr := c.backend.callSelect(msg, queues, arg)
	if perr != nil {
		if c.policy(hookv1.PointSelectQueue) == hookv1.FailClosed {
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
		return message.MessageQueue{}, fmt.Errorf("%s %q made no choice and there is %w", transportName(s.c.transport), s.c.name, errNoFallback)
	}
	return s.fallback.Select(msg, queues, arg)
}
