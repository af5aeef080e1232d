package host

import (
	"context"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// The send hook adapters of a process plugin: the rules (failure policies, topic filter, view,
// validation of decisions, the hook and selector adapters) are the wasm back end's, shared through
// pluginCore (plugin.go); this file only builds the view and makes the call.

// processView builds the message part of a call's view. This transport always sends the
// properties: a process plugin cannot call back for them cheaply (get_property would be a round
// trip). It sizes queues for SELECT_QUEUE when the plugin wants them.
func processView(v *hookv1.MessageView, msg *message.Message, queues int) {
	var qbuf []hookv1.QueueRef
	if queues > 0 {
		qbuf = make([]hookv1.QueueRef, 0, queues)
	}
	fillMessageView(v, msg, make([]hookv1.Property, 0, len(msg.Properties)), qbuf, true)
}

// callHook implements pluginBackend.
func (p *ProcessPlugin) callHook(point hookv1.HookPoint, sc *send.SendContext) (forbid error, perr *PluginError) {
	var v hookv1.MessageView
	processView(&v, sc.Message, 0)
	fillContextView(&v, sc, point == hookv1.PointAfterSend)
	perr = p.invoke(ctxOf(sc), point, sc.Message, &v,
		func(d *hookv1.Decision) error { return p.decideHook(point, sc, d, &forbid) })
	return forbid, perr
}

// callSelect implements pluginBackend.
func (p *ProcessPlugin) callSelect(msg *message.Message, queues []message.MessageQueue, arg any) (idx int32, perr *PluginError) {
	needQ := p.info.Need(hookv1.NeedQueues)
	nq := 0
	if needQ {
		nq = len(queues)
	}
	var v hookv1.MessageView
	processView(&v, msg, nq)
	fillSelectView(&v, queues, arg, needQ)
	idx = -1
	perr = p.invoke(context.Background(), hookv1.PointSelectQueue, msg, &v,
		func(d *hookv1.Decision) (err error) { idx, err = decideQueue(d, len(queues)); return err })
	return idx, perr
}

// invoke runs one hook point: apply consumes the decision (nil = no change). Failures are counted,
// logged and returned as *PluginError.
func (p *ProcessPlugin) invoke(ctx context.Context, point hookv1.HookPoint, msg *message.Message,
	v *hookv1.MessageView, apply func(*hookv1.Decision) error) *PluginError {
	p.calls.Add(1)
	if err := p.circuitOpen(); err != nil {
		return p.failQuietly(point, FailUnavailable, err)
	}
	view := hookv1.AppendMessageViewFor(nil, point, v) // the order a lazy guest reads fastest, as for wasm
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
	p.callDone(err != nil, kind)
	if err != nil {
		return p.fail(point, kind, err)
	}
	return nil
}
