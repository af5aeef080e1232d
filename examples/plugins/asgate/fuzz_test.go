//go:build !wasip1

package asgate_test

import (
	"context"
	"encoding/binary"
	"os"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// The fuzz targets drive the guest's own decoders (the hand-written protobuf readers of
// assembly/wire.ts and config.ts) with arbitrary bytes, calling the exports directly on a bare
// wazero runtime: no host decoder stands between the input and the guest. The guest must never
// trap; it answers a bad view with an error result and a bad configuration with a refusal.

var (
	rawOnce sync.Once
	rawRT   wazero.Runtime
	rawMod  wazero.CompiledModule
	rawErr  error
)

// rawModule compiles asgate once for the fuzz targets, with stand-ins for the host imports: a
// fixed body, no properties, logging off.
func rawModule(tb testing.TB) (wazero.Runtime, wazero.CompiledModule) {
	tb.Helper()
	path := asgateWasm(tb)
	rawOnce.Do(func() {
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithMemoryLimitPages(256))
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		body := []byte("body \xe2\x82\xac ok")
		_, err := rt.NewHostModuleBuilder("producer_hook").
			NewFunctionBuilder().WithFunc(func() int32 { return int32(len(body)) }).Export("body_len").
			NewFunctionBuilder().WithFunc(func(_ context.Context, m api.Module, off, buf, limit int32) int32 {
			if off < 0 || limit < 0 {
				return -1
			}
			if int(off) >= len(body) {
				return 0
			}
			n := copy(make([]byte, limit), body[off:])
			if !m.Memory().Write(uint32(buf), body[off:int(off)+n]) {
				return -1
			}
			return int32(n)
		}).Export("body_read").
			NewFunctionBuilder().WithFunc(func(_, _, _, _ int32) int32 { return -1 }).Export("get_property").
			NewFunctionBuilder().WithFunc(func(int32) int32 { return 0 }).Export("log_enabled").
			NewFunctionBuilder().WithFunc(func(_, _, _ int32) {}).Export("log").
			Instantiate(ctx)
		if err != nil {
			rawErr = err
			return
		}
		bin, err := os.ReadFile(path)
		if err != nil {
			rawErr = err
			return
		}
		rawMod, rawErr = rt.CompileModule(ctx, bin)
		rawRT = rt
	})
	if rawErr != nil {
		tb.Fatal(rawErr)
	}
	return rawRT, rawMod
}

// instance is one fresh instance of asgate (the stub runtime never frees, so each input gets
// its own) after _initialize.
type instance struct {
	tb  testing.TB
	mod api.Module
}

func newInstance(tb testing.TB) *instance {
	rt, cm := rawModule(tb)
	mod, err := rt.InstantiateModule(context.Background(), cm,
		wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		tb.Fatalf("instantiate: %v", err)
	}
	tb.Cleanup(func() { _ = mod.Close(context.Background()) })
	return &instance{tb, mod}
}

func (in *instance) call(name string, args ...uint64) uint64 {
	in.tb.Helper()
	res, err := in.mod.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil {
		in.tb.Fatalf("%s trapped: %v", name, err)
	}
	return res[0]
}

// input writes b into the scratch buffer.
func (in *instance) input(b []byte) {
	in.tb.Helper()
	ptr := uint32(in.call("hook_scratch", uint64(len(b))))
	if ptr == 0 {
		in.tb.Fatal("hook_scratch returned 0")
	}
	if !in.mod.Memory().Write(ptr, b) {
		in.tb.Fatalf("scratch %#x+%d outside memory", ptr, len(b))
	}
}

func (in *instance) init(cfg []byte) uint32 {
	in.input(cfg)
	return uint32(in.call("hook_init", uint64(len(cfg))))
}

// result reads a packed result and checks it lies inside memory.
func (in *instance) result(r uint64) (b []byte, isErr bool) {
	in.tb.Helper()
	ptr, n, isErr, noop := hookv1.UnpackResult(r)
	if noop {
		return nil, false
	}
	b, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		in.tb.Fatalf("result %#x+%d outside memory", ptr, n)
	}
	return b, isErr
}

var fuzzConfig = hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: []hookv1.KV{
	{Key: "deny_tags", Value: "secret,internal"}, {Key: "require_keys", Value: "true"}, {Key: "max_body", Value: "100"},
	{Key: "text_body", Value: "true"}, {Key: "default_priority", Value: "normal"}, {Key: "priorities", Value: "low,normal"},
}})

