package host

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// waitFor polls cond for up to 30 s (a bound, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestRespawnAndBreaker: a discarded instance is replaced in the background; when replacements
// fail, calls fail at once without instantiating, until a retry after the backoff succeeds.
func TestRespawnAndBreaker(t *testing.T) {
	p, _ := load(t, "fault", WithPoolSize(1), WithHookConfig(nil, hookv1.KV{Key: "mode", Value: "trap"}))
	bh := p.Hooks().(send.SendMessageBeforeHook)
	if err := bh.SendMessageBefore(newSC("t", "ok")); err != nil {
		t.Fatal(err)
	}
	if err := bh.SendMessageBefore(newSC("t", "boom")); err == nil {
		t.Fatal("trap not reported")
	}
	waitFor(t, "the replacement instance", func() bool { s := p.Stats(); return s.Live == 1 && s.Created == 2 })
	if err := bh.SendMessageBefore(newSC("t", "ok")); err != nil {
		t.Fatalf("call on the replacement: %v", err)
	}

	// From now on every new instance is rejected by hook_init.
	good := p.cfgBytes
	p.cfgBytes = hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: []hookv1.KV{{Key: "mode", Value: "initfail"}}})
	if err := bh.SendMessageBefore(newSC("t", "boom")); err == nil {
		t.Fatal("trap not reported")
	}
	waitFor(t, "the failed replacement", func() bool { return p.createBlocked() != nil })
	created := p.Stats().Created
	for range 20 {
		err := bh.SendMessageBefore(newSC("t", "ok"))
		var pe *PluginError
		if !errors.As(err, &pe) || pe.Kind != FailUnavailable || !strings.Contains(err.Error(), "next attempt in") ||
			!strings.Contains(err.Error(), "hook_init") {
			t.Fatalf("call with the breaker open: %v", err)
		}
		if p.createBlocked() == nil {
			break // the backoff ran out on a slow machine; the half-open retry is checked below
		}
	}
	if s := p.Stats(); s.Created != created && p.createBlocked() != nil {
		t.Fatalf("instances created while the breaker was open: %d -> %d", created, s.Created)
	}

	// Healthy again: after the backoff a call creates an instance and succeeds.
	p.cfgBytes = good
	waitFor(t, "the backoff", func() bool { return p.createBlocked() == nil })
	if err := bh.SendMessageBefore(newSC("t", "ok")); err != nil {
		t.Fatalf("call after recovery: %v", err)
	}
	if s := p.Stats(); s.Live != 1 {
		t.Fatalf("stats after recovery: %+v", s)
	}
}

// TestCallCircuit: after circuitThreshold consecutive failed calls the plugin is not called until
// the backoff ends; a successful call then closes the circuit.
func TestCallCircuit(t *testing.T) {
	p, logs := load(t, "fault", WithPoolSize(1), WithHookConfig(nil, hookv1.KV{Key: "mode", Value: "trap"}))
	bh := p.Hooks().(send.SendMessageBeforeHook)
	for range circuitThreshold {
		if err := bh.SendMessageBefore(newSC("t", "boom")); err == nil {
			t.Fatal("trap not reported")
		}
	}
	discarded := p.Stats().Discarded
	err := bh.SendMessageBefore(newSC("t", "ok"))
	var pe *PluginError
	if p.circuitOpen() != nil { // not yet half open (the backoff is 100 ms; a slow machine may pass it)
		if !errors.As(err, &pe) || pe.Kind != FailUnavailable || !strings.Contains(err.Error(), "circuit open") {
			t.Fatalf("call with the circuit open: %v", err)
		}
		if s := p.Stats(); s.Discarded != discarded {
			t.Fatalf("the guest was called with the circuit open: %+v", s)
		}
	}
	if !strings.Contains(logs.String(), "circuit open") {
		t.Fatalf("opening not logged:\n%s", logs)
	}
	waitFor(t, "the half-open state", func() bool { return p.circuitOpen() == nil })
	if err := bh.SendMessageBefore(newSC("t", "ok")); err != nil {
		t.Fatalf("half-open call: %v", err)
	}
	if p.circuit.consecutive.Load() != 0 || !strings.Contains(logs.String(), "circuit closed") {
		t.Fatalf("circuit not closed: %d consecutive\n%s", p.circuit.consecutive.Load(), logs)
	}
}

// TestBatchBodyNotReplaced: a plugin's replace_body on a batch wrapper (whose body is the encoded
// batch) is an invalid decision; the batch is left as it was.
func TestBatchBodyNotReplaced(t *testing.T) {
	p, _ := load(t, "good")
	sc := newSC("orders", "retag")
	sc.Batch = true
	err := p.Hooks().(send.SendMessageBeforeHook).SendMessageBefore(sc)
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Kind != FailInvalidDecision || !strings.Contains(err.Error(), "replace_body on a batch") {
		t.Fatalf("replace_body on a batch: %v", err)
	}
	if string(sc.Message.Body) != "hello world" || sc.Message.Tags() != "retag" {
		t.Fatalf("the batch was changed: body %q tags %q", sc.Message.Body, sc.Message.Tags())
	}
}
