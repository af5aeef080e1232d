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

func TestRedact(t *testing.T) {
	r := &redactor{minDigits: 12, mask: '*'}
	for in, want := range map[string]string{
		"":                                 "",
		"order 12345678901 ok":             "order 12345678901 ok",
		"card 4111111111111111, exp 12/29": "card ****************, exp 12/29",
		"123456789012":                     "************",
		"a1234567890123b 99 555555555555":  "a*************b 99 ************",
	} {
		out, changed := r.redact([]byte(in))
		if string(out) != want || changed != (in != want) {
			t.Errorf("redact(%q) = %q, %v; want %q", in, out, changed, want)
		}
	}
}

func TestPlugin(t *testing.T) {
	fh := &guest.FakeHost{Body: []byte(`{"card":"4111111111111111"}`)}
	guest.SetFakeHost(fh)
	defer guest.SetFakeHost(nil)
	mv := hookv1.MessageView{BodySize: uint32(len(fh.Body))}
	d, ok := run(t, nil, hookv1.PointBeforeSend, mv)
	if !ok || !d.ReplaceBody || string(d.Body) != `{"card":"****************"}` ||
		len(d.Edits) != 1 || d.Edits[0] != (hookv1.PropertyEdit{Name: "redacted", Value: "true"}) {
		t.Fatalf("%+v", d)
	}
	if string(fh.Body) != `{"card":"4111111111111111"}` {
		t.Fatal("host body modified")
	}
	d, _ = run(t, []hookv1.KV{{Key: "min_digits", Value: "20"}, {Key: "mask", Value: "#"}}, hookv1.PointBeforeSend, mv)
	if d.ReplaceBody {
		t.Fatal("min_digits=20 redacted a 16-digit run")
	}
	if _, ok := run(t, nil, hookv1.PointBeforeSend, hookv1.MessageView{BodySize: mv.BodySize, Batch: true}); ok {
		t.Fatal("a batch's body was redacted")
	}
	fh.Body = []byte("no digits")
	if _, ok := run(t, nil, hookv1.PointBeforeSend, hookv1.MessageView{BodySize: 9}); ok {
		t.Fatal("unchanged body produced a decision")
	}
	if !rejects(hookv1.KV{Key: "min_digits", Value: "0"}) || !rejects(hookv1.KV{Key: "mask", Value: "**"}) || !rejects(hookv1.KV{Key: "x", Value: "1"}) {
		t.Fatal("bad config accepted")
	}
	info, _ := guest.SimulateDescribe()
	if h, _ := hookv1.DecodeHookInfo(info); !h.Need(hookv1.NeedBodyLazy) {
		t.Fatalf("needs %v", h.Needs)
	}
}
