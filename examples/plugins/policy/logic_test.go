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

func TestPolicy(t *testing.T) {
	cfg := []hookv1.KV{{Key: "deny_tags", Value: "secret, internal"}, {Key: "deny_topics", Value: "audit"}, {Key: "require_keys", Value: "true"}}
	for _, c := range []struct {
		mv     hookv1.MessageView
		reason string
	}{
		{hookv1.MessageView{Topic: "orders", Tags: "paid", Keys: "k"}, ""},
		{hookv1.MessageView{Topic: "orders", Tags: "secret", Keys: "k"}, "tag \"secret\" is denied by policy"},
		{hookv1.MessageView{Topic: "orders", Tags: "a||internal", Keys: "k"}, "tag \"internal\" is denied by policy"},
		{hookv1.MessageView{Topic: "audit", Namespace: "ns", Keys: "k"}, "topic \"audit\" is denied by policy"}, // the host gives the topic without the namespace
		{hookv1.MessageView{Topic: "audit", Keys: "k"}, "topic \"audit\" is denied by policy"},
		{hookv1.MessageView{Topic: "orders", Keys: "  "}, "message KEYS are required by policy"},
	} {
		d, ok := run(t, cfg, hookv1.PointCheckForbidden, c.mv)
		if c.reason == "" {
			if ok {
				t.Errorf("%+v: %+v, want allow", c.mv, d)
			}
			continue
		}
		if !ok || d.Verdict != hookv1.Forbid || d.Reason != c.reason {
			t.Errorf("%+v: %+v, want forbid %q", c.mv, d, c.reason)
		}
	}
	if _, ok := run(t, nil, hookv1.PointCheckForbidden, hookv1.MessageView{Topic: "audit"}); ok {
		t.Fatal("empty config forbids")
	}
	if !rejects(hookv1.KV{Key: "require_keys", Value: "maybe"}) || !rejects(hookv1.KV{Key: "deny_tag", Value: "x"}) {
		t.Fatal("bad config accepted")
	}
}
