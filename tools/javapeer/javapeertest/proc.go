package javapeertest

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// jvmFlags keep each javapeer JVM small: a witness, not a server.
var jvmFlags = []string{
	"-Xmx128m", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
	"-XX:+PerfDisableSharedMem", // no /tmp/hsperfdata_* files
	"-Djava.net.preferIPv4Stack=true", "-Dfile.encoding=UTF-8",
}

const (
	maxLine        = 64 << 20 // a 4 MiB body is ~5.6 MB of base64
	stderrKeep     = 256 << 10
	gracefulStop   = 10 * time.Second // SIGTERM -> client shutdown -> exit
	killWait       = 10 * time.Second
	defaultLife    = 10 * time.Minute // a consumer/responder JVM exits by itself after this
	defaultReady   = 90 * time.Second // JVM start + route + rebalance, under load
	defaultProduce = 5 * time.Minute
)

// proc is one javapeer JVM: stdout is split into lines (queued without
// bound, so the JVM never blocks on us), stderr keeps its tail.
type proc struct {
	t       testing.TB
	args    []string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	started time.Time
	stderr  *tailBuffer

	mu      sync.Mutex
	lines   [][]byte
	eof     bool
	readErr error
	notify  chan struct{} // 1-buffered: "lines or eof changed"

	exited  chan struct{}
	exitErr error

	closeOnce sync.Once
}

// launch starts `java ... -jar javapeer.jar args... --exit-on-stdin-eof`
// and registers its cleanup (stop, then print stderr when the test failed).
func launch(t testing.TB, args ...string) *proc {
	t.Helper()
	jar := Jar(t)
	home := t.TempDir() // user.home, java.io.tmpdir: nothing lands in $HOME or /tmp
	jvm := append([]string{}, jvmFlags...)
	jvm = append(jvm,
		"-Duser.home="+home,
		"-Djava.io.tmpdir="+home,
		"-Drocketmq.log.root="+filepath.Join(home, "logs"), // unused with our logback config; belt and braces
	)
	jvm = append(jvm, strings.Fields(os.Getenv("JAVAPEER_JAVA_OPTS"))...)
	jvm = append(jvm, "-jar", jar)
	jvm = append(jvm, args...)
	jvm = append(jvm, "--exit-on-stdin-eof")

	p := &proc{
		t:      t,
		args:   args,
		stderr: &tailBuffer{max: stderrKeep},
		notify: make(chan struct{}, 1),
		exited: make(chan struct{}),
	}
	p.cmd = exec.Command(javaBin, jvm...)
	p.cmd.Dir = home
	p.cmd.Stderr = p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("javapeertest: %v", err)
	}
	// The JVM exits when this pipe reports EOF, i.e. when this test process
	// dies without running its cleanups.
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatalf("javapeertest: %v", err)
	}
	// Registered first so it runs last, after the JVM is gone and stderr complete.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("javapeertest: javapeer %s: stderr (tail):\n%s", strings.Join(p.args, " "), p.stderr.String())
		}
	})
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("javapeertest: starting %s: %v", javaBin, err)
	}
	t.Cleanup(p.close)
	go p.pump(stdout)
	return p
}

func (p *proc) pump(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		p.mu.Lock()
		p.lines = append(p.lines, line)
		p.mu.Unlock()
		p.signal()
	}
	err := sc.Err()
	if err != nil {
		_, _ = io.Copy(io.Discard, stdout) // let the JVM finish writing
	}
	p.mu.Lock()
	p.eof, p.readErr = true, err
	p.mu.Unlock()
	p.signal()
	p.exitErr = p.cmd.Wait()
	close(p.exited)
}

func (p *proc) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// next returns the next stdout line, waiting until deadline; ok is false at
// the deadline or when the JVM closed stdout and every line was read.
func (p *proc) next(deadline time.Time) (line []byte, ok bool) {
	for {
		p.mu.Lock()
		if len(p.lines) > 0 {
			line = p.lines[0]
			p.lines[0] = nil
			p.lines = p.lines[1:]
			p.mu.Unlock()
			return line, true
		}
		eof := p.eof
		p.mu.Unlock()
		if eof {
			return nil, false
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil, false
		}
		timer := time.NewTimer(wait)
		select {
		case <-p.notify:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// ended reports whether stdout is closed and drained.
func (p *proc) ended() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.eof && len(p.lines) == 0
}

// wait waits for the JVM to exit, at most d; ok is false on timeout.
func (p *proc) wait(d time.Duration) (exitErr error, ok bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.exited:
		return p.exitErr, true
	case <-timer.C:
		return nil, false
	}
}

// close stops the JVM: SIGTERM (the client unregisters from the brokers),
// SIGKILL after gracefulStop. Idempotent; the test's cleanup calls it.
func (p *proc) close() {
	p.closeOnce.Do(func() {
		defer p.stdin.Close()
		select {
		case <-p.exited:
			return
		default:
		}
		if err := terminate(p.cmd.Process); err == nil {
			if _, ok := p.wait(gracefulStop); ok {
				return
			}
			p.t.Logf("javapeertest: javapeer %s did not stop within %v of SIGTERM: killing it", p.args[0], gracefulStop)
		}
		_ = p.cmd.Process.Kill()
		if _, ok := p.wait(killWait); !ok {
			p.t.Errorf("javapeertest: javapeer pid %d still running %v after SIGKILL", p.cmd.Process.Pid, killWait)
		}
	})
}

// describe is a one-line status for failure messages.
func (p *proc) describe() string {
	select {
	case <-p.exited:
		return fmt.Sprintf("JVM exited (%v) after %v", exitText(p.exitErr), time.Since(p.started).Round(time.Millisecond))
	default:
		return fmt.Sprintf("JVM running for %v", time.Since(p.started).Round(time.Millisecond))
	}
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	return err.Error()
}

// peakRSSKiB reads VmHWM of a running process from /proc (Linux); 0 when
// unknown or exited.
func (p *proc) peakRSSKiB() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// tailBuffer keeps the first and the last part of what is written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	head    []byte
	tail    []byte
	dropped int64
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := b.max/4 - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - (b.max - b.max/4); over > 0 {
		b.dropped += int64(over)
		b.tail = append(b.tail[:0], b.tail[over:]...)
	}
	return n, nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped == 0 {
		return string(b.head) + string(b.tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes dropped ...]\n%s", b.head, b.dropped, b.tail)
}

// strArg passes a string option; values that are not plain printable ASCII
// go base64-encoded (--NAME-base64), because the JVM decodes argv with the
// platform charset, which may not be UTF-8.
func strArg(name, value string) []string {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c >= 0x7f {
			return []string{"--" + name + "-base64", base64.StdEncoding.EncodeToString([]byte(value))}
		}
	}
	return []string{"--" + name, value}
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
