package producer_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// The example programs are documentation that must keep working: this test builds each one as a
// reader would, runs it against the real local cluster and checks that it printed what its doc
// comment promises.

func TestMain(m *testing.M) { rmqtest.Main(m) }

// runTimeout bounds one program run; a healthy run takes a few seconds (transaction: until the
// broker's check-back, 2 to 6 s on the test cluster).
const runTimeout = 2 * time.Minute

// sentLine is the line every mode that learns where a message landed prints for it.
var sentLine = regexp.MustCompile(`^sent (?:[a-z]+=\S+ )*msgId=([0-9A-F]{32}) queue=(broker-[ab]):(\d+) offset=(\d+) status=SEND_OK$`)

type sent struct {
	id     string
	queue  string
	offset int64
}

// parseSent parses lines that must all be sentLines.
func parseSent(t *testing.T, lines []string) []sent {
	t.Helper()
	var out []sent
	for _, l := range lines {
		m := sentLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not a send result", l)
		}
		off, _ := strconv.ParseInt(m[4], 10, 64)
		out = append(out, sent{id: m[1], queue: m[2] + ":" + m[3], offset: off})
	}
	return out
}

func distinctIDs(t *testing.T, ss []sent, want int) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range ss {
		seen[s.id] = true
	}
	if len(ss) != want || len(seen) != want {
		t.Fatalf("%d results with %d distinct ids, want %d of each", len(ss), len(seen), want)
	}
}

var topicSeq atomic.Int64

// uniqueTopic names a topic for one run: the shared cluster outlives test runs.
func uniqueTopic(mode string) string {
	return fmt.Sprintf("ex_%s_%s_%d", mode, strconv.FormatInt(time.Now().UnixNano()%1e10, 36), topicSeq.Add(1))
}

// example is one program and what its run must show.
type example struct {
	name string
	// args are the program's flags besides -namesrv and -topic.
	args []string
	// setup prepares the cluster before the run (a responder for request).
	setup func(t *testing.T, cl *rmqtest.Cluster, topic string) (after func(t *testing.T))
	check func(t *testing.T, cl *rmqtest.Cluster, topic string, lines []string)
}

var examples = []example{
	{name: "sync", args: []string{"-create", "-n", "3"}, check: func(t *testing.T, _ *rmqtest.Cluster, _ string, lines []string) {
		distinctIDs(t, parseSent(t, lines), 3)
	}},
	{name: "async", args: []string{"-create", "-n", "5"}, check: func(t *testing.T, _ *rmqtest.Cluster, _ string, lines []string) {
		distinctIDs(t, parseSent(t, lines), 5)
	}},
	{name: "oneway", args: []string{"-create", "-n", "3"}, check: checkOneway},
	{name: "batch", args: []string{"-create", "-n", "10"}, check: checkBatch},
	{name: "autobatch", args: []string{"-create", "-n", "40"}, check: checkAutoBatch},
	{name: "ordered", args: []string{"-create", "-key", "order-订单-42"}, check: checkOrdered},
	{name: "delay", args: []string{"-create", "-level", "2", "-after", "3s"}, check: checkDelay},
	{name: "transaction", args: []string{"-create", "-wait", "60s"}, check: checkTransaction},
	{name: "request", args: []string{"-n", "3"}, setup: startResponder, check: checkRequest},
}

func TestExamples(t *testing.T) {
	cl := rmqtest.Start(t)
	bin := buildAll(t)
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			topic := uniqueTopic(ex.name)
			var after func(*testing.T)
			if ex.setup != nil {
				after = ex.setup(t, cl, topic)
			}
			args := append([]string{"-namesrv", cl.NameServer(), "-topic", topic}, ex.args...)
			if ex.name == "transaction" {
				// A group of its own, so no half message left by another run is checked back here.
				args = append(args, "-group", topic)
			}
			lines := run(t, filepath.Join(bin, ex.name), args...)
			ex.check(t, cl, topic, lines)
			if after != nil {
				after(t)
			}
		})
	}
}

// TestEveryProgramIsRun keeps the list above complete: a program added without a check would
// rot unnoticed.
func TestEveryProgramIsRun(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join("*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, ex := range examples {
		listed[ex.name] = true
	}
	for _, m := range mains {
		if dir := filepath.Dir(m); !listed[dir] {
			t.Errorf("examples/producer/%s is not run by TestExamples", dir)
		}
	}
	if len(mains) != len(examples) {
		t.Errorf("%d programs, %d examples listed", len(mains), len(examples))
	}
}

