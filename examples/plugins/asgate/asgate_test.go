//go:build !wasip1

// Package asgate_test builds the AssemblyScript plugin asgate with its own build script (npm ci
// from the committed lockfile into ~/.cache/rocketsend, then asc) and runs it in the real wasm
// host, host.LoadWasm, checking every behaviour through the same adapters the producer uses.
package asgate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
	"github.com/rocketsend/rocketsend/internal/testlog"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var (
	buildOnce sync.Once
	wasmPath  string
	buildErr  error
	skipWhy   string
	tmpDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if rawRT != nil {
		_ = rawRT.Close(context.Background())
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// asgateWasm builds the plugin once per test binary with build.sh. Without node/npm it skips,
// except under CI=true, where a missing toolchain fails the test.
func asgateWasm(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		for _, tool := range []string{"node", "npm", "bash"} {
			if _, err := exec.LookPath(tool); err != nil {
				skipWhy = tool + " not found: the AssemblyScript plugin cannot be built"
				return
			}
		}
		d, err := os.MkdirTemp("", "rocketsend-asgate")
		if err != nil {
			buildErr = err
			return
		}
		tmpDir = d
		wasmPath = filepath.Join(d, "asgate.wasm")
		cmd := exec.Command("bash", "build.sh", wasmPath)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("bash build.sh: %v\n%s", err, out)
		}
	})
	if skipWhy != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI: %s", skipWhy)
		}
		t.Skip(skipWhy)
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return wasmPath
}

// keyhashWasm builds the Go example keyhash, the reference selector that matches Java.
func keyhashWasm(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := examplebuild.Build(context.Background(), dir, "keyhash"); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "keyhash.wasm")
}

