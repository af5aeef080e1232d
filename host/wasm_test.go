package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"
	"go.uber.org/goleak"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/testlog"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var (
	guestDir  string
	guestMu   sync.Mutex
	guestWasm = map[string]string{}
	ccache    = wazero.NewCompilationCache() // shared by the tests: each guest compiles once per flag set
)

func TestMain(m *testing.M) {
	if path := os.Getenv("ROCKETSEND_MINIHOST_PLUGIN"); path != "" {
		os.Exit(miniHost(path)) // TestProcessHostKilled's child, not a test run
	}
	code := m.Run()
	_ = ccache.Close(context.Background())
	if guestDir != "" {
		_ = os.RemoveAll(guestDir)
	}
	if procDir != "" {
		_ = os.RemoveAll(procDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// guest builds host/testdata/guests/<name> once per test binary and returns the .wasm path.
func guest(tb testing.TB, name string) string {
	tb.Helper()
	guestMu.Lock()
	defer guestMu.Unlock()
	if p, ok := guestWasm[name]; ok {
		return p
	}
	if guestDir == "" {
		d, err := os.MkdirTemp("", "rocketsend-host-guests")
		if err != nil {
			tb.Fatal(err)
		}
		guestDir = d
	}
	out := filepath.Join(guestDir, name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./testdata/guests/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building guest %s: %v\n%s", name, err, b)
	}
	guestWasm[name] = out
	return out
}

func load(tb testing.TB, name string, opts ...Opt) (*WasmPlugin, *testlog.Buffer) {
	tb.Helper()
	logs := &testlog.Buffer{}
	l := hclog.New(&hclog.LoggerOptions{Name: "test", Output: logs, Level: hclog.Trace})
	opts = append([]Opt{WithCompilationCache(ccache), WithLogger(l)}, opts...)
	p, err := LoadWasm(context.Background(), guest(tb, name), opts...)
	if err != nil {
		tb.Fatalf("LoadWasm %s: %v", name, err)
	}
	tb.Cleanup(func() { _ = p.Close(context.Background()) })
	return p, logs
}

func newSC(topic, tags string) *send.SendContext {
	m := message.New(topic, []byte("hello world"))
	if tags != "" {
		m.SetTags(tags)
	}
	m.SetProperty("region", "eu")
	return &send.SendContext{Context: context.Background(), Group: "pg", Message: m, Attempt: 1}
}

var testQueues = []message.MessageQueue{
	{Topic: "orders", BrokerName: "b1", QueueID: 0}, {Topic: "orders", BrokerName: "b1", QueueID: 1},
	{Topic: "orders", BrokerName: "b2", QueueID: 0}, {Topic: "orders", BrokerName: "b2", QueueID: 1},
}

func TestGoodGuest(t *testing.T) {
	p, logs := load(t, "good")
	if p.Name() != "good" || p.Info().Version != "1" {
		t.Fatalf("info = %+v", p.Info())
	}
	h := p.Hooks()
	fh, ok1 := h.(send.CheckForbiddenHook)
	bh, ok2 := h.(send.SendMessageBeforeHook)
	ah, ok3 := h.(send.SendMessageAfterHook)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("Hooks() = %T: missing interfaces %v %v %v", h, ok1, ok2, ok3)
	}
	if n := h.(interface{ Name() string }).Name(); n != "good" {
		t.Fatalf("Name = %q", n)
	}

	// forbid by tag
	err := fh.CheckForbidden(newSC("orders", "blocked"))
	var fb *Forbidden
	if !errors.As(err, &fb) || fb.Reason != "tag blocked" || !strings.Contains(err.Error(), `"good"`) {
		t.Fatalf("CheckForbidden(blocked) = %v", err)
	}
	if err := fh.CheckForbidden(newSC("orders", "fine")); err != nil {
		t.Fatalf("CheckForbidden(fine) = %v", err)
	}

	// before: properties set, get_property and body_read imports
	sc := newSC("orders", "x")
	if err := bh.SendMessageBefore(sc); err != nil {
		t.Fatal(err)
	}
	m := sc.Message
	if m.Property("plugin") != "good" || m.Property("region_seen") != "eu" || m.Property("body_head") != "hell" {
		t.Fatalf("properties after before hook: %v", m.Properties)
	}
	sc = newSC("orders", "retag")
	if err := bh.SendMessageBefore(sc); err != nil {
		t.Fatal(err)
	}
	if sc.Message.Tags() != "retagged" || sc.Message.Property(message.PropertyKeys) != "k1 k2" || string(sc.Message.Body) != "new body" {
		t.Fatalf("retag: %v %q", sc.Message.Properties, sc.Message.Body)
	}

	// invalid edit: a plugin failure, closed by default, message untouched
	sc = newSC("orders", "badedit")
	err = bh.SendMessageBefore(sc)
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Kind != FailInvalidDecision || pe.Plugin != "good" {
		t.Fatalf("badedit = %v", err)
	}
	if _, ok := sc.Message.Properties["bad\x01name"]; ok {
		t.Fatal("invalid edit applied")
	}
	// guest error result
	err = bh.SendMessageBefore(newSC("orders", "error"))
	if !errors.As(err, &pe) || pe.Kind != FailGuestError || !strings.Contains(err.Error(), "guest says no") {
		t.Fatalf("error = %v", err)
	}

	// topic filter: not called for other topics
	sc = newSC("payments", "blocked")
	if err := fh.CheckForbidden(sc); err != nil {
		t.Fatalf("filtered topic was checked: %v", err)
	}
	// The producer gives hooks the topic without its namespace: the filter matches it as is.
	sc = newSC("orders", "blocked")
	sc.Namespace = "ns"
	if err := fh.CheckForbidden(sc); err == nil {
		t.Fatal("topic of a namespaced producer not matched")
	}

	// after: logs through the host logger
	sc = newSC("orders", "x")
	sc.Result = &message.SendResult{Status: message.SendOK, MsgID: "MID1"}
	ah.SendMessageAfter(sc)
	if !strings.Contains(logs.String(), "after status=1 msgid=MID1") {
		t.Fatalf("after hook log missing:\n%s", logs.String())
	}

	// selector
	sel := p.Selector(send.RoundRobin())
	if r, ok := sel.(send.RetryingSelector); !ok || r.SelectorRetry() != send.RetryReselect {
		t.Fatalf("select_retry RESELECT not honoured by %T", sel)
	}
	q, err := sel.Select(message.New("orders", nil), testQueues, "2")
	if err != nil || q != testQueues[2] {
		t.Fatalf("Select(2) = %v, %v", q, err)
	}
	q, err = sel.Select(message.New("orders", nil), testQueues, nil)
	if err != nil || q != testQueues[3] {
		t.Fatalf("Select(nil) = %v, %v", q, err)
	}
	before := p.Stats().Failures
	q, err = sel.Select(message.New("orders", nil), testQueues, "99") // out of range: falls back
	if err != nil || q.BrokerName == "" {
		t.Fatalf("Select(99) = %v, %v", q, err)
	}
	if p.Stats().Failures != before+1 {
		t.Fatal("out-of-range index not counted")
	}
	st := p.Stats()
	if st.ByKind[FailInvalidDecision] != 2 || st.ByKind[FailGuestError] != 1 || st.Discarded != 3 {
		t.Fatalf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), "test.good") {
		t.Fatalf("logger not named after the plugin:\n%s", logs.String())
	}
}

func TestPoolConcurrent(t *testing.T) {
	p, _ := load(t, "good", WithPoolSize(3))
	bh := p.Hooks().(send.SendMessageBeforeHook)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				sc := newSC("orders", "x")
				if err := bh.SendMessageBefore(sc); err != nil || sc.Message.Property("plugin") != "good" {
					t.Errorf("before: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := p.Stats(); st.Created > 3 || st.Live > 3 || st.Calls != 160 {
		t.Fatalf("stats = %+v", st)
	}
}

func faultPlugin(t *testing.T, mode string, opts ...Opt) (*WasmPlugin, *testlog.Buffer) {
	return load(t, "fault", append(opts, WithHookConfig(nil, hookv1.KV{Key: "mode", Value: mode}))...)
}

// checkSurvives checks that after failures the plugin still answers with a fresh instance.
func checkSurvives(t *testing.T, p *WasmPlugin) {
	t.Helper()
	if err := p.Hooks().(send.CheckForbiddenHook).CheckForbidden(newSC("orders", "ok")); err != nil {
		t.Fatalf("plugin unusable after failure: %v", err)
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		mode string
		kind FailureKind
		opts []Opt
	}{
		{"trap", FailTrap, nil},
		{"garbage", FailBadResult, nil},
		{"badproto", FailInvalidDecision, nil},
		{"oom", FailTrap, []Opt{WithMemoryLimitPages(512)}},
		{"loop", FailTimeout, []Opt{WithCallTimeout(50 * time.Millisecond)}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			p, logs := faultPlugin(t, tc.mode, tc.opts...)
			h := p.Hooks()
			// forbidden: fails closed
			start := time.Now()
			err := h.(send.CheckForbiddenHook).CheckForbidden(newSC("orders", "x"))
			elapsed := time.Since(start)
			var pe *PluginError
			if !errors.As(err, &pe) || pe.Kind != tc.kind || pe.Plugin != "fault" || !strings.Contains(err.Error(), `"fault"`) {
				t.Fatalf("CheckForbidden = %v (kind %v)", err, pe)
			}
			t.Logf("%s: failed after %v: %v", tc.mode, elapsed, err)
			// before: closed by default
			if err := h.(send.SendMessageBeforeHook).SendMessageBefore(newSC("orders", "x")); err == nil {
				t.Fatal("before hook failed open by default")
			}
			// after: open (no way to fail), counted
			h.(send.SendMessageAfterHook).SendMessageAfter(newSC("orders", "x"))
			// selector: falls back
			q, err := p.Selector(send.RoundRobin()).Select(message.New("orders", nil), testQueues, nil)
			if err != nil || q.BrokerName == "" {
				t.Fatalf("selector did not fall back: %v %v", q, err)
			}
			st := p.Stats()
			if st.Failures != 4 || st.ByKind[tc.kind] != 4 || st.Discarded != 4 {
				t.Fatalf("stats = %+v", st)
			}
			if !strings.Contains(logs.String(), "plugin call failed") {
				t.Fatalf("failure not logged:\n%s", logs.String())
			}
			checkSurvives(t, p)
		})
	}
}

func TestBeforeFailOpen(t *testing.T) {
	p, _ := faultPlugin(t, "trap", WithFailurePolicy(hookv1.PointBeforeSend, hookv1.FailOpen),
		WithFailurePolicy(hookv1.PointSelectQueue, hookv1.FailClosed))
	if err := p.Hooks().(send.SendMessageBeforeHook).SendMessageBefore(newSC("orders", "x")); err != nil {
		t.Fatalf("fail-open before hook returned %v", err)
	}
	if _, err := p.Selector(send.RoundRobin()).Select(message.New("orders", nil), testQueues, nil); err == nil {
		t.Fatal("fail-closed selector fell back")
	}
	if p.Stats().Failures != 2 {
		t.Fatalf("stats = %+v", p.Stats())
	}
}

func TestLoadRefusals(t *testing.T) {
	ctx := context.Background()
	_, err := LoadWasm(ctx, guest(t, "badabi"), WithCompilationCache(ccache))
	if err == nil || !strings.Contains(err.Error(), "badabi.wasm") || !strings.Contains(err.Error(), "producer_hook_abi_v9") {
		t.Fatalf("badabi: %v", err)
	}
	notWasm := filepath.Join(t.TempDir(), "plain.wasm")
	os.WriteFile(notWasm, []byte("#!/bin/sh\necho not wasm\n"), 0o644)
	_, err = LoadWasm(ctx, notWasm, WithCacheDir(""))
	if err == nil || !strings.Contains(err.Error(), "plain.wasm") || !strings.Contains(err.Error(), "not a WebAssembly") {
		t.Fatalf("not wasm: %v", err)
	}
	bogus := filepath.Join(t.TempDir(), "bogus.wasm")
	os.WriteFile(bogus, []byte("\x00asm\x01\x00\x00\x00\xff\xff"), 0o644)
	if _, err = LoadWasm(ctx, bogus, WithCacheDir("")); err == nil || !strings.Contains(err.Error(), "bogus.wasm") {
		t.Fatalf("bogus: %v", err)
	}
	_, err = LoadWasm(ctx, guest(t, "fault"), WithCompilationCache(ccache), WithHookConfig(nil, hookv1.KV{Key: "mode", Value: "initfail"}))
	if err == nil || !strings.Contains(err.Error(), "fault.wasm") || !strings.Contains(err.Error(), "returned 7") ||
		!strings.Contains(err.Error(), "this configuration is refused") {
		t.Fatalf("initfail: %v", err)
	}
	if _, err = LoadWasm(ctx, guest(t, "good"), WithMaxModuleBytes(1000)); err == nil || !strings.Contains(err.Error(), "more than the 1000 allowed") {
		t.Fatalf("size cap: %v", err)
	}
	if _, err = LoadWasm(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
	_, err = LoadWasm(ctx, filepath.Join(t.TempDir(), "missing.wasm"))
	if err == nil || !strings.Contains(err.Error(), "missing.wasm") {
		t.Fatalf("missing: %v", err)
	}
}

func TestDiskCache(t *testing.T) {
	dir := t.TempDir()
	p, err := LoadWasm(context.Background(), guest(t, "good"), WithCacheDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	p.Close(context.Background())
	ents, _ := os.ReadDir(dir)
	if len(ents) == 0 {
		t.Fatal("compilation cache dir is empty")
	}
	if err := p.Hooks().(send.CheckForbiddenHook).CheckForbidden(newSC("orders", "x")); err == nil {
		t.Fatal("call on closed plugin succeeded")
	}
}
