package host

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/testlog"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var (
	procDir  string
	procMu   sync.Mutex
	procBins = map[string]string{}
)

// procPlugin builds the Go package pkg (relative to host/) natively once per test binary and returns
// the program's path.
func procPlugin(tb testing.TB, pkg string) string {
	tb.Helper()
	procMu.Lock()
	defer procMu.Unlock()
	if p, ok := procBins[pkg]; ok {
		return p
	}
	if procDir == "" {
		d, err := os.MkdirTemp("", "rocketsend-host-procplugins")
		if err != nil {
			tb.Fatal(err)
		}
		procDir = d
	}
	// Each program in its own folder, under its package's last element (go-plugin names the
	// plugin's logger after the file).
	dir := filepath.Join(procDir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building process plugin %s: %v\n%s", pkg, err, b)
	}
	procBins[pkg] = out
	return out
}

func faultProc(tb testing.TB) string { return procPlugin(tb, "./testdata/procplugins/fault") }

// noProcessLeft fails the test if a process of the program at path is still running.
func noProcessLeft(tb testing.TB, path string) {
	tb.Helper()
	out, err := exec.Command("pgrep", "-f", path).Output()
	if err == nil {
		tb.Errorf("plugin processes still running after Close: pids %s", strings.Fields(string(out)))
	}
}

// loadProc loads the fault plugin (or path) with fast restarts and a test logger; Close and the
// leftover-process check run at cleanup.
func loadProc(tb testing.TB, path string, opts ...Opt) (*ProcessPlugin, *testlog.Buffer) {
	tb.Helper()
	logs := &testlog.Buffer{}
	l := hclog.New(&hclog.LoggerOptions{Name: "test", Output: logs, Level: hclog.Debug})
	opts = append([]Opt{WithLogger(l), WithRestartBackoff(20*time.Millisecond, 200*time.Millisecond)}, opts...)
	p, err := LoadProcess(context.Background(), path, opts...)
	if err != nil {
		tb.Fatalf("LoadProcess: %v", err)
	}
	tb.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
		noProcessLeft(tb, path)
	})
	return p, logs
}

func before(tb testing.TB, h send.Hook, sc *send.SendContext) error {
	tb.Helper()
	bh, ok := h.(send.SendMessageBeforeHook)
	if !ok {
		tb.Fatalf("Hooks() = %T has no SendMessageBefore", h)
	}
	return bh.SendMessageBefore(sc)
}