func load(t *testing.T, path string, logs *testlog.Buffer, level hclog.Level, config []byte, settings ...hookv1.KV) (*host.WasmPlugin, error) {
	t.Helper()
	opts := []host.Opt{host.WithCacheDir(""), host.WithHookConfig(config, settings...), host.WithPoolSize(2)}
	if logs != nil {
		opts = append(opts, host.WithLogger(hclog.New(&hclog.LoggerOptions{Output: logs, Level: level})))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := host.LoadWasm(ctx, path, opts...)
	if err == nil {
		t.Cleanup(func() { _ = p.Close(context.Background()) })
	}
	return p, err
}

func mustLoad(t *testing.T, logs *testlog.Buffer, settings ...hookv1.KV) *host.WasmPlugin {
	t.Helper()
	p, err := load(t, asgateWasm(t), logs, hclog.Info, nil, settings...)
	if err != nil {
		t.Fatalf("LoadWasm: %v", err)
	}
	return p
}

func sc(m *message.Message) *send.SendContext {
	return &send.SendContext{Context: context.Background(), Group: "pg", Message: m, Mode: send.ModeSync, Attempt: 1}
}

func msg(topic, tags, keys string, body []byte) *message.Message {
	m := message.New(topic, body)
	if tags != "" {
		m.SetTags(tags)
	}
	if keys != "" {
		m.SetKeys(strings.Fields(keys)...)
	}
	return m
}

func TestDescribe(t *testing.T) {
	p := mustLoad(t, nil)
	info := p.Info()
	if info.Name != "asgate" || info.Version != "1.0.0" || p.Name() != "asgate" {
		t.Errorf("name/version: %q %q (Name() %q)", info.Name, info.Version, p.Name())
	}
	if want := []hookv1.HookPoint{hookv1.PointCheckForbidden, hookv1.PointBeforeSend, hookv1.PointSelectQueue}; !slices.Equal(info.Points, want) {
		t.Errorf("points %v, want %v", info.Points, want)
	}
	if want := []hookv1.Need{hookv1.NeedBodyLazy}; !slices.Equal(info.Needs, want) {
		t.Errorf("needs %v, want %v", info.Needs, want)
	}
	if want := []string{"orders", "payments"}; !slices.Equal(info.Topics, want) {
		t.Errorf("topics %v, want %v", info.Topics, want)
	}
	h := p.Hooks()
	if _, ok := h.(send.CheckForbiddenHook); !ok {
		t.Error("Hooks() is not a CheckForbiddenHook")
	}
	if _, ok := h.(send.SendMessageBeforeHook); !ok {
		t.Error("Hooks() is not a SendMessageBeforeHook")
	}
}

func TestCheckForbidden(t *testing.T) {
	logs := &testlog.Buffer{}
	p := mustLoad(t, logs,
		hookv1.KV{Key: "deny_tags", Value: "secret, internal"},
		hookv1.KV{Key: "require_keys", Value: "true"},
		hookv1.KV{Key: "max_body", Value: "10000"},
		hookv1.KV{Key: "text_body", Value: "true"})
	h := p.Hooks().(send.CheckForbiddenHook)

	// Valid UTF-8 whose multi-byte characters straddle the 4096-byte chunks the guest reads.
	long := bytes.Repeat([]byte("é€😀"), 1000) // 9 bytes each: 9000 bytes
	badAt := bytes.Clone(long)
	badAt[5004] = 0xff   // the first byte of an é
	cut := long[:9000-2] // the last emoji (bytes 8996..8999) cut short by the end of the body

	cases := []struct {
		name   string
		m      *message.Message
		reason string // "" = allowed
	}{
		{"plain", msg("orders", "paid", "o-1", []byte("order placed")), ""},
		{"denied tag", msg("orders", "secret", "o-1", []byte("x")), `tag "secret" is denied`},
		{"denied tag in a list", msg("orders", "paid || internal", "o-1", []byte("x")), `tag "internal" is denied`},
		{"tag prefix is not the tag", msg("orders", "secrets", "o-1", []byte("x")), ""},
		{"no keys", msg("payments", "paid", "", []byte("x")), "message has no keys"},
		{"body too large", msg("orders", "", "o-1", make([]byte, 10001)), "body of 10001 bytes exceeds max_body=10000"},
		{"body at the limit", msg("orders", "", "o-1", bytes.Repeat([]byte("a"), 10000)), ""},
		{"utf-8 across chunks", msg("orders", "", "o-1", long), ""},
		{"invalid byte", msg("orders", "", "o-1", badAt), "body is not valid UTF-8 (byte 5004)"},
		{"cut at the end", msg("orders", "", "o-1", cut), "body is not valid UTF-8 (byte 8996)"},
		{"surrogate", msg("orders", "", "o-1", []byte("ok \xed\xa0\x80")), "body is not valid UTF-8 (byte 3)"},
		{"empty body", msg("orders", "", "o-1", nil), ""},
		{"topic outside the filter", msg("audit", "secret", "", []byte{0xff}), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := h.CheckForbidden(sc(c.m))
			if c.reason == "" {
				if err != nil {
					t.Fatalf("forbidden: %v", err)
				}
				return
			}
			var f *host.Forbidden
			if !errors.As(err, &f) {
				t.Fatalf("got %v, want a *host.Forbidden", err)
			}
			if f.Plugin != "asgate" || f.Reason != c.reason {
				t.Errorf("forbidden by %q: %q, want %q", f.Plugin, f.Reason, c.reason)
			}
		})
	}
	if !strings.Contains(logs.String(), `forbidden send to orders: tag "secret" is denied`) {
		t.Errorf("the guest's log import did not reach the host log:\n%s", logs)
	}
	if s := p.Stats(); s.Failures != 0 {
		t.Errorf("failures: %+v", s)
	}
}

func TestBeforeSend(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		p := mustLoad(t, nil)
		h := p.Hooks().(send.SendMessageBeforeHook)
		m := msg("orders", "paid", "o-1", []byte("x"))
		if err := h.SendMessageBefore(sc(m)); err != nil {
			t.Fatal(err)
		}
		if got := m.Property("gated_by"); got != "asgate" {
			t.Errorf("gated_by=%q, want asgate", got)
		}
		if got := m.Property("priority"); got != "" {
			t.Errorf("priority set without default_priority: %q", got)
		}
		other := msg("audit", "", "", []byte("x"))
		if err := h.SendMessageBefore(sc(other)); err != nil || other.Property("gated_by") != "" {
			t.Errorf("topic outside the filter: err %v, gated_by %q", err, other.Property("gated_by"))
		}
	})
	t.Run("priority", func(t *testing.T) {
		p := mustLoad(t, nil,
			hookv1.KV{Key: "stamp", Value: "gate-7 ✓"},
			hookv1.KV{Key: "default_priority", Value: "normal"},
			hookv1.KV{Key: "priorities", Value: "low,normal,high"})
		h := p.Hooks().(send.SendMessageBeforeHook)

		m := msg("orders", "", "o-1", []byte("x"))
		if err := h.SendMessageBefore(sc(m)); err != nil {
			t.Fatal(err)
		}
		if m.Property("gated_by") != "gate-7 ✓" || m.Property("priority") != "normal" {
			t.Errorf("properties %v", m.Properties)
		}
		m = msg("orders", "", "o-1", []byte("x"))
		m.SetProperty("priority", "high")
		if err := h.SendMessageBefore(sc(m)); err != nil || m.Property("priority") != "high" {
			t.Errorf("a valid priority: err %v, priority %q", err, m.Property("priority"))
		}
		// A value longer than the guest's first get_property buffer takes the second call (§3).
		for _, bad := range []string{"urgent", strings.Repeat("very ", 40) + "urgent"} {
			m = msg("payments", "", "o-1", []byte("x"))
			m.SetProperty("priority", bad)
			err := h.SendMessageBefore(sc(m))
			var f *host.Forbidden
			if !errors.As(err, &f) {
				t.Fatalf("priority %q: %v, want a *host.Forbidden", bad, err)
			}
			if want := `priority "` + bad + `" is not one of low, normal, high`; f.Reason != want {
				t.Errorf("reason %q, want %q", f.Reason, want)
			}
			if m.Property("gated_by") != "" {
				t.Error("a forbidden message was stamped")
			}
		}
		if s := p.Stats(); s.Failures != 0 {
			t.Errorf("failures: %+v", s)
		}
	})
}

