//go:build !wasip1

package main

import (
	"testing"

	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

func TestJavaHashCode(t *testing.T) {
	// Values from Java's "...".hashCode().
	for s, want := range map[string]int32{
		"": 0, "a": 97, "hello": 99162322, "order-42": javaRef("order-42"),
		"polygenelubricants": -2147483648, "Aa": 2112, "BB": 2112, "héllo": 103094734, "😀": 1772899, /* surrogates D83D DE00 */
	} {
		if got := javaHashCode([]byte(s)); got != want {
			t.Errorf("hash(%q) = %d, want %d", s, got, want)
		}
	}
}

// javaRef is a straightforward reference over UTF-16 code units.
func javaRef(s string) int32 {
	var h int32
	for _, c := range s {
		h = 31*h + c
	}
	return h
}

func TestQueueIndex(t *testing.T) {
	// polygenelubricants hashes to MinInt32: % 8 = 0; "hello" % 3.
	if got := queueIndex([]byte("polygenelubricants"), 8); got != 0 {
		t.Fatal(got)
	}
	if got := queueIndex([]byte("hello"), 3); got != 99162322%3 {
		t.Fatal(got)
	}
	// A negative hash: -value.
	key := []byte("order-")
	for javaHashCode(key) >= 0 {
		key = append(key, 'x')
	}
	h := javaHashCode(key)
	if got := queueIndex(key, 7); got != -(h%7) || got < 0 {
		t.Fatal(got)
	}
}

func run(t *testing.T, settings []hookv1.KV, mv hookv1.MessageView) (hookv1.Decision, bool) {
	t.Helper()
	if rc := guest.SimulateInit(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: settings})); rc != 0 {
		t.Fatal("init rejected")
	}
	b, err := guest.SimulateCall(hookv1.PointSelectQueue, hookv1.AppendMessageView(nil, &mv))
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

func TestSelect(t *testing.T) {
	d, ok := run(t, nil, hookv1.MessageView{Keys: " order-1 other", QueueCount: 8})
	if !ok || d.QueueIndex != queueIndex([]byte("order-1"), 8) {
		t.Fatalf("keys: %+v %v", d, ok)
	}
	d, _ = run(t, nil, hookv1.MessageView{Keys: "k", SelectArg: []byte("hello"), QueueCount: 3})
	if d.QueueIndex != 99162322%3 {
		t.Fatalf("arg: %+v", d)
	}
	d, _ = run(t, []hookv1.KV{{Key: "source", Value: "keys"}}, hookv1.MessageView{Keys: "k", SelectArg: []byte("hello"), QueueCount: 3})
	if d.QueueIndex != queueIndex([]byte("k"), 3) {
		t.Fatalf("source=keys: %+v", d)
	}
	if _, ok := run(t, []hookv1.KV{{Key: "source", Value: "arg"}}, hookv1.MessageView{Keys: "k", QueueCount: 3}); ok {
		t.Fatal("source=arg without arg chose")
	}
	if _, ok := run(t, nil, hookv1.MessageView{QueueCount: 3}); ok {
		t.Fatal("no key chose")
	}
	if rc := guest.SimulateInit(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: []hookv1.KV{{Key: "source", Value: "x"}}})); rc == 0 {
		t.Fatal("bad source accepted")
	}
	info, err := guest.SimulateDescribe()
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := hookv1.DecodeHookInfo(info); h.Name != "keyhash" || !h.Has(hookv1.PointSelectQueue) || len(h.Points) != 1 {
		t.Fatalf("info %+v", h)
	}
}
