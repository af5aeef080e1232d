//go:build !wasip1

package guest

import (
	"errors"
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// fresh replaces the package state for one test.
func fresh(t *testing.T, p Plugin) {
	t.Helper()
	rt = runtime{}
	Register(p)
	t.Cleanup(func() { rt = runtime{}; SetFakeHost(nil) })
}

func view(t testing.TB, mv hookv1.MessageView) []byte {
	t.Helper()
	return hookv1.AppendMessageView(nil, &mv)
}

func TestDescribe(t *testing.T) {
	fresh(t, Plugin{
		Name: "p", Version: "1.2.3", Topics: []string{"orders"},
		Needs:         []hookv1.Need{hookv1.NeedProperties, hookv1.NeedBodyLazy},
		FailurePolicy: hookv1.FailOpen, TimeoutUs: 500,
		Before: func(*hookv1.View, *hookv1.DecisionBuilder) error { return nil },
		Select: func(*hookv1.View, *hookv1.DecisionBuilder) error { return nil },
	})
	b, err := SimulateDescribe()
	if err != nil {
		t.Fatal(err)
	}
	info, err := hookv1.DecodeHookInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "p" || info.Version != "1.2.3" || len(info.Topics) != 1 || info.Topics[0] != "orders" ||
		info.FailurePolicy != hookv1.FailOpen || info.TimeoutUs != 500 {
		t.Fatalf("info = %+v", info)
	}
	if !info.Has(hookv1.PointBeforeSend) || !info.Has(hookv1.PointSelectQueue) || info.Has(hookv1.PointAfterSend) ||
		info.Has(hookv1.PointCheckForbidden) || len(info.Points) != 2 {
		t.Fatalf("points = %v", info.Points)
	}
	if !info.Need(hookv1.NeedProperties) || !info.Need(hookv1.NeedBodyLazy) || len(info.Needs) != 2 {
		t.Fatalf("needs = %v", info.Needs)
	}
}

func TestRegisterMistakes(t *testing.T) {
	nop := func(*hookv1.View) {}
	cases := map[string]func(){
		"twice": func() {
			Register(Plugin{Name: "a", After: nop})
			Register(Plugin{Name: "b", After: nop})
		},
		"no name":  func() { Register(Plugin{After: nop}) },
		"no point": func() { Register(Plugin{Name: "a"}) },
		"none":     func() {},
	}
	for name, reg := range cases {
		t.Run(name, func(t *testing.T) {
			rt = runtime{}
			reg()
			if _, err := SimulateDescribe(); err == nil {
				t.Fatal("describe succeeded")
			}
			if rc := SimulateInit(nil); rc == 0 {
				t.Fatal("init succeeded")
			}
			rt = runtime{}
		})
	}
}

func TestInit(t *testing.T) {
	var got hookv1.HookConfig
	fresh(t, Plugin{Name: "p", After: func(*hookv1.View) {},
		Init: func(c hookv1.HookConfig) error {
			got = c
			if v, _ := c.Setting("mode"); v == "bad" {
				return errors.New("bad mode")
			}
			if v, _ := c.Setting("mode"); v == "panic" {
				panic("boom")
			}
			return nil
		}})
	fh := &FakeHost{}
	SetFakeHost(fh)
	if rc := SimulateInit(nil); rc != 0 {
		t.Fatalf("empty config: rc %d", rc)
	}
	cfg := hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Config: []byte("text"), Settings: []hookv1.KV{{Key: "mode", Value: "x"}, {Key: "mode", Value: "ok"}}})
	if rc := SimulateInit(cfg); rc != 0 {
		t.Fatalf("rc %d", rc)
	}
	if v, _ := got.Setting("mode"); v != "ok" || string(got.Config) != "text" {
		t.Fatalf("cfg = %+v", got)
	}
	for _, mode := range []string{"bad", "panic"} {
		cfg = hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: []hookv1.KV{{Key: "mode", Value: mode}}})
		if rc := SimulateInit(cfg); rc == 0 {
			t.Fatalf("%s accepted", mode)
		}
	}
	if rc := SimulateInit([]byte{0xff}); rc == 0 {
		t.Fatal("malformed config accepted")
	}
	if len(fh.InitErrors) != 3 || !strings.Contains(fh.InitErrors[1], "boom") {
		t.Fatalf("init errors = %q", fh.InitErrors)
	}
	if rc := rt.initConfig(1 << 30); rc == 0 {
		t.Fatal("length beyond the scratch accepted")
	}
}