func viewSeeds() [][]byte {
	worked := []byte{ // docs/abi.md §8
		0x0a, 0x06, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x73, 0x12, 0x04, 0x70, 0x61, 0x69, 0x64, 0x1a, 0x04,
		0x6f, 0x2d, 0x34, 0x32, 0x22, 0x0c, 0x0a, 0x06, 0x72, 0x65, 0x67, 0x69, 0x6f, 0x6e, 0x12, 0x02,
		0x65, 0x75, 0x28, 0x80, 0x01, 0x3a, 0x02, 0x70, 0x67, 0x48, 0x01, 0x50, 0x01, 0x58, 0x01,
	}
	sel := hookv1.AppendMessageView(nil, &hookv1.MessageView{Topic: "orders", Keys: "k1 k2", QueueCount: 8,
		SelectArg: []byte("arg-🚀"), Queues: []hookv1.QueueRef{{Broker: "broker-a", QueueID: 3}}})
	tags := hookv1.AppendMessageView(nil, &hookv1.MessageView{Topic: "orders", Tags: "a || secret ||", BodySize: 12})
	return [][]byte{
		worked, sel, tags, nil,
		worked[:7],                     // truncated string
		{0x28, 0xff, 0xff},             // truncated varint
		{0x29, 1, 2, 3, 4, 5, 6, 7, 8}, // field 5 as I64: wrong wire type
		{0x9b, 0x01, 0x08, 0x01, 0x9c, 0x01, 0x80, 0x01, 0x08}, // a group (field 19), then a tag past the end
		{0x80, 0x01, 0x00},                   // field 16 varint 0
		{0x00},                               // field 0
		{0x82, 0x01, 0x00},                   // select_arg present and empty (field 16 LEN: wrong wire)
		{0x8a, 0x01, 0x00, 0x80, 0x01, 0x03}, // select_arg "", queue_count 3
		{0x1a, 0x05, 0xff, 0xfe, 0xed, 0xa0, 0x80, 0x80, 0x01, 0x05}, // keys not UTF-8
	}
}

// FuzzView feeds arbitrary MessageView bytes to hook_call at every point the plugin implements.
func FuzzView(f *testing.F) {
	for _, s := range viewSeeds() {
		for _, point := range []byte{1, 3, 4} {
			f.Add(point, s)
		}
	}
	rawModule(f) // build and compile before the first input: a slow first input looks hung
	f.Fuzz(func(t *testing.T, point byte, view []byte) {
		in := newInstance(t)
		if got := in.init(fuzzConfig); got != 0 {
			t.Fatalf("fuzz configuration refused: %d", got)
		}
		in.input(view)
		r := in.call("hook_call", uint64(point%6), uint64(len(view)))
		b, isErr := in.result(r)
		if isErr {
			return // a malformed view: an error result is the right answer
		}
		if _, err := hookv1.DecodeDecision(b); err != nil {
			t.Fatalf("point %d: the guest encoded a malformed Decision % x: %v", point%6, b, err)
		}
	})
}

// FuzzConfig feeds arbitrary HookConfig bytes to hook_init.
func FuzzConfig(f *testing.F) {
	f.Add(fuzzConfig)
	f.Add([]byte{})
	f.Add(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Config: []byte("deny_tags=a\n#x\nmax_body=5\n")}))
	f.Add(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: []hookv1.KV{{Key: "stamp", Value: "\xff\xfe"}, {Key: "source", Value: "arg"}}}))
	f.Add([]byte{0x12, 0x04, 0x0a, 0x02, 0x6b})       // settings entry truncated
	f.Add([]byte{0x12, 0x03, 0x0d, 0x01, 0x02})       // an I32 field inside an entry, truncated
	f.Add([]byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x10}) // config length far past the end
	rawModule(f)
	f.Fuzz(func(t *testing.T, cfg []byte) {
		in := newInstance(t)
		switch got := in.init(cfg); got {
		case 0:
			// accepted: a call still works
			view := hookv1.AppendMessageView(nil, &hookv1.MessageView{Topic: "orders", Keys: "k", QueueCount: 4})
			in.input(view)
			if _, isErr := in.result(in.call("hook_call", 4, uint64(len(view)))); isErr {
				t.Fatal("hook_call failed after an accepted configuration")
			}
		case 1:
		default:
			t.Fatalf("hook_init returned %d", got)
		}
	})
}

// TestScratchGrows checks hook_scratch's contract (§2): at least min_len bytes, a stable
// address until a larger request, and 0 for a negative length.
func TestScratchGrows(t *testing.T) {
	in := newInstance(t)
	p1 := uint32(in.call("hook_scratch", 16))
	if p2 := uint32(in.call("hook_scratch", 4096)); p2 != p1 {
		t.Errorf("scratch moved without need: %#x -> %#x", p1, p2)
	}
	big := make([]byte, 100_000)
	binary.LittleEndian.PutUint32(big[len(big)-4:], 0xdeadbeef)
	in.input(big)
	p3 := uint32(in.call("hook_scratch", uint64(len(big))))
	if v, ok := in.mod.Memory().ReadUint32Le(p3 + uint32(len(big)) - 4); !ok || v != 0xdeadbeef {
		t.Errorf("a %d-byte scratch at %#x is not usable", len(big), p3)
	}
	if got := uint32(in.call("hook_scratch", uint64(0xffffffff))); got != 0 {
		t.Errorf("hook_scratch(-1) = %#x, want 0", got)
	}
}