// buildAll builds every example program into a temporary directory with one go build, as a
// reader would build one, and returns the directory.
func buildAll(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the examples: %v", err)
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, ex := range examples {
		args = append(args, "./"+ex.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if out, err := exec.CommandContext(ctx, gobin, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built %d examples in %v", len(examples), time.Since(start).Round(time.Millisecond))
	return dir
}

// run runs one program to completion and returns its stdout lines; a non-zero exit or a run
// longer than runTimeout fails the test with everything it printed.
func run(t *testing.T, prog string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.WaitDelay = 5 * time.Second // a child that outlives the kill must not hold the pipes forever
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.Fatalf("%s %s: %v after %v (context: %v)\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(prog), strings.Join(args, " "), err, took, ctx.Err(), stdout.String(), stderr.String())
	}
	t.Logf("%s ran in %v:\n%s", filepath.Base(prog), took, stdout.String())
	if stderr.Len() > 0 {
		t.Errorf("stderr of a successful run should be empty:\n%s", stderr.String())
	}
	return strings.Split(strings.TrimSpace(stdout.String()), "\n")
}

var onewayLine = regexp.MustCompile(`^sent msgId=([0-9A-F]{32})$`)

// checkOneway checks the printed ids and that the broker stored every message: the program exits
// right after its last write, so Shutdown must not drop writes still on their way out.
func checkOneway(t *testing.T, cl *rmqtest.Cluster, topic string, lines []string) {
	seen := map[string]bool{}
	for _, l := range lines {
		m := onewayLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not a oneway send", l)
		}
		seen[m[1]] = true
	}
	if len(lines) != 3 || len(seen) != 3 {
		t.Fatalf("%d lines with %d distinct ids, want 3", len(lines), len(seen))
	}
	p, err := send.New(send.WithNameServers(cl.NameServer()), send.WithGroup("ex_oneway_check"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stored int64
	for {
		stored = 0
		for _, b := range []string{rmqtest.BrokerA, rmqtest.BrokerB} {
			for q := range 4 {
				if off, err := p.MaxOffset(ctx, message.MessageQueue{Topic: topic, BrokerName: b, QueueID: q}); err == nil {
					stored += off
				}
			}
		}
		if stored >= 3 || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if stored != 3 {
		t.Fatalf("the brokers stored %d messages on %s, want the 3 sent one-way", stored, topic)
	}
}

// checkAutoBatch: every message has its own id and offset, and fewer requests than messages
// carried them, each batch on consecutive offsets of one queue.
func checkAutoBatch(t *testing.T, _ *rmqtest.Cluster, _ string, lines []string) {
	if len(lines) == 0 {
		t.Fatal("no output")
	}
	var msgs, reqs int
	if _, err := fmt.Sscanf(lines[len(lines)-1], "autobatch messages=%d requests=%d", &msgs, &reqs); err != nil || msgs != 40 {
		t.Fatalf("summary %q: want %q", lines[len(lines)-1], "autobatch messages=40 requests=<n>")
	}
	if reqs < 1 || reqs >= msgs {
		t.Fatalf("%d requests for %d messages: not batched", reqs, msgs)
	}
	ss := parseSent(t, lines[:len(lines)-1])
	distinctIDs(t, ss, 40)
	at := map[string]bool{}
	for _, s := range ss {
		key := fmt.Sprintf("%s@%d", s.queue, s.offset)
		if at[key] {
			t.Fatalf("two messages report %s", key)
		}
		at[key] = true
	}
}

func checkBatch(t *testing.T, _ *rmqtest.Cluster, _ string, lines []string) {
	if len(lines) == 0 || lines[len(lines)-1] != "batch messages=10 requests=1" {
		t.Fatalf("want the summary %q last, got %q", "batch messages=10 requests=1", lines)
	}
	ss := parseSent(t, lines[:len(lines)-1])
	distinctIDs(t, ss, 10)
	// One request lands on one queue, its messages one after the other.
	for i, s := range ss {
		if s.queue != ss[0].queue || s.offset != ss[0].offset+int64(i) {
			t.Fatalf("message %d at %s offset %d; the batch began at %s offset %d", i, s.queue, s.offset, ss[0].queue, ss[0].offset)
		}
	}
}

func checkOrdered(t *testing.T, _ *rmqtest.Cluster, _ string, lines []string) {
	ss := parseSent(t, lines)
	distinctIDs(t, ss, 5)
	for i, s := range ss {
		if !strings.HasPrefix(lines[i], fmt.Sprintf("sent key=order-订单-42 seq=%d ", i)) {
			t.Fatalf("line %d is %q, want key and seq first", i, lines[i])
		}
		if s.queue != ss[0].queue || s.offset != ss[0].offset+int64(i) {
			t.Fatalf("step %d at %s offset %d; step 0 at %s offset %d: the order is not kept on one queue",
				i, s.queue, s.offset, ss[0].queue, ss[0].offset)
		}
	}
}

func checkDelay(t *testing.T, cl *rmqtest.Cluster, _ string, lines []string) {
	want := []string{"sent delay=level:2 ", "sent delay=timer:3s "}
	if !cl.AtLeast("5.0.0") {
		// Timer delivery needs 5.0: the producer refuses it before sending, and the program says so.
		want[1] = "skipped delay=timer:3s: "
		if len(lines) != 2 {
			t.Fatalf("%d lines, want 2: %q", len(lines), lines)
		}
		if !strings.Contains(lines[1], "needs RocketMQ 5.0.0 or later") {
			t.Errorf("the skipped line does not say why: %q", lines[1])
		}
		distinctIDs(t, parseSent(t, lines[:1]), 1)
	} else {
		distinctIDs(t, parseSent(t, lines), 2)
	}
	for i, prefix := range want {
		if !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("line %d is %q, want it to begin with %q", i, lines[i], prefix)
		}
	}
}

var (
	txLine      = regexp.MustCompile(`^tx key=(order-\d) msgId=([0-9A-F]{32}) queue=broker-[ab]:\d+ state=(\S+)$`)
	checkedLine = regexp.MustCompile(`^checked key=(\S+) msgId=([0-9A-F]{32}) state=(\S+)$`)
)

func checkTransaction(t *testing.T, _ *rmqtest.Cluster, _ string, lines []string) {
	want := map[string]string{"order-1": "COMMIT_MESSAGE", "order-2": "ROLLBACK_MESSAGE", "order-3": "UNKNOW"}
	ids := map[string]string{}
	var checked []string
	for _, l := range lines {
		if m := txLine.FindStringSubmatch(l); m != nil {
			if m[3] != want[m[1]] {
				t.Errorf("%s ended %s, want %s", m[1], m[3], want[m[1]])
			}
			ids[m[1]] = m[2]
			continue
		}
		if m := checkedLine.FindStringSubmatch(l); m != nil {
			checked = append(checked, l)
			continue
		}
		t.Errorf("unexpected line %q", l)
	}
	if len(ids) != 3 {
		t.Fatalf("transactions printed for %v, want order-1, order-2 and order-3", ids)
	}
	// The unknown transaction is settled by the checker from the ledger, where it committed.
	wantCheck := fmt.Sprintf("checked key=order-3 msgId=%s state=COMMIT_MESSAGE", ids["order-3"])
	if !strings.Contains(strings.Join(checked, "\n"), wantCheck) {
		t.Fatalf("no %q among the check-backs %q", wantCheck, checked)
	}
}

const requests = 3

// startResponder creates the topic and starts the Java responder on it before the program runs:
// a request nobody consumes is never answered.
func startResponder(t *testing.T, cl *rmqtest.Cluster, topic string) func(*testing.T) {
	cl.CreateTopic(t, topic, 4)
	r := javapeertest.Reply(t, cl.NameServer(), topic, javapeertest.WithCount(requests), javapeertest.WithTimeout(runTimeout+time.Minute))
	return func(t *testing.T) {
		for _, ev := range r.Collect(requests, 30*time.Second) {
			if !ev.Replied || ev.ReplyToClient == "" || ev.CorrelationID == "" {
				t.Errorf("the responder saw %+v", ev)
			}
		}
	}
}

var replyLine = regexp.MustCompile(`^reply request=("[^"]*") body=("[^"]*") rtt=\S+$`)

func checkRequest(t *testing.T, _ *rmqtest.Cluster, _ string, lines []string) {
	if len(lines) != requests {
		t.Fatalf("%d lines, want one reply per request (%d)", len(lines), requests)
	}
	for i, l := range lines {
		m := replyLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not a reply", l)
		}
		req, _ := strconv.Unquote(m[1])
		body, _ := strconv.Unquote(m[2])
		if want := fmt.Sprintf("question %d", i); req != want || body != "reply:"+want {
			t.Errorf("request %q got reply %q, want %q for %q", req, body, "reply:"+want, want)
		}
	}
}
