package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// TestSetFilterAndChain loads two example plugins (policy: forbidden; keyhash: select) for one
// topic and checks the one filter (points, topics, checksum) and the selector chain.
func TestSetFilterAndChain(t *testing.T) {
	dir := t.TempDir()
	if err := examplebuild.Build(context.Background(), dir, "policy", "keyhash"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	policyPath, keyhashPath := filepath.Join(dir, "policy.wasm"), filepath.Join(dir, "keyhash.wasm")
	deny := WithHookConfig(nil, hookv1.KV{Key: "deny_tags", Value: "secret"})

	if _, err := Load(ctx, KindWasm, policyPath, WithCompilationCache(ccache), deny, WithPoints(hookv1.PointBeforeSend)); err == nil ||
		!strings.Contains(err.Error(), "hook points BEFORE_SEND are configured but the plugin does not declare them (it declares CHECK_FORBIDDEN)") {
		t.Errorf("undeclared point: %v", err)
	}
	if _, err := Load(ctx, KindWasm, policyPath, WithCompilationCache(ccache), deny, WithChecksum(strings.Repeat("0", 64))); err == nil ||
		!strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("checksum: %v", err)
	}
	if _, err := Load(ctx, KindWasm, policyPath, WithArgs("x")); err == nil ||
		!strings.Contains(err.Error(), "WithArgs is an option of process plugins") {
		t.Errorf("process option given to a wasm plugin: %v", err)
	}
	if _, err := Load(ctx, KindProcess, policyPath, WithPoolSize(2)); err == nil ||
		!strings.Contains(err.Error(), "WithPoolSize is an option of wasm plugins") {
		t.Errorf("wasm option given to a process plugin: %v", err)
	}
	if _, err := Load(ctx, "jar", policyPath); err == nil || !strings.Contains(err.Error(), `unknown kind "jar"`) {
		t.Errorf("unknown kind: %v", err)
	}

	b, _ := os.ReadFile(policyPath)
	sum := sha256.Sum256(b)
	policy, err := Load(ctx, KindWasm, policyPath, WithCompilationCache(ccache), deny,
		WithChecksum(hex.EncodeToString(sum[:])), WithTopics("Guarded"))
	if err != nil {
		t.Fatal(err)
	}
	keyhash, err := Load(ctx, KindWasm, keyhashPath, WithCompilationCache(ccache), WithTopics("Guarded"),
		WithHookConfig(nil, hookv1.KV{Key: "source", Value: "keys"}))
	if err != nil {
		t.Fatal(err)
	}
	set := Set{policy, keyhash}
	defer func() {
		if err := set.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if err := set.Close(context.Background()); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}()
	if len(set.Hooks()) != 1 || set.SelectorFactory() == nil {
		t.Fatalf("hooks %v selector %v", set.Hooks(), set.SelectorFactory())
	}
	if (Set{policy}).SelectorFactory() != nil {
		t.Error("a set without selectors has a selector factory")
	}
	h := set.Hooks()[0].(send.CheckForbiddenHook)
	for topic, forbidden := range map[string]bool{"Guarded": true, "Other": false} {
		m := message.New(topic, []byte("x"))
		m.SetTags("secret")
		// The producer gives hooks the topic without its namespace.
		if err := h.CheckForbidden(&send.SendContext{Context: ctx, Message: m, Namespace: "ns"}); (err != nil) != forbidden {
			t.Errorf("topic %s: forbidden = %v, want %v", topic, err, forbidden)
		}
	}
	queues := make([]message.MessageQueue, 8)
	for i := range queues {
		queues[i] = message.MessageQueue{BrokerName: "b", QueueID: i}
	}
	key := "order-42"
	want := int(send.JavaStringHashCode(key)) % 8
	if want < 0 {
		want = -want
	}
	guarded := message.New("Guarded", nil)
	guarded.SetKeys(key)
	for i := 0; i < 3; i++ {
		q, err := set.SelectorFactory().SelectorFor("Guarded").Select(guarded, queues, nil)
		if err != nil || q.QueueID != want {
			t.Fatalf("keyhash on its topic chose %v (%v), want queue %d", q, err, want)
		}
	}
	other := message.New("Other", nil)
	other.SetKeys(key)
	sel := set.SelectorFactory().SelectorFor("Other")
	seen := map[int]bool{}
	for i := 0; i < 8; i++ {
		q, err := sel.Select(other, queues, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen[q.QueueID] = true
	}
	if len(seen) != 8 {
		t.Errorf("off its topics the chain should round robin, saw queues %v", seen)
	}
}

// TestSetProcess runs the policy example built as a process plugin through a Set, with a
// checksum, settings, a topic filter and WithEnv, and checks that Close leaves no process.
func TestSetProcess(t *testing.T) {
	dir := t.TempDir()
	if err := examplebuild.BuildProcess(context.Background(), dir, "policy"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "policy")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	ctx := context.Background()
	p, err := Load(ctx, KindProcess, path, WithChecksum(hex.EncodeToString(sum[:])), WithTopics("Guarded"),
		WithHookConfig(nil, hookv1.KV{Key: "deny_tags", Value: "secret"}), WithEnv("REGION", "eu"))
	if err != nil {
		t.Fatal(err)
	}
	set := Set{p}
	h := set.Hooks()[0].(send.CheckForbiddenHook)
	for topic, forbidden := range map[string]bool{"Guarded": true, "Other": false} {
		m := message.New(topic, []byte("x"))
		m.SetTags("secret")
		m.SetKeys("k")
		if err := h.CheckForbidden(&send.SendContext{Context: ctx, Message: m}); (err != nil) != forbidden {
			t.Errorf("topic %s: forbidden = %v, want %v", topic, err, forbidden)
		}
	}
	if st := p.Stats(); st.Calls != 1 || st.Created != 1 || st.Live != 1 || st.Pid == 0 {
		t.Errorf("stats = %+v", st)
	}
	if err := set.Close(ctx); err != nil {
		t.Fatal(err)
	}
	noProcessLeft(t, path)
	m := message.New("Guarded", []byte("x"))
	m.SetTags("secret")
	var pe *PluginError
	if err := h.CheckForbidden(&send.SendContext{Context: ctx, Message: m}); !errors.As(err, &pe) || !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
}
