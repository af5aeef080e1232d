package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/testlog"
	"github.com/rocketsend/rocketsend/internal/wat"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// The hostile guests of testdata/wat, each a case the host must survive: refuse at load, stop in
// time, or keep within its bounds, and never crash, hang or leak.

// watGuest assembles testdata/wat/<name>.wat with info (and text) filled in, and returns the path
// of the module.
func watGuest(tb testing.TB, name string, info hookv1.HookInfo, text string) string {
	tb.Helper()
	ib := hookv1.AppendHookInfo(nil, &info)
	bin, err := wat.AssembleFile(filepath.Join("testdata", "wat", name+".wat"), map[string]string{
		"info": wat.Bytes(ib), "info_len": strconv.Itoa(len(ib)), "text": wat.Bytes([]byte(text)), "text_len": strconv.Itoa(len(text))})
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tb.TempDir(), name+".wasm")
	if err := os.WriteFile(out, bin, 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}

var allPoints = hookv1.HookInfo{Name: "hostile", Version: "1",
	Points: []hookv1.HookPoint{hookv1.PointCheckForbidden, hookv1.PointBeforeSend, hookv1.PointAfterSend, hookv1.PointSelectQueue}}

// TestLoadBoundedByContext: a guest that loops in its start function, _initialize, hook_describe
// or hook_init does not hang LoadWasm past its context's deadline, with or without a call timeout.
func TestLoadBoundedByContext(t *testing.T) {
	for _, name := range []string{"loop_start", "loop_initialize", "loop_describe", "loop_init"} {
		for _, timeout := range []time.Duration{0, time.Minute} {
			t.Run(fmt.Sprintf("%s/timeout=%v", name, timeout), func(t *testing.T) {
				path := watGuest(t, name, allPoints, "")
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				start := time.Now()
				p, err := LoadWasm(ctx, path, WithCompilationCache(ccache), WithCallTimeout(timeout))
				elapsed := time.Since(start)
				if err == nil {
					p.Close(context.Background())
					t.Fatal("a guest that never finishes loading loaded")
				}
				if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline") {
					t.Errorf("err = %v, want the context's deadline", err)
				}
				// A generous bound: the deadline is 300 ms; compiling under load takes a while.
				if elapsed > 20*time.Second {
					t.Errorf("LoadWasm returned after %v", elapsed)
				}
				t.Logf("%v: %v", elapsed, err)
			})
		}
	}
}

// TestLoadRefusesBadExports: a hook_call of the wrong type does not load.
func TestLoadRefusesBadExports(t *testing.T) {
	_, err := LoadWasm(context.Background(), watGuest(t, "wrong_call", allPoints, ""), WithCompilationCache(ccache))
	if err == nil || !strings.Contains(err.Error(), "export hook_call has type (i32) -> (i32), the ABI requires (i32, i32) -> (i64)") {
		t.Fatalf("err = %v", err)
	}
}

// TestLoadRefusesNoPoints: a plugin that declares no hook point (or only unknown ones) does not
// load.
func TestLoadRefusesNoPoints(t *testing.T) {
	for _, info := range []hookv1.HookInfo{{Name: "idle"}, {Name: "idle", Points: []hookv1.HookPoint{42}}} {
		_, err := LoadWasm(context.Background(), watGuest(t, "plain", info, ""), WithCompilationCache(ccache))
		if err == nil || !strings.Contains(err.Error(), "would never be called") {
			t.Fatalf("%v: err = %v", info.Points, err)
		}
	}
	p, err := LoadWasm(context.Background(), watGuest(t, "plain", allPoints, ""), WithCompilationCache(ccache))
	if err != nil {
		t.Fatalf("a plain guest with hook points: %v", err)
	}
	p.Close(context.Background())
}

// forged is guest text that would start a log record of its own and repaint a terminal.
const forged = "ok\n2026-01-01T00:00:00Z [ERROR] host: forged record\x1b[2J\x1b]0;pwned\x07\r\u202e"

func noControl(t *testing.T, what, s string) {
	t.Helper()
	for _, bad := range []string{"\n", "\r", "\x1b", "\x07", "\u202e"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s carries %q: %q", what, bad, s)
		}
	}
}

// TestLogForging: a guest's name, log lines, stdout and error texts reach the logs and errors with
// their control characters escaped.
func TestLogForging(t *testing.T) {
	info := allPoints
	info.Name = "evil\n[ERROR] forged\x1b[31m"
	info.Version = "1\x1b[0m\n"
	p, logs := loadPath(t, watGuest(t, "forge", info, forged))
	noControl(t, "Name()", p.Name())
	noControl(t, "Info().Version", p.Info().Version)
	err := p.Hooks().(send.CheckForbiddenHook).CheckForbidden(newSC("orders", ""))
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Kind != FailGuestError {
		t.Fatalf("err = %v", err)
	}
	noControl(t, "the error", err.Error())
	if !strings.Contains(err.Error(), `\x1b[2J`) {
		t.Errorf("the error does not show the escaped text: %v", err)
	}
	out := logs.String()
	// Every record is one line of the test logger's; the only newlines are the records' own.
	record := regexp.MustCompile(`^\d{4}-\d\d-\d\dT[^ ]+ \[(TRACE|DEBUG|INFO|WARN|ERROR)\] +test\.`)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !record.MatchString(line) {
			t.Errorf("a line of the log is not a record of the host's logger: %q", line)
		}
	}
	noControl(t, "the log", strings.ReplaceAll(out, "\n", ""))
	if n := strings.Count(out, `\x1b[2J`); n < 3 {
		t.Errorf("the log shows the escaped text %d times, want its log, stdout and error records:\n%s", n, out)
	}
}

func loadPath(tb testing.TB, path string, opts ...Opt) (*WasmPlugin, *testlog.Buffer) {
	tb.Helper()
	logs := &testlog.Buffer{}
	l := hclog.New(&hclog.LoggerOptions{Name: "test", Output: logs, Level: hclog.Trace})
	opts = append([]Opt{WithCompilationCache(ccache), WithLogger(l)}, opts...)
	p, err := LoadWasm(context.Background(), path, opts...)
	if err != nil {
		tb.Fatalf("LoadWasm %s: %v", path, err)
	}
	tb.Cleanup(func() { _ = p.Close(context.Background()) })
	return p, logs
}
