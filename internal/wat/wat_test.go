package wat

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

const sample = `
(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (memory (export "memory") 1 2)
  (global $g (mut i32) (i32.const 5))
  (data (i32.const 16) "hi\n\00\ff")
  (func $sum (export "sum") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    local.get $acc
    call $twice)
  (func (export "pack") (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (global.get $g)) (i64.const 32)) (i64.const 0x80000003)))
  (func (export "byte") (param i32) (result i32)
    (if (result i32) (i32.eq (local.get 0) (i32.const 0))
      (then (i32.load8_u offset=16 (i32.const 0)))
      (else (i32.load8_u (i32.add (i32.const 16) (local.get 0))))))
  (func $start (global.set $g (i32.const 7)))
  (start $start))`

func TestAssemble(t *testing.T) {
	bin, err := Assemble(sample)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	_, err = rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithFunc(func(x uint32) uint32 { return 2 * x }).Export("twice").Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	call := func(name string, args ...uint64) uint64 {
		t.Helper()
		r, err := mod.ExportedFunction(name).Call(ctx, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r[0]
	}
	if got := call("sum", 4); got != 20 {
		t.Errorf("sum(4) = %d, want 20", got)
	}
	if got := call("pack"); got != 7<<32|0x80000003 {
		t.Errorf("pack = %#x", got)
	}
	if got := call("byte", 0); got != 'h' {
		t.Errorf("byte(0) = %d", got)
	}
	if got := call("byte", 4); got != 0xff {
		t.Errorf("byte(4) = %d", got)
	}
	var _ api.Module = mod
	if mod.Memory().Size() != 65536 {
		t.Errorf("memory size %d", mod.Memory().Size())
	}
}

func TestErrors(t *testing.T) {
	for _, src := range []string{"", "(func)", "(module (func (bogus.op)))", "(module (func (br $nowhere)))", `(module (data (i32.const 0) "\zz"))`} {
		if _, err := Assemble(src); err == nil {
			t.Errorf("%q assembled", src)
		}
	}
}