// waitUp polls until the plugin serves again with a process other than oldPid (bounded: it fails
// the test after 30 s; this is a bound on a wait, not a timing assertion).
func waitUp(tb testing.TB, p *ProcessPlugin, oldPid int) int {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s := p.Stats(); s.Live > 0 && s.Pid != oldPid {
			return s.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("plugin did not come back; stats %+v", p.Stats())
	return 0
}

func TestProcessCalls(t *testing.T) {
	t.Setenv("ROCKETSEND_TEST_SECRET", "host-secret")
	path := faultProc(t)
	p, logs := loadProc(t, path, WithEnv("GIVEN", "yes"))
	if p.Name() != "fault" || p.Info().Version != "1" {
		t.Fatalf("info = %+v", p.Info())
	}
	h := p.Hooks()
	if _, ok := h.(send.CheckForbiddenHook); !ok {
		t.Fatalf("Hooks() = %T", h)
	}
	if n := h.(interface{ Name() string }).Name(); n != "fault" {
		t.Fatalf("Name = %q", n)
	}

	// CHECK_FORBIDDEN
	err := h.(send.CheckForbiddenHook).CheckForbidden(newSC("denied", ""))
	var fb *Forbidden
	if !errors.As(err, &fb) || fb.Reason != "topic denied" || fb.Plugin != "fault" {
		t.Fatalf("CheckForbidden(denied) = %v", err)
	}
	if err := h.(send.CheckForbiddenHook).CheckForbidden(newSC("orders", "")); err != nil {
		t.Fatalf("CheckForbidden(orders) = %v", err)
	}

	// BEFORE_SEND: edits, and the environment the process got.
	sc := newSC("orders", "")
	if err := before(t, h, sc); err != nil {
		t.Fatal(err)
	}
	m := sc.Message
	if m.Properties["pid"] != strconv.Itoa(p.Stats().Pid) {
		t.Errorf("pid property %q, stats pid %d", m.Properties["pid"], p.Stats().Pid)
	}
	if m.Properties["env_secret"] != "-" {
		t.Errorf("the host's environment leaked into the plugin: ROCKETSEND_TEST_SECRET=%q", m.Properties["env_secret"])
	}
	if m.Properties["env_given"] != "yes" {
		t.Errorf("WithEnv not passed: GIVEN=%q", m.Properties["env_given"])
	}

	// A guest error fails closed at BEFORE_SEND (the default) and names the plugin.
	sc = newSC("orders", "")
	sc.Message.SetProperty("fail", "1")
	err = before(t, h, sc)
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Kind != FailGuestError || !strings.Contains(err.Error(), "asked to fail") || pe.Plugin != "fault" {
		t.Fatalf("failing before = %v", err)
	}

	// AFTER_SEND: logs through hclog, under the plugin's name.
	sc = newSC("orders", "")
	sc.Result = &message.SendResult{Status: message.SendOK}
	h.(send.SendMessageAfterHook).SendMessageAfter(sc)

	// A failing AFTER_SEND is not waited for, but counted and logged when its result arrives.
	sc = newSC("orders", "")
	sc.Message.SetProperty("panic", "1")
	h.(send.SendMessageAfterHook).SendMessageAfter(sc)
	for deadline := time.Now().Add(10 * time.Second); p.Stats().Failures < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "after asked to panic") {
		t.Errorf("the after hook's panic was not logged:\n%s", logs.String())
	}

	// SELECT_QUEUE
	sel := p.Selector(nil)
	if r, ok := sel.(send.RetryingSelector); !ok || r.SelectorRetry() != send.RetrySameQueue {
		t.Fatalf("select_retry SAME_QUEUE not honoured by %T", sel)
	}
	msg := message.New("orders", []byte("x"))
	msg.SetProperty("q", "2")
	q, err := sel.Select(msg, testQueues, nil)
	if err != nil || q != testQueues[2] {
		t.Fatalf("Select = %v, %v", q, err)
	}
	msg.SetProperty("q", "9")
	if q, err := sel.Select(msg, testQueues, nil); err == nil {
		t.Fatalf("out of range index: %v, want an error (no fallback)", q)
	}

	// The plugin's own log record (JSON on its stderr) reaches the host logger. go-plugin parses
	// stderr asynchronously: wait for it, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "after topic=orders status=1") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := logs.String(); !strings.Contains(s, "after topic=orders status=1") || !strings.Contains(s, "test.fault") {
		t.Errorf("plugin log not routed to the host logger under its name:\n%s", s)
	}
	st := p.Stats()
	if st.Calls != 8 || st.Failures != 3 || st.ByKind[FailGuestError] != 2 || st.ByKind[FailInvalidDecision] != 1 || st.Created != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestProcessBody4MiB(t *testing.T) {
	p, _ := loadProc(t, faultProc(t))
	body := bytes.Repeat([]byte("abcdefgh"), 4<<20/8)
	m := message.New("orders", body)
	m.SetProperty("upper", "1")
	sc := &send.SendContext{Context: context.Background(), Message: m, Attempt: 1}
	if err := before(t, p.Hooks(), sc); err != nil {
		t.Fatalf("4 MiB body: %v", err)
	}
	if !bytes.Equal(m.Body, bytes.ToUpper(body)) {
		t.Fatalf("body not replaced: %d bytes, prefix %q", len(m.Body), m.Body[:min(16, len(m.Body))])
	}
}

