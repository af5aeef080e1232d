//go:build !wasip1

package main

import (
	"testing"

	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

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

func TestSelect(t *testing.T) {
	qs := []hookv1.QueueRef{{Broker: "broker-a", QueueID: 0}, {Broker: "broker-a", QueueID: 1}, {Broker: "broker-b", QueueID: 0}, {Broker: "broker-b", QueueID: 1}, {Broker: "broker-c", QueueID: 0}}
	cfg := []hookv1.KV{{Key: "brokers", Value: "broker-b, broker-c"}}
	seen := map[int32]int{}
	view := hookv1.AppendMessageView(nil, &hookv1.MessageView{Queues: qs, QueueCount: 5})
	for i := range 6 {
		if i == 0 {
			run(t, cfg, hookv1.PointSelectQueue, hookv1.MessageView{}) // init once: the counter persists
		}
		b, err := guest.SimulateCall(hookv1.PointSelectQueue, view)
		if err != nil || b == nil {
			t.Fatalf("no choice: %v", err)
		}
		d, _ := hookv1.DecodeDecision(b)
		seen[d.QueueIndex]++
	}
	if len(seen) != 3 || seen[2] == 0 || seen[3] == 0 || seen[4] == 0 {
		t.Fatalf("choices %v, want queues 2, 3, 4", seen)
	}
	if _, ok := run(t, []hookv1.KV{{Key: "brokers", Value: "broker-z"}}, hookv1.PointSelectQueue, hookv1.MessageView{Queues: qs, QueueCount: 5}); ok {
		t.Fatal("no preferred broker offered, yet a choice: want the fallback")
	}
	if !rejects() || !rejects(hookv1.KV{Key: "brokers", Value: " , "}) || !rejects(hookv1.KV{Key: "x", Value: "y"}) {
		t.Fatal("bad config accepted")
	}
}

func TestSelectNoAllocs(t *testing.T) {
	s, err := parseConfig(hookv1.HookConfig{Settings: []hookv1.KV{{Key: "brokers", Value: "broker-b"}}})
	if err != nil {
		t.Fatal(err)
	}
	var v hookv1.View
	v.Reset(hookv1.AppendMessageView(nil, &hookv1.MessageView{QueueCount: 2,
		Queues: []hookv1.QueueRef{{Broker: "broker-a", QueueID: 0}, {Broker: "broker-b", QueueID: 0}}}))
	var d hookv1.DecisionBuilder
	if a := testing.AllocsPerRun(100, func() { d.Reset(); s.selectQueue(&v, &d) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
