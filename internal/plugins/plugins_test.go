package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

func TestLoaderChecksAndFilters(t *testing.T) {
	dir := t.TempDir()
	if err := examplebuild.Build(context.Background(), dir, "policy", "keyhash"); err != nil {
		t.Fatal(err)
	}
	l := NewLoader("off", nil)
	defer l.Close(context.Background())
	ctx := context.Background()
	policy := config.Plugin{Name: "policy", Kind: config.KindWasm, Path: filepath.Join(dir, "policy.wasm"), Pos: "x.hcl:1",
		Settings: []hookv1.KV{{Key: "deny_tags", Value: "secret"}}}

	bad := policy
	bad.Hooks = []hookv1.HookPoint{hookv1.PointBeforeSend}
	if _, err := l.LoadOne(ctx, bad); err == nil || !strings.Contains(err.Error(), "x.hcl:1: plugin \"policy\": hooks names before, which the plugin does not declare (it declares forbidden)") {
		t.Errorf("undeclared hook: %v", err)
	}
	bad = policy
	bad.SHA256 = strings.Repeat("0", 64)
	if _, err := l.LoadOne(ctx, bad); err == nil || !strings.Contains(err.Error(), "the configuration expects") {
		t.Errorf("checksum: %v", err)
	}
	b, _ := os.ReadFile(policy.Path)
	sum := sha256.Sum256(b)
	good := policy
	good.SHA256 = hex.EncodeToString(sum[:])
	good.Topics = []string{"Guarded"}
	keyhash := config.Plugin{Name: "keyhash", Kind: config.KindWasm, Path: filepath.Join(dir, "keyhash.wasm"), Pos: "x.hcl:9",
		Topics: []string{"Guarded"}, Settings: []hookv1.KV{{Key: "source", Value: "keys"}}}
	process := config.Plugin{Name: "p", Kind: config.KindProcess, Path: "/bin/true", Pos: "x.hcl:20"}
	if _, err := l.Load(ctx, &config.File{Plugins: []config.Plugin{good, process}}); err == nil ||
		!strings.Contains(err.Error(), "x.hcl:20") || !strings.Contains(err.Error(), "exited before the handshake") {
		t.Errorf("process plugin that is not a plugin: %v", err)
	}

	set, err := l.Load(ctx, &config.File{Plugins: []config.Plugin{good, keyhash}})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close(context.Background())
	if len(set.Hooks()) != 1 || set.SelectorFactory() == nil {
		t.Fatalf("hooks %v selector %v", set.Hooks(), set.SelectorFactory())
	}
	h := set.Hooks()[0].(send.CheckForbiddenHook)
	for topic, forbidden := range map[string]bool{"Guarded": true, "ns%Guarded": true, "Other": false} {
		m := message.New(topic, []byte("x"))
		m.SetTags("secret")
		sc := &send.SendContext{Context: ctx, Message: m}
		if strings.HasPrefix(topic, "ns%") {
			sc.Namespace = "ns"
		}
		if err := h.CheckForbidden(sc); (err != nil) != forbidden {
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

// TestLoaderProcessKind loads an example plugin built as a process plugin from a plugin block, with
// the block's checksum, settings, topics and failure policy, and runs it through the set's hooks.
func TestLoaderProcessKind(t *testing.T) {
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
	l := NewLoader("off", nil)
	defer l.Close(context.Background())
	ctx := context.Background()
	c := config.Plugin{Name: "policy", Kind: config.KindProcess, Path: path, SHA256: hex.EncodeToString(sum[:]), Pos: "x.hcl:1",
		Settings: []hookv1.KV{{Key: "deny_tags", Value: "secret"}}, Topics: []string{"Guarded"}}
	set, err := l.Load(ctx, &config.File{Plugins: []config.Plugin{c}})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close(context.Background())
	h := set.Hooks()[0].(send.CheckForbiddenHook)
	for topic, forbidden := range map[string]bool{"Guarded": true, "Other": false} {
		m := message.New(topic, []byte("x"))
		m.SetTags("secret")
		m.SetKeys("k")
		if err := h.CheckForbidden(&send.SendContext{Context: ctx, Message: m}); (err != nil) != forbidden {
			t.Errorf("topic %s: forbidden = %v, want %v", topic, err, forbidden)
		}
	}
	st := set.Plugins()[0].Plugin.Stats()
	if st.Calls != 1 || st.Created != 1 || st.Live != 1 {
		t.Errorf("stats = %+v", st)
	}
}
