//go:build !wasip1

package main

import (
	"testing"

	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

import "strings"

func run(t *testing.T, settings []hookv1.KV, p hookv1.HookPoint, mv hookv1.MessageView) (hookv1.Decision, bool) {
	t.Helper()
	if rc := guest.SimulateInit(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: settings})); rc != 0 {
		t.Fatal("init rejected")
	}
	b, err := guest.SimulateCall(p, hookv1.AppendMessageView(nil, &mv))
	if err != nil {
		t.Fatal(err)
	}
	if b == nil {
		return hookv1.Decision{}, false
	}
	d, err := hookv1.DecodeDecision(b)
	if err != nil {
		t.Fatal(err)
	}
	return d, true
}

func rejects(settings ...hookv1.KV) bool {
	return guest.SimulateInit(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: settings})) != 0
}

func TestTracing(t *testing.T) {
	fh := &guest.FakeHost{MinLevel: hookv1.LogInfo}
	guest.SetFakeHost(fh)
	defer guest.SetFakeHost(nil)
	d, ok := run(t, nil, hookv1.PointBeforeSend, hookv1.MessageView{Topic: "orders"})
	if !ok || len(d.Edits) != 2 || d.Edits[0] != (hookv1.PropertyEdit{Name: "trace_id", Value: "tracing-1"}) ||
		d.Edits[1] != (hookv1.PropertyEdit{Name: "traced_by", Value: "tracing"}) {
		t.Fatalf("before: %+v", d)
	}
	fh.Properties = map[string]string{"trace_id": "up-7"}
	d, _ = run(t, []hookv1.KV{{Key: "name", Value: "edge"}}, hookv1.PointBeforeSend, hookv1.MessageView{Topic: "orders"})
	if len(d.Edits) != 1 || d.Edits[0].Name != "traced_by" || d.Edits[0].Value != "edge" {
		t.Fatalf("existing trace id: %+v", d)
	}
	if _, ok := run(t, nil, hookv1.PointAfterSend, hookv1.MessageView{Topic: "orders", Attempt: 1, Status: hookv1.StatusOK,
		LatencyNs: 1500000, HasQueue: true, Queue: hookv1.QueueRef{Broker: "broker-a", QueueID: 3}, MsgID: "m1"}); ok {
		t.Fatal("after returned a decision")
	}
	if len(fh.Logs) != 1 || fh.Logs[0].Level != hookv1.LogInfo ||
		!strings.Contains(fh.Logs[0].Msg, "latency=1.5ms") || !strings.Contains(fh.Logs[0].Msg, "trace_id=up-7") ||
		!strings.Contains(fh.Logs[0].Msg, "queue=broker-a/3") {
		t.Fatalf("logs %+v", fh.Logs)
	}
	run(t, []hookv1.KV{{Key: "log_level", Value: "debug"}}, hookv1.PointAfterSend, hookv1.MessageView{})
	if len(fh.Logs) != 1 {
		t.Fatal("debug line logged with MinLevel info")
	}
	if !rejects(hookv1.KV{Key: "log_level", Value: "loud"}) || !rejects(hookv1.KV{Key: "name", Value: ""}) {
		t.Fatal("bad config accepted")
	}
}
