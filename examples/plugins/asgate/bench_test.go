//go:build !wasip1

package asgate_test

import (
	"context"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Per-call cost of the AssemblyScript guest through the host's adapters, one instance, against
// the Go guest keyhash for the same selection. Figures: README.md and docs/performance.md.

func benchLoad(b *testing.B, path string, settings ...hookv1.KV) *host.WasmPlugin {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := host.LoadWasm(ctx, path, host.WithCacheDir(""), host.WithPoolSize(1), host.WithHookConfig(nil, settings...))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// BenchmarkForbidden: CHECK_FORBIDDEN on metadata (a tag deny-list and keys), the send allowed.
func BenchmarkForbidden(b *testing.B) {
	p := benchLoad(b, asgateWasm(b), hookv1.KV{Key: "deny_tags", Value: "secret,internal"}, hookv1.KV{Key: "require_keys", Value: "true"})
	h := p.Hooks().(send.CheckForbiddenHook)
	c := sc(msg("orders", "paid", "order-42", []byte("order placed")))
	b.ReportAllocs()
	for b.Loop() {
		if err := h.CheckForbidden(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBeforeSend: get_property once, then a Decision with one property edit, applied.
func BenchmarkBeforeSend(b *testing.B) {
	p := benchLoad(b, asgateWasm(b))
	h := p.Hooks().(send.SendMessageBeforeHook)
	c := sc(msg("orders", "paid", "order-42", []byte("order placed")))
	b.ReportAllocs()
	for b.Loop() {
		if err := h.SendMessageBefore(c); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSelect(b *testing.B, p *host.WasmPlugin) {
	sel := p.Selector(send.RoundRobin())
	m := msg("orders", "", "order-订单-42", nil)
	qs := queues("orders", 8)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sel.Select(m, qs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelect: SELECT_QUEUE by Java's hash of the first key, 8 queues.
func BenchmarkSelect(b *testing.B) { benchSelect(b, benchLoad(b, asgateWasm(b))) }

// BenchmarkSelectGoKeyhash: the same choice made by the Go guest keyhash.
func BenchmarkSelectGoKeyhash(b *testing.B) { benchSelect(b, benchLoad(b, keyhashWasm(b))) }
