package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
)

// TestProcessAfterNeverAnswers: a plugin that never answers AFTER_SEND. The calls nobody waits for
// still have a deadline: past it they fail (FailTimeout) and the hung process is killed and
// restarted, as for a call someone waits for; what they hold meanwhile (views and bodies) is
// bounded, the calls beyond the bound dropped as failures.
func TestProcessAfterNeverAnswers(t *testing.T) {
	p, logs := loadProc(t, faultProc(t), WithCallTimeout(300*time.Millisecond), WithHealthInterval(0))
	ah := p.Hooks().(send.SendMessageAfterHook)
	pid := p.Stats().Pid
	body := bytes.Repeat([]byte("x"), 64<<10)
	after := func(hang bool) {
		m := message.New("orders", body)
		if hang {
			m.SetProperty("hang", "1")
		}
		ah.SendMessageAfter(&send.SendContext{Context: context.Background(), Group: "pg", Message: m, Attempt: 1})
	}
	after(true)
	// A burst while the plugin hangs: more than asyncMaxBytes of bodies.
	for i := 0; i < 2000; i++ {
		after(false)
		if g := p.current(); g != nil {
			g.mu.Lock()
			n := g.asyncBytes
			g.mu.Unlock()
			if n > asyncMaxBytes {
				t.Fatalf("%d bytes of AFTER_SEND calls pending, more than the %d allowed", n, asyncMaxBytes)
			}
		}
	}
	newPid := waitUp(t, p, pid)
	st := p.Stats()
	if st.ByKind[FailTimeout] == 0 || st.ByKind[FailUnavailable] == 0 || st.Discarded == 0 {
		t.Fatalf("stats = %+v: want timed out calls, dropped calls and a restart", st)
	}
	if !strings.Contains(logs.String(), "no answer within") {
		t.Errorf("the hung plugin was not logged:\n%s", logs.String())
	}
	noProcessLeftPid(t, pid)
	// The new process answers, and nothing of the old one is pending.
	sc := newSC("orders", "")
	if err := before(t, p.Hooks(), sc); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if g := p.current(); g == nil || g.pid != newPid {
		t.Fatalf("current generation %v, want pid %d", g, newPid)
	} else {
		g.mu.Lock()
		n, b := len(g.pending), g.asyncBytes
		g.mu.Unlock()
		if n != 0 || b != 0 {
			t.Errorf("%d calls (%d bytes) pending on an idle plugin", n, b)
		}
	}
}

// TestProcessLoadBoundedByContext: a plugin program that never completes its handshake does not
// hold LoadProcess past its context, whatever the start timeout.
func TestProcessLoadBoundedByContext(t *testing.T) {
	// A copy of sleep under a name of its own, so that the leftover check sees only this one.
	src, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	sleeper := filepath.Join(t.TempDir(), "never-handshakes")
	if err := os.WriteFile(sleeper, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = LoadProcess(ctx, sleeper, WithArgs("3600"), WithStartTimeout(time.Hour))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("LoadProcess returned after %v", d)
	}
	noProcessLeft(t, sleeper)
}

// TestProcessOutputFlood: a process plugin's stdout, stderr and log records go through the same
// rate limit as a wasm guest's, sanitized: a flood of forged lines becomes a bounded number of
// records, each one line, with no raw control character.
func TestProcessOutputFlood(t *testing.T) {
	p, logs := loadProc(t, faultProc(t))
	sc := newSC("orders", "")
	sc.Message.SetProperty("flood", "1")
	start := time.Now()
	if err := before(t, p.Hooks(), sc); err != nil {
		t.Fatal(err)
	}
	// The plugin's output is read asynchronously: wait until the last lines have had time to
	// arrive (a bound on a wait, not a timing assertion), then one more call reports the drops.
	// Under load the flood may still fill the rate limit's window when that call logs, and its
	// record is dropped too: call again, once a window, until the report comes (bounded).
	time.Sleep(1500 * time.Millisecond)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := before(t, p.Hooks(), newSC("orders", "")); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(logs.String(), "dropped by the rate limit") || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	elapsed := time.Since(start)
	out := logs.String()
	n := strings.Count(out, "flood ")
	if max := logsPerSecond * (int(elapsed/time.Second) + 2); n == 0 || n > max {
		t.Errorf("%d flood records in %v, want 1..%d (9000 lines written)", n, elapsed, max)
	}
	if !strings.Contains(out, "dropped by the rate limit") {
		t.Errorf("the dropped records are not reported")
	}
	record := regexp.MustCompile(`^\d{4}-\d\d-\d\dT[^ ]+ \[(TRACE|DEBUG|INFO|WARN|ERROR)\] +test`)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !record.MatchString(line) {
			t.Fatalf("a line of the log is not a record of the host's logger: %q", line)
		}
	}
	for _, bad := range []string{"\x1b", "\x07"} {
		if strings.Contains(out, bad) {
			t.Fatalf("the log carries %q", bad)
		}
	}
	t.Logf("%d of 9000 flood lines logged in %v", n, elapsed)
}

// TestProcessRefusesNoPoints: a process plugin that declares no hook point is refused at load, its
// process stopped.
func TestProcessRefusesNoPoints(t *testing.T) {
	path := faultProc(t)
	_, err := LoadProcess(context.Background(), path, WithEnv("FAULT_MODE", "nopoints"))
	if err == nil || !strings.Contains(err.Error(), "declares no hook points") {
		t.Fatalf("err = %v", err)
	}
	noProcessLeft(t, path)
}
