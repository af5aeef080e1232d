package host

import (
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/send"
)

// benchBefore measures one before-hook call on metadata only (the guest returns 0 for tags "fast").
func benchBefore(b *testing.B, opts ...WasmOption) {
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