func TestCall(t *testing.T) {
	var afterTopic string
	fresh(t, Plugin{Name: "p",
		Before: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			switch string(v.Tags()) {
			case "err":
				return errors.New("no way")
			case "panic":
				var m map[string]int
				//lint:ignore SA5000 the test needs a real runtime panic inside the hook
				m["x"] = 1
			case "edit":
				d.SetProperty("trace", "t1")
			}
			return nil
		},
		After: func(v *hookv1.View) { afterTopic = string(v.Topic()) },
		Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			d.Forbid("no quota")
			return nil
		},
		Select: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			d.SelectQueue(int32(v.QueueCount()) - 1)
			return nil
		},
	})
	call := func(p hookv1.HookPoint, mv hookv1.MessageView) (hookv1.Decision, bool, error) {
		b, err := SimulateCall(p, view(t, mv))
		if err != nil {
			return hookv1.Decision{}, false, err
		}
		if b == nil {
			return hookv1.Decision{}, true, nil
		}
		d, err := hookv1.DecodeDecision(b)
		if err != nil {
			t.Fatal(err)
		}
		return d, false, nil
	}
	if _, noop, err := call(hookv1.PointBeforeSend, hookv1.MessageView{Topic: "t"}); !noop || err != nil {
		t.Fatalf("plain before: noop %v err %v", noop, err)
	}
	if d, _, err := call(hookv1.PointBeforeSend, hookv1.MessageView{Topic: "t", Tags: "edit"}); err != nil ||
		len(d.Edits) != 1 || d.Edits[0] != (hookv1.PropertyEdit{Name: "trace", Value: "t1"}) {
		t.Fatalf("edit: %+v %v", d, err)
	}
	if _, _, err := call(hookv1.PointBeforeSend, hookv1.MessageView{Tags: "err"}); err == nil || err.Error() != "no way" {
		t.Fatalf("err: %v", err)
	}
	if _, _, err := call(hookv1.PointBeforeSend, hookv1.MessageView{Tags: "panic"}); err == nil ||
		!strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), "nil map") {
		t.Fatalf("panic: %v", err)
	}
	if rt.inCall {
		t.Fatal("inCall left set after a panic")
	}
	if _, noop, err := call(hookv1.PointAfterSend, hookv1.MessageView{Topic: "after"}); !noop || err != nil || afterTopic != "after" {
		t.Fatalf("after: %v %v %q", noop, err, afterTopic)
	}
	if d, _, err := call(hookv1.PointCheckForbidden, hookv1.MessageView{}); err != nil || d.Verdict != hookv1.Forbid || d.Reason != "no quota" {
		t.Fatalf("forbid: %+v %v", d, err)
	}
	if d, _, err := call(hookv1.PointSelectQueue, hookv1.MessageView{QueueCount: 4}); err != nil || d.QueueIndex != 3 {
		t.Fatalf("select: %+v %v", d, err)
	}
	if _, noop, err := call(99, hookv1.MessageView{}); !noop || err != nil {
		t.Fatalf("unknown point: %v %v", noop, err)
	}
	if _, err := SimulateCall(hookv1.PointBeforeSend, []byte{0x0a, 0x05}); err == nil {
		t.Fatal("malformed view accepted")
	}
	if b, isErr := rt.call(1, 1<<30); !isErr || len(b) == 0 {
		t.Fatal("view length beyond the scratch accepted")
	}
}