func TestProcessConcurrentBatches(t *testing.T) {
	p, _ := loadProc(t, faultProc(t))
	h := p.Hooks()
	const workers, per = 16, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				sc := newSC("orders", "")
				if err := before(t, h, sc); err != nil {
					errs <- err
					return
				}
				if sc.Message.Properties["pid"] == "" {
					errs <- errors.New("no decision applied")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Batched != workers*per || st.Failures != 0 {
		t.Fatalf("stats = %+v", st)
	}
	t.Logf("%d calls in %d batches (mean %.1f)", st.Batched, st.Batches, float64(st.Batched)/float64(st.Batches))
}

// TestProcessKill9 kills the plugin process with SIGKILL while calls are in flight: the calls end as
// the failure policy says (BEFORE_SEND fails closed by default; with fail-open the sends go on), the
// plugin is restarted, and later calls reach the new process.
func TestProcessKill9(t *testing.T) {
	for _, open := range []bool{false, true} {
		t.Run("failopen="+strconv.FormatBool(open), func(t *testing.T) {
			var opts []Opt
			if open {
				opts = append(opts, WithFailurePolicy(hookv1.PointBeforeSend, hookv1.FailOpen))
			}
			p, logs := loadProc(t, faultProc(t), opts...)
			h := p.Hooks()
			pid := p.Stats().Pid
			// Calls in flight: several senders loop until the restart is seen.
			stopSend := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var ok, failed int
			var kinds []string
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < 100000; n++ { // bounded
						select {
						case <-stopSend:
							return
						default:
						}
						err := before(t, h, newSC("orders", ""))
						mu.Lock()
						if err == nil {
							ok++
						} else {
							failed++
							var pe *PluginError
							if errors.As(err, &pe) {
								kinds = append(kinds, pe.Kind.String())
							} else {
								kinds = append(kinds, "unexpected: "+err.Error())
							}
						}
						mu.Unlock()
					}
				}()
			}
			time.Sleep(50 * time.Millisecond) // let calls flow before the kill
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			newPid := waitUp(t, p, pid)
			close(stopSend)
			wg.Wait()
			for _, k := range kinds {
				if k != "trap" && k != "unavailable" {
					t.Errorf("a call failed with kind %q; want trap (in flight) or unavailable (while down)", k)
				}
			}
			if open && failed != 0 {
				t.Errorf("fail-open BEFORE_SEND: %d sends failed", failed)
			}
			st := p.Stats()
			if st.Discarded != 1 || st.Created != 2 {
				t.Errorf("stats = %+v", st)
			}
			if !open && st.Failures == 0 {
				t.Errorf("no call saw the crash (ok=%d): stats %+v", ok, st)
			}
			// The new process answers.
			sc := newSC("orders", "")
			if err := before(t, h, sc); err != nil {
				t.Fatalf("after restart: %v", err)
			}
			if sc.Message.Properties["pid"] != strconv.Itoa(newPid) {
				t.Errorf("answered by pid %s, want the new process %d", sc.Message.Properties["pid"], newPid)
			}
			if !strings.Contains(logs.String(), "plugin process restarted") {
				t.Errorf("no restart logged:\n%s", logs.String())
			}
			noProcessLeftPid(t, pid)
		})
	}
}

func noProcessLeftPid(tb testing.TB, pid int) {
	tb.Helper()
	// Signal 0 checks existence; the old process is reaped by go-plugin's Wait.
	if err := syscall.Kill(pid, 0); err == nil {
		tb.Errorf("the killed plugin process %d still exists", pid)
	}
}

// TestProcessHung: a call into a plugin that never answers fails at the deadline (FailTimeout, then
// the policy), the hung process is killed and replaced.
func TestProcessHung(t *testing.T) {
	p, _ := loadProc(t, faultProc(t), WithCallTimeout(300*time.Millisecond))
	h := p.Hooks()
	pid := p.Stats().Pid
	sc := newSC("orders", "")
	sc.Message.SetProperty("hang", "1")
	err := before(t, h, sc)
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Kind != FailTimeout || !strings.Contains(err.Error(), "hung") {
		t.Fatalf("hung call = %v", err)
	}
	newPid := waitUp(t, p, pid)
	sc = newSC("orders", "")
	if err := before(t, h, sc); err != nil || sc.Message.Properties["pid"] != strconv.Itoa(newPid) {
		t.Fatalf("after restart: %v, pid %q want %d", err, sc.Message.Properties["pid"], newPid)
	}
	noProcessLeftPid(t, pid)
}

// TestProcessExitInCall: the plugin exits in the middle of a call: the call fails (trap), the plugin
// comes back.
func TestProcessExitInCall(t *testing.T) {
	p, _ := loadProc(t, faultProc(t))
	pid := p.Stats().Pid
	sc := newSC("orders", "")
	sc.Message.SetProperty("exit", "1")
	err := before(t, p.Hooks(), sc)
	var pe *PluginError
	if !errors.As(err, &pe) || pe.Kind != FailTrap {
		t.Fatalf("exiting call = %v", err)
	}
	waitUp(t, p, pid)
}

