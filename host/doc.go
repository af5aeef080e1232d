// Package host runs rocketsend plugins: the one place for them. A Plugin is loaded from a file by
// one of two back ends that implement the same contract (ABI v1, docs/abi.md):
//
//   - wasm (LoadWasm): a WebAssembly module run in process on wazero, sandboxed, with a bounded
//     pool of instances, a memory cap and an optional per-call deadline that stops a runaway guest;
//   - process (LoadProcess): a separate program speaking gRPC through hashicorp/go-plugin,
//     crash-isolated, restarted with backoff, called through batches on one stream.
//
// Both take one option list: the options of every plugin are Opts (WithLogger, WithHookConfig,
// WithFailurePolicy, WithCallTimeout, WithEnv, WithChecksum, WithTopics, WithPoints), and the
// options of one back end are WasmOpts or ProcessOpts, which are Opts too. Load picks the back end
// by Kind.
//
// A plugin becomes a producer's hooks and queue selector through core/send's interfaces:
// Plugin.Hooks and Plugin.Selector for one plugin, Set for an ordered list (its hooks in order and
// its selectors as one chain, each falling back to the next). The filter (the hook points in use
// and the topics, the plugin's own declaration narrowed by WithPoints and WithTopics) is applied
// here, once, for hooks and selectors alike. Failures are classified (FailureKind), counted (Stats),
// logged through go-hclog, and handled by each hook point's failure policy.
package host