// fallback records that the plugin made no choice.
type fallback struct{ calls int }

func (f *fallback) Select(_ *message.Message, qs []message.MessageQueue, _ any) (message.MessageQueue, error) {
	f.calls++
	return qs[len(qs)-1], nil
}

func queues(topic string, n int) []message.MessageQueue {
	qs := make([]message.MessageQueue, n)
	for i := range qs {
		qs[i] = message.MessageQueue{Topic: topic, BrokerName: fmt.Sprintf("broker-%c", 'a'+i/4), QueueID: i % 4}
	}
	return qs
}

// TestSelectMatchesKeyhash compares asgate's queue with the Go example keyhash's (which matches
// Java's String.hashCode, checked against Java in integration/) for keys that exercise UTF-16:
// ASCII, Latin-1, CJK, supplementary characters (surrogate pairs), negative hashes, and bytes
// that are not UTF-8.
func TestSelectMatchesKeyhash(t *testing.T) {
	as := mustLoad(t, nil)
	kh, err := load(t, keyhashWasm(t), nil, hclog.Info, nil)
	if err != nil {
		t.Fatal(err)
	}
	fbA, fbK := &fallback{}, &fallback{}
	asSel, khSel := as.Selector(fbA), kh.Selector(fbK)
	keys := []string{"a", "order-42", "order-订单-42", "naïve café", "🚀 launch", "𝄞𝄞𝄞", "polygenelubricants",
		"Aa", "BB", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "\xff\xfe", "a\xe2\x82", "\xed\xa0\x80x",
		"\xf0\x9f\x98", "\xc0\xaf", "日本語のキー", strings.Repeat("k", 1000)}
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("user-%d-%c", i*7919, rune(0x4e00+i*37)))
	}
	for _, n := range []int{1, 3, 8, 16} {
		qs := queues("orders", n)
		for _, k := range keys {
			m := msg("orders", "", "", []byte("x"))
			m.SetKeys(k, "second-key")
			got, err := asSel.Select(m, qs, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := khSel.Select(m, qs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%d queues, key %q: asgate %v, keyhash %v", n, k, got, want)
			}
			// The select arg (a string) takes precedence in the default source=auto.
			got, _ = asSel.Select(m, qs, k+"-arg")
			want, _ = khSel.Select(m, qs, k+"-arg")
			if got != want {
				t.Errorf("%d queues, arg %q: asgate %v, keyhash %v", n, k+"-arg", got, want)
			}
		}
	}
	if fbA.calls != 0 || fbK.calls != 0 {
		t.Errorf("fallback used: asgate %d, keyhash %d", fbA.calls, fbK.calls)
	}
	// No key and no arg: no choice, the fallback decides.
	if _, err := asSel.Select(msg("orders", "", "", nil), queues("orders", 8), nil); err != nil || fbA.calls != 1 {
		t.Errorf("no key: err %v, fallback calls %d", err, fbA.calls)
	}
	// A topic outside the filter: the plugin is not asked.
	if _, err := asSel.Select(msg("audit", "", "k", nil), queues("audit", 8), nil); err != nil || fbA.calls != 2 {
		t.Errorf("other topic: err %v, fallback calls %d", err, fbA.calls)
	}
	if s := as.Stats(); s.Failures != 0 {
		t.Errorf("failures: %+v", s)
	}
}