// TestProcessIdleCrash: a plugin killed while idle is noticed (its stream ends) and restarted before
// any call sees it.
func TestProcessIdleCrash(t *testing.T) {
	p, _ := loadProc(t, faultProc(t))
	pid := p.Stats().Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUp(t, p, pid)
	if st := p.Stats(); st.Calls != 0 || st.Discarded != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

// TestProcessHealthCheck: a plugin that stops answering while idle (SIGSTOP: alive, its socket
// open, nothing served) fails its health check, is killed and replaced.
func TestProcessHealthCheck(t *testing.T) {
	p, logs := loadProc(t, faultProc(t), WithHealthInterval(50*time.Millisecond), WithCallTimeout(300*time.Millisecond))
	pid := p.Stats().Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	newPid := waitUp(t, p, pid)
	if st := p.Stats(); st.Calls != 0 || st.Discarded != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if !strings.Contains(logs.String(), "health check") {
		t.Errorf("the health check failure was not logged:\n%s", logs.String())
	}
	noProcessLeftPid(t, pid)
	sc := newSC("orders", "")
	if err := before(t, p.Hooks(), sc); err != nil || sc.Message.Properties["pid"] != strconv.Itoa(newPid) {
		t.Fatalf("after restart: %v, pid %q want %d", err, sc.Message.Properties["pid"], newPid)
	}
}

func TestProcessNoisyOutput(t *testing.T) {
	p, logs := loadProc(t, faultProc(t), WithEnv("FAULT_MODE", "noisy"))
	for i := 0; i < 3; i++ {
		if err := before(t, p.Hooks(), newSC("orders", "")); err != nil {
			t.Fatalf("call %d with a plugin writing to stdout: %v", i, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := logs.String()
		if strings.Contains(s, "plain stdout line from the plugin") && strings.Contains(s, "plain stderr line from the plugin") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stdout/stderr lines not logged:\n%s", logs.String())
}

// TestProcessLoadErrors: every way a start can fail gives an error that names the plugin and says
// what is wrong, and leaves no process behind.
func TestProcessLoadErrors(t *testing.T) {
	path := faultProc(t)
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	wrong := sha256.Sum256([]byte("something else"))
	notExec := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "not-a-plugin.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho just a program\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		path string
		opts []Opt
		want []string
	}{
		{"missing binary", filepath.Join(t.TempDir(), "nope"), nil, []string{"nope", "no such file"}},
		{"not executable", notExec, nil, []string{"plain-file", "not executable"}},
		{"wrong checksum", path, []Opt{WithChecksum(hex.EncodeToString(wrong[:]))}, []string{"checksum mismatch", hex.EncodeToString(sum[:])}},
		{"bad checksum option", path, []Opt{WithChecksum("xyz")}, []string{"not a hex SHA-256"}},
		{"wrong protocol version", path, []Opt{WithEnv("FAULT_MODE", "v2")}, []string{"protocol version mismatch", "Plugin version: 2"}},
		{"garbage on stdout", path, []Opt{WithEnv("FAULT_MODE", "garbage")}, []string{"not a rocketsend plugin", "hello, I am not a plugin handshake"}},
		{"not a plugin", script, nil, []string{"not a rocketsend plugin"}},
		{"config rejected", path, []Opt{WithHookConfig(nil, hookv1.KV{Key: "reject", Value: "please"})}, []string{"Init rejected the configuration", "rejected: please"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := append([]Opt{WithStartTimeout(20 * time.Second)}, c.opts...)
			p, err := LoadProcess(context.Background(), c.path, opts...)
			if err == nil {
				_ = p.Close(context.Background())
				t.Fatal("LoadProcess succeeded")
			}
			t.Logf("error: %v", err)
			for _, w := range append([]string{"host: process plugin "}, c.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			noProcessLeft(t, c.path)
		})
	}
	// The right checksum loads.
	p, _ := loadProc(t, path, WithChecksum(hex.EncodeToString(sum[:])))
	if err := before(t, p.Hooks(), newSC("orders", "")); err != nil {
		t.Fatal(err)
	}
}

func TestProcessWithoutAutoMTLS(t *testing.T) {
	p, _ := loadProc(t, faultProc(t), WithoutAutoMTLS())
	if err := before(t, p.Hooks(), newSC("orders", "")); err != nil {
		t.Fatal(err)
	}
}

func TestProcessClose(t *testing.T) {
	path := faultProc(t)
	p, err := LoadProcess(context.Background(), path, WithCallTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Stats().Pid
	h := p.Hooks()
	// A call stuck in the plugin when Close comes: it fails with ErrClosed's policy.
	errc := make(chan error, 1)
	go func() {
		sc := newSC("orders", "")
		sc.Message.SetProperty("hang", "1")
		errc <- before(t, h, sc)
	}()
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Fatal("call in flight at Close succeeded")
	}
	noProcessLeft(t, path)
	noProcessLeftPid(t, pid)
	err = before(t, h, newSC("orders", ""))
	var pe *PluginError
	if !errors.As(err, &pe) || !errors.Is(err, ErrClosed) || pe.Kind != FailUnavailable {
		t.Fatalf("call after Close = %v", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestProcessCloseStopped: Close of a plugin that cannot answer at all (SIGSTOP) still ends with no
// process left: the graceful stop is bounded and followed by a kill.
func TestProcessCloseStopped(t *testing.T) {
	path := faultProc(t)
	p, err := LoadProcess(context.Background(), path, WithHealthInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Stats().Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	noProcessLeft(t, path)
	noProcessLeftPid(t, pid)
}

// miniHost is the small host TestProcessHostKilled runs: the test binary started again with
// ROCKETSEND_MINIHOST_PLUGIN set, which TestMain hands here instead of running the tests. It loads
// the plugin, prints its pid and waits to be killed.
func miniHost(path string) int {
	p, err := LoadProcess(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mini host:", err)
		return 1
	}
	fmt.Printf("pid %d\n", p.Stats().Pid)
	time.Sleep(time.Minute) // bounded; the test kills this process long before
	_ = p.Close(context.Background())
	return 0
}

// TestProcessHostKilled: a host killed outright (SIGKILL) cannot stop its plugins; a plugin built
// with guest.Serve notices that its parent is gone and exits.
func TestProcessHostKilled(t *testing.T) {
	path := faultProc(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ROCKETSEND_MINIHOST_PLUGIN="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "pid %d", &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatal("the helper host printed no plugin pid")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return // gone
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("plugin process %d outlived its killed host", pid)
}

// TestProcessCallCircuit: a process plugin whose calls keep failing stops being called for a
// while (the circuit shared with the wasm back end), then a good call closes the circuit.
func TestProcessCallCircuit(t *testing.T) {
	path := faultProc(t)
	p, logs := loadProc(t, path)
	h := p.Hooks()
	failing := func() *send.SendContext {
		sc := newSC("orders", "")
		sc.Message.SetProperty("fail", "1")
		return sc
	}
	for range circuitThreshold {
		var pe *PluginError
		if err := before(t, h, failing()); !errors.As(err, &pe) || pe.Kind != FailGuestError {
			t.Fatalf("failing call: %v", err)
		}
	}
	calls := p.Stats().Calls
	err := before(t, h, newSC("orders", ""))
	var pe *PluginError
	if p.circuitOpen() != nil { // not yet half open (the backoff is 100 ms; a slow machine may pass it)
		if !errors.As(err, &pe) || pe.Kind != FailUnavailable || !strings.Contains(err.Error(), "circuit open") {
			t.Fatalf("call with the circuit open: %v", err)
		}
	}
	if !strings.Contains(logs.String(), "circuit open") {
		t.Fatalf("opening not logged:\n%s", logs)
	}
	waitFor(t, "the half-open state", func() bool { return p.circuitOpen() == nil })
	if err := before(t, h, newSC("orders", "")); err != nil {
		t.Fatalf("half-open call: %v", err)
	}
	if p.circuit.consecutive.Load() != 0 || !strings.Contains(logs.String(), "circuit closed") || p.Stats().Calls <= calls {
		t.Fatalf("circuit not closed: %d consecutive\n%s", p.circuit.consecutive.Load(), logs)
	}
}
