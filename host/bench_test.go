package host

import (
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// benchBefore measures one before-hook call on metadata only (the guest returns 0 for tags "fast").
func benchBefore(b *testing.B, opts ...Opt) {
	p, _ := load(b, "good", append(opts, WithPoolSize(1))...)
	bh := p.Hooks().(send.SendMessageBeforeHook)
	sc := newSC("orders", "fast")
	if err := bh.SendMessageBefore(sc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := bh.SendMessageBefore(sc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBeforeHook(b *testing.B) { benchBefore(b) }

func BenchmarkBeforeHookCallTimeout(b *testing.B) { benchBefore(b, WithCallTimeout(time.Second)) }

func BenchmarkBeforeHookParallel(b *testing.B) {
	p, _ := load(b, "good")
	bh := p.Hooks().(send.SendMessageBeforeHook)
	if err := bh.SendMessageBefore(newSC("orders", "fast")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		sc := newSC("orders", "fast")
		for pb.Next() {
			if err := bh.SendMessageBefore(sc); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHookKind measures one call of each hook point on the SDK-built metadata guest (meta):
// the view holds metadata only, the guest reads a field or two and returns "no change".
func BenchmarkHookKind(b *testing.B) {
	p, _ := load(b, "meta", WithPoolSize(1))
	pt, _ := load(b, "meta", WithPoolSize(1), WithCallTimeout(time.Second))
	h, ht := p.Hooks(), pt.Hooks()
	sel := p.Selector(nil)
	sc := newSC("orders", "fast")
	sc.Message.SetKeys("order-42")
	done := newSC("orders", "fast")
	done.Latency = time.Millisecond
	done.Result = &message.SendResult{Status: message.SendOK, MsgID: "7F0000010001", QueueOffset: 42}
	cases := []struct {
		name string
		call func() error
	}{
		{"forbidden", func() error { return h.(send.CheckForbiddenHook).CheckForbidden(sc) }},
		{"before", func() error { return h.(send.SendMessageBeforeHook).SendMessageBefore(sc) }},
		{"after", func() error { h.(send.SendMessageAfterHook).SendMessageAfter(done); return nil }},
		{"select", func() error { _, err := sel.Select(sc.Message, testQueues, nil); return err }},
		{"before-with-timeout", func() error { return ht.(send.SendMessageBeforeHook).SendMessageBefore(sc) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := c.call(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if s := p.Stats(); s.Failures != 0 {
		b.Fatalf("stats = %+v", s)
	}
}