func TestSelectSource(t *testing.T) {
	qs := queues("orders", 8)
	// Keys whose queues differ (checked below), so the source that was hashed shows.
	key, arg := "order-1", "customer-7"
	probe := mustLoad(t, nil).Selector(&fallback{})
	m := msg("orders", "", key, nil)
	byKey, _ := probe.Select(m, qs, nil)
	byArg, _ := probe.Select(msg("orders", "", "", nil), qs, arg)
	if byKey == byArg {
		t.Fatalf("test keys collide on %v", byKey)
	}
	for _, c := range []struct {
		source string
		arg    any
		want   message.MessageQueue
	}{
		{"auto", arg, byArg},
		{"auto", nil, byKey},
		{"auto", []byte(arg), byArg},
		{"keys", arg, byKey},
		{"arg", arg, byArg},
		{"arg", nil, qs[7]}, // no arg: the fallback's choice
	} {
		sel := mustLoad(t, nil, hookv1.KV{Key: "source", Value: c.source}).Selector(&fallback{})
		got, err := sel.Select(m, qs, c.arg)
		if err != nil || got != c.want {
			t.Errorf("source=%s arg %v: %v %v, want %v", c.source, c.arg, got, err, c.want)
		}
	}
}

func TestSelectLogsAtDebug(t *testing.T) {
	logs := &testlog.Buffer{}
	p, err := load(t, asgateWasm(t), logs, hclog.Debug, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs := queues("orders", 8)
	q, err := p.Selector(&fallback{}).Select(msg("orders", "", "order-42", nil), qs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`queue %d of 8 for "order-42"`, slices.Index(qs, q))
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs)
	}
	// At info the guest asks log_enabled and skips formatting: nothing is logged.
	logs2 := &testlog.Buffer{}
	p2, err := load(t, asgateWasm(t), logs2, hclog.Info, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Selector(&fallback{}).Select(msg("orders", "", "order-42", nil), qs, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs2.String(), "queue ") {
		t.Errorf("debug line logged at info:\n%s", logs2)
	}
}

// TestConfigText: HookConfig.config holds "key=value" lines; settings override it.
func TestConfigText(t *testing.T) {
	p, err := load(t, asgateWasm(t), nil, hclog.Info, []byte("# asgate\ndeny_tags = secret\n\nrequire_keys=true\n"),
		hookv1.KV{Key: "require_keys", Value: "false"})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Hooks().(send.CheckForbiddenHook)
	if err := h.CheckForbidden(sc(msg("orders", "secret", "k", nil))); err == nil {
		t.Error("deny_tags from config text not applied")
	}
	if err := h.CheckForbidden(sc(msg("orders", "", "", nil))); err != nil {
		t.Errorf("settings did not override config text: %v", err)
	}
}

func TestConfigRejected(t *testing.T) {
	cases := []struct {
		config   string
		settings []hookv1.KV
		reason   string
	}{
		{"", []hookv1.KV{{Key: "deny_tag", Value: "x"}}, `unknown setting "deny_tag" (known: deny_tags, require_keys, max_body, text_body, stamp, default_priority, priorities, source)`},
		{"", []hookv1.KV{{Key: "require_keys", Value: "yes"}}, `require_keys="yes": want true or false`},
		{"", []hookv1.KV{{Key: "max_body", Value: "1k"}}, `max_body="1k": want a number of bytes`},
		{"", []hookv1.KV{{Key: "source", Value: "body"}}, `source="body": want auto, arg or keys`},
		{"", []hookv1.KV{{Key: "stamp", Value: ""}}, `stamp must not be empty (RocketMQ drops empty property values)`},
		{"", []hookv1.KV{{Key: "stamp", Value: "a\x01b"}}, `stamp must not contain the bytes 0x01 or 0x02`},
		{"", []hookv1.KV{{Key: "priorities", Value: "low,high"}, {Key: "default_priority", Value: "normal"}}, `default_priority "normal" is not in priorities`},
		{"deny_tags=x\nrequire_keys\n", nil, `config line 2 "require_keys" is not key=value`},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			logs := &testlog.Buffer{}
			_, err := load(t, asgateWasm(t), logs, hclog.Info, []byte(c.config), c.settings...)
			if err == nil {
				t.Fatal("configuration accepted")
			}
			// The ABI gives hook_init only a status (docs/abi.md §2): the host's error names the
			// module and says the configuration was refused, and the guest's reason, written to
			// stderr, is in the host's log.
			if msg := err.Error(); !strings.Contains(msg, asgateWasm(t)) || !strings.Contains(msg, "rejected the configuration") {
				t.Errorf("unclear error: %v", err)
			}
			if !strings.Contains(logs.String(), "asgate: configuration rejected: "+c.reason) {
				t.Errorf("reason %q not logged; error %v; log:\n%s", c.reason, err, logs)
			}
		})
	}
}