func TestScratch(t *testing.T) {
	rt = runtime{}
	defer func() { rt = runtime{} }()
	if b := rt.scratchBuf(-1); b != nil {
		t.Fatal("negative length served")
	}
	b := rt.scratchBuf(0)
	if len(b) < minScratch {
		t.Fatalf("len %d", len(b))
	}
	if b2 := rt.scratchBuf(10); &b2[0] != &b[0] {
		t.Fatal("buffer moved without need")
	}
	b3 := rt.scratchBuf(minScratch + 1)
	if len(b3) < minScratch+1 {
		t.Fatalf("len %d", len(b3))
	}
	if b4 := rt.scratchBuf(minScratch + 1); &b4[0] != &b3[0] {
		t.Fatal("buffer moved without need")
	}
}

func TestImportsOnlyDuringCall(t *testing.T) {
	var body []byte
	var prop, missing bool
	var propVal string
	var enabled bool
	fresh(t, Plugin{Name: "p", Needs: []hookv1.Need{hookv1.NeedBodyLazy},
		Init: func(hookv1.HookConfig) error {
			if BodyLen() != 0 || ReadBody(0, make([]byte, 4)) != -1 || LogEnabled(hookv1.LogError) {
				return errors.New("imports available in init")
			}
			if _, ok := Property("a"); ok {
				return errors.New("property in init")
			}
			return nil
		},
		Before: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			body = append([]byte(nil), Body()...)
			var pv []byte
			pv, prop = Property("long")
			propVal = string(pv)
			_, missing = Property("none")
			enabled = LogEnabled(hookv1.LogDebug)
			Log(hookv1.LogInfo, "hello")
			Logf(hookv1.LogTrace, "dropped %d", 1)
			return nil
		}})
	long := strings.Repeat("v", 1000)
	fh := &FakeHost{Body: []byte("the body"), Properties: map[string]string{"long": long}, MinLevel: hookv1.LogDebug}
	SetFakeHost(fh)
	if rc := SimulateInit(nil); rc != 0 {
		t.Fatalf("init: %v", fh.InitErrors)
	}
	if _, err := SimulateCall(hookv1.PointBeforeSend, nil); err != nil {
		t.Fatal(err)
	}
	if string(body) != "the body" || !prop || propVal != long || missing || !enabled {
		t.Fatalf("body %q prop %v %d missing %v enabled %v", body, prop, len(propVal), missing, enabled)
	}
	if len(fh.Logs) != 1 || fh.Logs[0] != (LogRecord{hookv1.LogInfo, "hello"}) {
		t.Fatalf("logs = %+v", fh.Logs)
	}
	if Log(hookv1.LogError, "outside"); len(fh.Logs) != 1 {
		t.Fatal("log outside a call recorded")
	}
}

// TestNoAllocs checks the SDK's hot path for a metadata-only hook: reused view, builder and
// result buffer.
func TestNoAllocs(t *testing.T) {
	fresh(t, Plugin{Name: "p",
		Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			if string(v.Tags()) == "secret" {
				d.Forbid("secret tag")
			}
			return nil
		},
		Select: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			d.SelectQueue(1)
			return nil
		}})
	vb := view(t, hookv1.MessageView{Topic: "orders", Tags: "secret", Keys: "k1", QueueCount: 4,
		Properties: []hookv1.Property{{Name: "a", Value: "b"}}})
	copy(rt.scratchBuf(int32(len(vb))), vb)
	n := int32(len(vb))
	for _, p := range []int32{int32(hookv1.PointCheckForbidden), int32(hookv1.PointSelectQueue), int32(hookv1.PointBeforeSend)} {
		rt.call(p, n) // warm the buffers
		if a := testing.AllocsPerRun(100, func() { rt.call(p, n) }); a != 0 {
			t.Errorf("point %d: %v allocations per call", p, a)
		}
	}
}

func BenchmarkCallForbidden(b *testing.B) {
	rt = runtime{}
	defer func() { rt = runtime{} }()
	Register(Plugin{Name: "p", Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
		if string(v.Tags()) == "secret" {
			d.Forbid("secret tag")
		}
		return nil
	}})
	vb := view(b, hookv1.MessageView{Topic: "orders", Tags: "secret", Keys: "k1"})
	copy(rt.scratchBuf(int32(len(vb))), vb)
	b.ReportAllocs()
	for b.Loop() {
		rt.call(int32(hookv1.PointCheckForbidden), int32(len(vb)))
	}
}
