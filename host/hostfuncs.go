package host

import (
	"context"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

const (
	i32 = api.ValueTypeI32
)

func stateOf(ctx context.Context) *callState {
	if st, ok := ctx.Value(stateKey{}).(*callState); ok && st.active {
		return st
	}
	return nil
}

func hclogLevel(l int32) hclog.Level {
	switch {
	case l <= hookv1.LogTrace:
		return hclog.Trace
	case l == hookv1.LogDebug:
		return hclog.Debug
	case l == hookv1.LogInfo:
		return hclog.Info
	case l == hookv1.LogWarn:
		return hclog.Warn
	}
	return hclog.Error
}

// instantiateHostModule provides the producer_hook imports of docs/abi.md §3. They read the
// per-call state from the context of the call (set per instance, no allocation).
func (p *WasmPlugin) instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(hookv1.ImportModule)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		var n int
		if st := stateOf(ctx); st != nil && st.msg != nil {
			n = len(st.msg.Body)
		}
		stack[0] = uint64(uint32(int32(n)))
	}), nil, []api.ValueType{i32}).Export(hookv1.ImportBodyLen)

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		off, buf, limit := int32(uint32(stack[0])), uint32(stack[1]), uint32(stack[2])
		st := stateOf(ctx)
		res := int32(-1)
		if st != nil && st.msg != nil && p.needBody && off >= 0 && int32(limit) >= 0 {
			if uint64(buf)+uint64(limit) <= uint64(mod.Memory().Size()) {
				body := st.msg.Body
				res = 0
				if int(off) < len(body) {
					src := body[off:]
					if uint32(len(src)) > limit {
						src = src[:limit]
					}
					mod.Memory().Write(buf, src)
					res = int32(len(src))
				}
			}
		}
		stack[0] = uint64(uint32(res))
	}), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).Export(hookv1.ImportBodyRead)

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		name, nameLen, buf, limit := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
		res := int32(-1)
		if st := stateOf(ctx); st != nil && st.msg != nil {
			if nb, ok := mod.Memory().Read(name, nameLen); ok {
				if v, ok := st.msg.Properties[string(nb)]; ok {
					res = int32(len(v))
					if uint32(len(v)) <= limit && len(v) > 0 {
						if !mod.Memory().WriteString(buf, v) {
							res = -1
						}
					}
				}
			}
		}
		stack[0] = uint64(uint32(res))
	}), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).Export(hookv1.ImportGetProperty)

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		res := int32(-1)
		if stateOf(ctx) != nil {
			res = 0
			if enabled(p.log, hclogLevel(int32(uint32(stack[0])))) {
				res = 1
			}
		}
		stack[0] = uint64(uint32(res))
	}), []api.ValueType{i32}, []api.ValueType{i32}).Export(hookv1.ImportLogEnabled)

	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
		if stateOf(ctx) == nil {
			return
		}
		lvl := hclogLevel(int32(uint32(stack[0])))
		ptr, n := uint32(stack[1]), uint32(stack[2])
		if !enabled(p.log, lvl) {
			return
		}
		if n > maxLogLen {
			n = maxLogLen
		}
		if b, ok := mod.Memory().Read(ptr, n); ok {
			guestLog(p.log, &p.logLimit, lvl, string(b))
		}
	}), []api.ValueType{i32, i32, i32}, nil).Export(hookv1.ImportLog)

	_, err := b.Instantiate(ctx)
	return err
}

// enabled reports whether l writes messages at lvl. It asks l's Is* methods rather than comparing
// with GetLevel: hclog's null logger (LoadWasm's default) reports NoLevel, below every level, and
// so looked as if it logged everything, which made guests format log lines that were then dropped.
func enabled(l hclog.Logger, lvl hclog.Level) bool {
	switch lvl {
	case hclog.Trace:
		return l.IsTrace()
	case hclog.Debug:
		return l.IsDebug()
	case hclog.Info:
		return l.IsInfo()
	case hclog.Warn:
		return l.IsWarn()
	}
	return l.IsError()
}
