// Package hookv1 is the schema of rocketsend's plugin ABI v1 (hook.proto, package hook.v1) and a
// hand-written protobuf wire-format codec for it, usable by the host and by Go guests alike. It
// depends on the standard library only and builds for GOOS=wasip1 GOARCH=wasm.
//
// Host side: AppendMessageView and AppendHookConfig encode without allocating when given a
// buffer with room; DecodeHookInfo and DecodeDecision decode strictly (unknown fields skipped,
// malformed input an error wrapping ErrMalformed, never a panic).
//
// Guest side: View reads a MessageView in place without allocating; DecisionBuilder appends a
// Decision into a reusable buffer; AppendHookInfo encodes the guest's self-description and
// DecodeHookConfig its configuration.
//
// The bytes are protobuf: any protobuf implementation generated from hook.proto interoperates.
// The wasm calling convention around them is specified in docs/abi.md.
package hookv1
