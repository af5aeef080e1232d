package host

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
)

// Loading is bounded by its context, always. wazero can stop a guest only when its runtime was
// built to close modules on context done (WithCloseOnContextDone), which costs every call of the
// plugin a goroutine and every guest loop a check (docs/performance.md): the price of WithCallTimeout,
// and so only paid by plugins that set one. A plugin without a call timeout is trusted with its
// calls, but its load-time code (a start function, _initialize, hook_describe, hook_init) runs
// when a service starts or reloads, and a guest looping there would hang New, Reload and everything
// waiting on them whatever their deadline.
//
// So, before the plugin's own runtime instantiates anything, the module is first instantiated once
// in a trial runtime that does close on context done, and its load-time code runs there under the
// load's context; the trial instance is then thrown away. A guest cannot tell the two apart: it sees
// the same imports, configuration, grants, fake clocks and deterministic random source, so the
// instances of the real runtime run the same code to the same end. (What it could see change is a
// granted directory's content, which the operator controls.) The trial costs one more compilation
// of the module per process (kept by the compilation cache, under another key) and one
// instantiation per load, and is skipped when the context can never end or when a call timeout
// already makes the real runtime interruptible.

// trialLoad runs the module's load-time code once under ctx in an interruptible runtime.
func (p *WasmPlugin) trialLoad(ctx context.Context, code []byte) error {
	if p.cfg.callTimeout > 0 || ctx.Done() == nil {
		return nil
	}
	rc := wazero.NewRuntimeConfigCompiler().WithMemoryLimitPages(p.cfg.memPages).WithCloseOnContextDone(true)
	if p.cfg.compileCache != nil {
		rc = rc.WithCompilationCache(p.cfg.compileCache)
	} else if p.ownCache != nil {
		rc = rc.WithCompilationCache(p.ownCache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer rt.Close(context.Background())
	compiled, err := rt.CompileModule(ctx, code)
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	if err := p.instantiateImports(ctx, rt); err != nil {
		return err
	}
	in, _, err := p.instantiate(ctx, rt, compiled, true)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("loading did not finish before the context ended (%w): %v", ctx.Err(), err)
		}
		// The trial is muted; the real instance runs the same code to the same failure, and logs
		// what the guest wrote on the way (a hook_init's reason on stderr).
		return nil
	}
	return in.mod.Close(context.Background())
}
