package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

// run runs the command line with args and returns what it printed and its error.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err != nil {
		printError(&out, err)
	}
	return out.String(), err
}

// runSplit is run with standard output and standard error apart.
func runSplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(""))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func pluginDir(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "rocketsend-cmd-plugins"); buildErr == nil {
			buildErr = examplebuild.Build(context.Background(), buildDir, examplebuild.Names...)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func uniqueTopic(prefix string) string { return prefix + "_" + time.Now().Format("150405.000000")[7:] }

// TestDemo runs the README's main command against the real cluster: every mode shows up, stored
// and read back through the plugins, and the policy plugin's refusal is shown.
func TestDemo(t *testing.T) {
	cl := rmqtest.Start(t)
	text, err := run(t, "", "demo", "--namesrv", cl.NameServer(), "--topic", "rs_demo_test")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, text)
	}
	for _, want := range []string{"sync", "async", "oneway", "ordered #0", "ordered #1", "batch #0", "batch #1",
		"transaction (half message, then COMMIT_MESSAGE)", "REFUSED, nothing sent", `forbids the send: tag "secret"`,
		"the caller (OrderedBy)", "zoneaffinity (keyhash: no key)", "redacted", `"card **************** charged"`} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// Every stored message but the oneway one is read back with the native hook's stamp and a
	// trace id from the tracing plugin.
	if n := strings.Count(text, `stamped-by="demo-hook attempt 1"`); n != 9 {
		t.Errorf("%d messages read back with the hook's stamp, want 9:\n%s", n, text)
	}
	if n := strings.Count(text, "trace_id=orders-"); n != 9 {
		t.Errorf("%d messages read back with a trace id, want 9:\n%s", n, text)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "sync no-keys") && !strings.Contains(line, "broker-b:") {
			t.Errorf("zoneaffinity (brokers = broker-b) did not keep the keyless message on broker-b: %s", line)
		}
	}
	if strings.Contains(text, "failed") {
		t.Errorf("demo reports a failure:\n%s", text)
	}
	t.Log("\n" + text)
}

func TestSend(t *testing.T) {
	cl := rmqtest.Start(t)
	topic := uniqueTopic("rs_cmd_send")
	cl.CreateTopic(t, topic, 2)
	for _, mode := range []string{"sync", "async", "oneway", "batch"} {
		// --set reaches the producer: JSON headers and a one-attempt budget still send.
		text, err := run(t, "", "send", "-n", cl.NameServer(), "-t", topic, "--body", "hello "+mode, "--count", "3",
			"--mode", mode, "--keys", "k1 k2", "--tags", "cli", "--prop", "a=b", "--json",
			"--set", "serialize=json", "--set", "retries=0", "--set", "send_timeout=20s")
		if err != nil {
			t.Fatalf("send --mode %s: %v\n%s", mode, err, text)
		}
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if len(lines) != 3 {
			t.Fatalf("send --mode %s: %d lines:\n%s", mode, len(lines), text)
		}
		for _, l := range lines {
			var r sendResult
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.Error != "" || r.MsgID == "" {
				t.Errorf("send --mode %s: %q (%v)", mode, l, err)
			}
			if mode != "oneway" && (r.Status != "SEND_OK" || r.OffsetMsgID == "") {
				t.Errorf("send --mode %s: %+v", mode, r)
			}
		}
	}

	// A JSON-lines file through a plugin given on the command line; the result is read back.
	file := filepath.Join(t.TempDir(), "msgs.jsonl")
	lines := `{"topic":"` + topic + `","body":"card 4111111111111111","keys":"a"}
{"body_base64":"aGk=","tags":"x","properties":{"p":"v"},"order_key":"customer-1"}
`
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := run(t, "", "send", "-n", cl.NameServer(), "-t", topic, "--file", file, "--plugin", filepath.Join(pluginDir(t), "redact.wasm"))
	if err != nil {
		t.Fatalf("send --file: %v\n%s", err, text)
	}
	if strings.Count(text, "SEND_OK") != 2 {
		t.Fatalf("send --file:\n%s", text)
	}
	// Standard input works too, and bad lines are refused with their line number.
	if text, err := run(t, `{"topic":"`+topic+`","body":"x"}`+"\n", "send", "-n", cl.NameServer(), "--file", "-"); err != nil || !strings.Contains(text, "SEND_OK") {
		t.Fatalf("send --file -: %v\n%s", err, text)
	}
	if text, err := run(t, "{\"body\":\"x\"}\n{\"bdy\":1}\n", "send", "-n", cl.NameServer(), "-t", topic, "--file", "-"); err == nil || !strings.Contains(text, "-:2:") || !strings.Contains(text, `unknown field "bdy"`) {
		t.Fatalf("bad line: %v\n%s", err, text)
	}
	// The policy plugin refuses through the command, which exits with an error.
	conf := filepath.Join(t.TempDir(), "rs.hcl")
	if err := os.WriteFile(conf, []byte(`plugin "policy" {
  kind = "wasm"
  path = "`+filepath.Join(pluginDir(t), "policy.wasm")+`"
  settings = { deny_tags = "secret" }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err = run(t, "", "send", "-c", conf, "-n", cl.NameServer(), "-t", topic, "--body", "x", "--tags", "secret")
	if err == nil || !strings.Contains(text, "FAILED") || !strings.Contains(text, `tag "secret"`) || exitCode(err) != 1 {
		t.Fatalf("forbidden send: %v\n%s", err, text)
	}
}

// TestSendTargets covers the send flags that choose where and when a message goes, and the ones
// refused before anything is sent.
func TestSendTargets(t *testing.T) {
	cl := rmqtest.Start(t)
	topic := uniqueTopic("rs_cmd_target")
	cl.CreateTopic(t, topic, 4)
	results := func(text string) []sendResult {
		t.Helper()
		var rs []sendResult
		for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
			var r sendResult
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.Error != "" {
				t.Fatalf("%q: %v", l, err)
			}
			rs = append(rs, r)
		}
		return rs
	}
	ns := cl.NameServer()
	text, err := run(t, "", "send", "-n", ns, "-t", topic, "--body", "x", "--count", "3", "--queue", "broker-b:2", "--json")
	if err != nil {
		t.Fatalf("--queue: %v\n%s", err, text)
	}
	for _, r := range results(text) {
		if r.Broker != "broker-b" || r.QueueID != 2 {
			t.Fatalf("--queue broker-b:2 landed on %s:%d", r.Broker, r.QueueID)
		}
	}
	text, err = run(t, "", "send", "-n", ns, "-t", topic, "--body", "x", "--count", "8", "--broker", "broker-a", "--json")
	if err != nil {
		t.Fatalf("--broker: %v\n%s", err, text)
	}
	queues := map[int]bool{}
	for _, r := range results(text) {
		if r.Broker != "broker-a" {
			t.Fatalf("--broker broker-a landed on %s", r.Broker)
		}
		queues[r.QueueID] = true
	}
	if len(queues) != 4 {
		t.Errorf("--broker broker-a used queues %v, want all 4 in turn", queues)
	}
	// One message per line of standard input, as one batch on the order key's queue.
	text, err = run(t, "one\ntwo\n\nthree\n", "send", "-n", ns, "-t", topic, "--lines", "--mode", "batch", "--order-key", "customer-7", "--json")
	if err != nil {
		t.Fatalf("--lines --mode batch --order-key: %v\n%s", err, text)
	}
	rs := results(text)
	if len(rs) != 3 {
		t.Fatalf("--lines: %d results, want 3:\n%s", len(rs), text)
	}
	// The same key alone, in sync mode, goes to the same queue as the batch did.
	text, err = run(t, "", "send", "-n", ns, "-t", topic, "--body", "x", "--order-key", "customer-7", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if one := results(text)[0]; one.Broker != rs[0].Broker || one.QueueID != rs[0].QueueID {
		t.Errorf("--order-key in batch mode went to %s:%d, a sync send with it to %s:%d", rs[0].Broker, rs[0].QueueID, one.Broker, one.QueueID)
	}
	// The three lines are stored, in order, with their bodies.
	for i, want := range []string{"one", "two", "three"} {
		text, err := run(t, "", "topic", "message", "-n", ns, "-t", topic, "--id", rs[i].MsgID, "--json")
		if err != nil || !strings.Contains(text, `"body": "`+want+`"`) {
			t.Errorf("line %d (%s): %v\n%s", i, rs[i].MsgID, err, text)
		}
	}
	// Timer delivery: a 5.x broker takes it; before 5.0 the producer refuses it, saying why.
	for _, flag := range [][]string{{"--deliver-after", "2s"}, {"--deliver-at", time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)}} {
		text, err := run(t, "", append([]string{"send", "-n", ns, "-t", topic, "--body", "timer"}, flag...)...)
		if cl.AtLeast("5.0.0") {
			if err != nil || !strings.Contains(text, "SEND_OK") {
				t.Errorf("%v: %v\n%s", flag, err, text)
			}
		} else if err == nil || !strings.Contains(text, "timer delivery") || !strings.Contains(text, "needs RocketMQ 5.0.0 or later") {
			t.Errorf("%v against %s: want the refusal of timer delivery, got %v\n%s", flag, cl.Version(), err, text)
		}
	}
	// Refused before sending, as usage errors (exit status 2).
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"--prop", "UNIQ_KEY=abc"}, "", `"UNIQ_KEY" is a system property`},
		{[]string{"--delay-level", "99"}, "", "delay level 99 is outside the broker's table"},
		{[]string{"--delay-level", "3", "--deliver-after", "5s"}, "", "give one of --delay-level, --deliver-at and --deliver-after"},
		{[]string{"--deliver-at", "tomorrow"}, "", `--deliver-at "tomorrow"`},
		{[]string{"--queue", "broker-a"}, "", "want BROKER:QUEUE_ID"},
		{[]string{"--queue", "broker-a:1", "--order-key", "k"}, "", "--order-key chooses the queue itself"},
		{[]string{"--file", "-"}, `{"body":"x","properties":{"TAGS":"t"}}` + "\n", `"TAGS" is a system property`},
		{[]string{"--file", "-", "--mode", "batch"}, `{"body":"x","order_key":"a"}` + "\n" + `{"body":"y","order_key":"b"}` + "\n", "different order keys"},
	} {
		text, err := run(t, tc.stdin, append([]string{"send", "-n", ns, "-t", topic, "--body", "x"}, tc.args...)...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(text, tc.want) {
			t.Errorf("%v: %v (exit %d), output lacks %q:\n%s", tc.args, err, exitCode(err), tc.want, text)
		}
	}
	// A broker the topic does not have is a runtime failure naming the brokers it has.
	text, err = run(t, "", "send", "-n", ns, "-t", topic, "--body", "x", "--broker", "broker-z")
	if err == nil || exitCode(err) != 1 || !strings.Contains(text, "broker-a, broker-b") {
		t.Errorf("--broker broker-z: %v\n%s", err, text)
	}
}

// TestTopic runs the read-only topic subcommands against a topic with known contents.
func TestTopic(t *testing.T) {
	cl := rmqtest.Start(t)
	topic := uniqueTopic("rs_cmd_topic")
	cl.CreateTopic(t, topic, 2)
	ns := cl.NameServer()
	text, err := run(t, "", "topic", "route", "-n", ns, topic)
	if err != nil || !strings.Contains(text, "broker-a") || !strings.Contains(text, "broker-b") || !strings.Contains(text, "rw-") {
		t.Fatalf("topic route: %v\n%s", err, text)
	}
	text, err = run(t, "", "send", "-n", ns, "-t", topic, "--body", "seen", "--keys", "topic-key-1", "--queue", "broker-b:1", "--json")
	if err != nil {
		t.Fatalf("send: %v\n%s", err, text)
	}
	var sent sendResult
	if err := json.Unmarshal([]byte(text), &sent); err != nil {
		t.Fatal(err)
	}
	text, err = run(t, "", "topic", "offsets", "-n", ns, topic, "--json")
	if err != nil {
		t.Fatalf("topic offsets: %v\n%s", err, text)
	}
	var offs struct{ Queues []queueOffsets }
	if err := json.Unmarshal([]byte(text), &offs); err != nil || len(offs.Queues) != 4 {
		t.Fatalf("topic offsets --json: %v\n%s", err, text)
	}
	for _, q := range offs.Queues {
		want := int64(0)
		if q.Broker == "broker-b" && q.Queue == 1 {
			want = 1
		}
		if q.Max-q.Min != want {
			t.Errorf("%s:%d holds %d messages, want %d", q.Broker, q.Queue, q.Max-q.Min, want)
		}
	}
	if text, err := run(t, "", "topic", "offsets", "-n", ns, topic); err != nil || !strings.Contains(text, "total") {
		t.Errorf("topic offsets: %v\n%s", err, text)
	}
	for _, args := range [][]string{{"--id", sent.OffsetMsgID}, {"-t", topic, "--id", sent.MsgID}, {"-t", topic, "--key", "topic-key-1"}} {
		// The broker indexes keys a moment after storing.
		deadline := time.Now().Add(20 * time.Second)
		for {
			text, err = run(t, "", append([]string{"topic", "message", "-n", ns}, args...)...)
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil || !strings.Contains(text, sent.MsgID) || !strings.Contains(text, `body         "seen"`) || !strings.Contains(text, "KEYS=\"topic-key-1\"") {
			t.Errorf("topic message %v: %v\n%s", args, err, text)
		}
	}
	for _, args := range [][]string{{"topic", "message", "-n", ns}, {"topic", "message", "-n", ns, "--id", sent.MsgID}, {"topic", "route", "-n", ns}} {
		if text, err := run(t, "", args...); err == nil || exitCode(err) != 2 {
			t.Errorf("%v: %v (exit %d)\n%s", args, err, exitCode(err), text)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "rs.hcl")
	if err := os.WriteFile(conf, []byte("producer {\n  retries = \"x\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "-c", conf, "-t", "T", "--body", "x"}, "rs.hcl line 2"},
		{[]string{"send", "-n", "127.0.0.1:1", "--body", "x"}, "--topic is required"},
		{[]string{"send", "-n", "127.0.0.1:1", "-t", "T", "--mode", "fast"}, `--mode "fast"`},
		{[]string{"bench", "-n", "127.0.0.1:1", "--mode", "fast"}, `--mode "fast"`},
		{[]string{"plugin", "check", "/nonexistent.wasm"}, "no such file"},
		{[]string{"plugin", "check", "--kind", "process", "/bin/true"}, "exited before the handshake"},
		{[]string{"plugin", "new", "--name", "Bad Name", t.TempDir()}, "lower-case"},
		{[]string{"send", "--no-such-flag"}, "unknown flag"},
	} {
		text, err := run(t, "", tc.args...)
		if err == nil || !strings.Contains(text, tc.want) {
			t.Errorf("%v: %v, output lacks %q:\n%s", tc.args, err, tc.want, text)
		}
	}
	// Usage errors exit with 2, runtime failures with 1.
	t.Setenv("NAMESRV_ADDR", "")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"send", "--no-such-flag"}, 2, "unknown flag"},
		{[]string{"no-such-command"}, 2, "unknown command"},
		{[]string{"plugin", "check"}, 2, "accepts 1 arg"},
		{[]string{"send", "-n", "127.0.0.1:1", "-t", "T", "--mode", "fast"}, 2, `--mode "fast"`},
		{[]string{"bench", "--count", "0"}, 2, "--count 0"},
		{[]string{"send", "-t", "T", "--body", "x"}, 2, "give -n host:port"},
		{[]string{"send", "-t", "T", "--body", "x"}, 2, "NAMESRV_ADDR"},
		{[]string{"send", "-n", "127.0.0.1:9", "-t", "T", "--body", "x", "--log-level", "loud"}, 2, `--log-level "loud"`},
		{[]string{"send", "-n", "127.0.0.1:9", "-t", "T", "--body", "x", "--set", "send_timout=1s"}, 2, `Did you mean "send_timeout"?`},
		{[]string{"send", "-n", "127.0.0.1:9", "-t", "T", "--body", "x", "--set", "retries=500"}, 2, "from 0 to 100"},
		{[]string{"send", "-n", "127.0.0.1:9", "-t", "T", "--body", "x", "--set", "retries"}, 2, "want NAME=VALUE"},
		{[]string{"plugin", "check", "/nonexistent.wasm"}, 1, "no such file"},
		{[]string{"send", "-c", conf, "-t", "T", "--body", "x"}, 1, "rs.hcl"},
	} {
		text, err := run(t, "", tc.args...)
		if err == nil || exitCode(err) != tc.code || !strings.Contains(text, tc.want) {
			t.Errorf("%v: %v (exit %d, want %d), output lacks %q:\n%s", tc.args, err, exitCode(err), tc.code, tc.want, text)
		}
	}
	text, err := run(t, "", "--version")
	if err != nil || !strings.HasPrefix(text, "rocketsend "+rocketsend.Version) {
		t.Errorf("--version: %v %q", err, text)
	}
}

func TestBench(t *testing.T) {
	cl := rmqtest.Start(t)
	plot := filepath.Join(t.TempDir(), "lat.svg")
	for _, mode := range []string{"async", "sync", "oneway"} {
		args := []string{"bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_bench"), "--count", "300", "--size", "256",
			"--mode", mode, "--warmup", "10", "--concurrency", "4", "--inflight", "64", "--json", "--no-progress"}
		if mode == "async" {
			args = append(args, "--plot", plot)
		}
		text, err := run(t, "", args...)
		if err != nil {
			t.Fatalf("bench --mode %s: %v\n%s", mode, err, text)
		}
		var r benchResult
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			t.Fatalf("bench --json: %v\n%s", err, text)
		}
		if r.Sent != 300 || r.Failed != 0 || r.MsgsPerSec <= 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms || r.MaxMs < r.P99Ms || r.CPUNanosPerMsg <= 0 {
			t.Errorf("bench --mode %s: %+v", mode, r)
		}
	}
	svg, err := os.ReadFile(plot)
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("polyline")) {
		t.Errorf("plot: %v\n%s", err, svg)
	}
	// The human form: per-second lines with a progress bar, and the HDR summary.
	text, err := run(t, "", "bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_bench"), "--count", "200", "--warmup", "0")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, text)
	}
	for _, want := range []string{"done  200 sent, 0 failed", "[##############################] 100%", "percentile", "99.90%", "HDR histogram",
		"MB/s", "200 stored, 200 acknowledged: ok"} {
		if !strings.Contains(text, want) {
			t.Errorf("bench output lacks %q:\n%s", want, text)
		}
	}
	// Batch mode, bounded by --duration and paced by --rate; the JSON carries the table.
	text, err = run(t, "", "bench", "-n", cl.NameServer(), "-t", uniqueTopic("rs_cmd_bench"), "--mode", "batch", "--batch", "10",
		"--duration", "2s", "--rate", "200", "--warmup", "0", "--concurrency", "2", "--json", "--no-progress")
	if err != nil {
		t.Fatalf("bench --mode batch: %v\n%s", err, text)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		t.Fatal(err)
	}
	// --rate 200 for 2 s: never more than 400 started, plus one batch per goroutine in progress;
	// how many fewer a loaded machine manages is not asserted.
	if r.Sent < 10 || r.Sent > 420 || r.Sent%10 != 0 || r.Latencies != r.Sent/10 || r.Batch != 10 || r.MBPerSec <= 0 {
		t.Errorf("bench --mode batch --rate 200 --duration 2s: %+v", r)
	}
	if r.Stored == nil || r.Stored.Stored != r.Sent || r.Stored.Verdict != verdictOK {
		t.Errorf("stored check: %+v", r.Stored)
	}
	if len(r.Percentiles) != 10 {
		t.Fatalf("percentiles: %+v", r.Percentiles)
	}
	for i, p := range r.Percentiles {
		// At least the percentile's share of the sends took at most its latency.
		if min := int64(p.Percentile / 100 * float64(r.Latencies)); p.Count < min || p.Count > r.Latencies || (i > 0 && p.Count < r.Percentiles[i-1].Count) {
			t.Errorf("percentile %v: count %d of %d", p.Percentile, p.Count, r.Latencies)
		}
	}
	if last := r.Percentiles[9]; last.Count != r.Latencies {
		t.Errorf("100%%: count %d, want every one of %d", last.Count, r.Latencies)
	}

	// Ctrl-C (here: the stop context) ends a long run early; what ran is summarized and checked.
	topic := uniqueTopic("rs_cmd_bench")
	cl.CreateTopic(t, topic, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pf := producerFlags{namesrv: cl.NameServer(), logLevel: "off"}
	p, err := pf.producer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	stop, interrupt := context.WithCancel(ctx)
	time.AfterFunc(1500*time.Millisecond, interrupt)
	res := benchRunStop(ctx, stop, p, benchOptions{topic: topic, duration: time.Minute, size: 100, mode: "async",
		concurrency: 1, inflight: 32}, nil)
	if !res.Interrupted || res.Sent == 0 || res.Failed != 0 || res.Unsent != 0 || res.Seconds > 30 {
		t.Errorf("interrupted run: %+v", res)
	}
	if res.Stored == nil || res.Stored.Stored != res.Sent || res.Stored.Verdict != verdictOK {
		t.Errorf("interrupted run's stored check: %+v", res.Stored)
	}
	var sum bytes.Buffer
	printSummary(&sum, res)
	if !strings.Contains(sum.String(), "interrupted: the summary of what ran until Ctrl-C") {
		t.Errorf("summary:\n%s", sum.String())
	}
}

func TestPluginCheckEveryExample(t *testing.T) {
	dir := pluginDir(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"policy", []string{"--setting", "deny_tags=secret", "--tags", "secret"}, []string{"hooks", "forbidden", `FORBIDDEN: wasm plugin "policy" forbids the send: tag "secret"`}},
		{"redact", []string{"--body", "card 4111111111111111"}, []string{"before", `set redacted="true"; body -> "card ****************"`, "body (lazy)"}},
		{"tracing", []string{"--setting", "name=chk"}, []string{"before", `set trace_id="chk-1"`, "after", "observed a SEND_OK"}},
		{"keyhash", []string{"--setting", "source=keys"}, []string{"select", "chose broker-"}},
		{"zoneaffinity", []string{"--setting", "brokers=broker-b"}, []string{"select", "chose broker-b:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := run(t, "", append([]string{"plugin", "check", filepath.Join(dir, tc.name+".wasm")}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			for _, w := range append(tc.want, "plugin "+tc.name, "0 failures") {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
		})
	}
	// A plugin that rejects its settings fails the check with the reason, as readable text.
	text, err := run(t, "", "plugin", "check", filepath.Join(dir, "policy.wasm"), "--setting", "nonsense=1")
	if err == nil || !strings.Contains(text, "hook_init rejected the configuration") || strings.Contains(text, `\x0a`) {
		t.Fatalf("bad setting: %v\n%s", err, text)
	}
	// The plugin's log lines go to standard error, as --log-level says; the report to standard output.
	stdout, stderr, err := runSplit(t, "plugin", "check", filepath.Join(dir, "policy.wasm"), "--setting", "nonsense=1", "--log-level", "debug")
	if err == nil || strings.Contains(stdout, "[WARN]") || !strings.Contains(stderr, `unknown setting "nonsense"`) {
		t.Errorf("logs: stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	// A topic filter that leaves the sample out is reported as skipped, not as allowed.
	text, err = run(t, "", "plugin", "check", filepath.Join(dir, "policy.wasm"), "--setting", "deny_tags=secret", "--tags", "secret",
		"--topic", "Other", "--topics", "Orders")
	if err != nil || !strings.Contains(text, "SKIPPED: the plugin applies to Orders only, not Other") || strings.Contains(text, "allowed") ||
		!strings.Contains(text, "0 calls") {
		t.Errorf("topic filter: %v\n%s", err, text)
	}
}

// TestPluginNew scaffolds a plugin, runs its own tests, builds it for wasm and checks it.
func TestPluginNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	text, err := run(t, "", "plugin", "new", dir, "--module", "example.com/audit")
	if err != nil {
		t.Fatalf("plugin new: %v\n%s", err, text)
	}
	// The project names no path of this machine: go.mod finds the checkout by a relative path.
	root, err := examplebuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"main.go", "logic.go", "logic_test.go", "README.md"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || bytes.Contains(b, []byte(root)) {
			t.Errorf("%s names the checkout's absolute path (%v):\n%s", f, err, b)
		}
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	_, target, ok := strings.Cut(string(gomod), "replace github.com/rocketsend/rocketsend => ")
	target, _, _ = strings.Cut(target, "\n")
	if !ok || filepath.IsAbs(target) || filepath.Clean(filepath.Join(dir, target)) != filepath.Clean(root) {
		t.Errorf("go.mod does not replace rocketsend by the checkout's relative path (%q):\n%s", target, gomod)
	}
	for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v in the new plugin: %v\n%s", args, err, b)
		}
	}
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", "audit.wasm", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the new plugin: %v\n%s", err, b)
	}
	text, err = run(t, "", "plugin", "check", filepath.Join(dir, "audit.wasm"), "--tags", "blocked")
	if err != nil || !strings.Contains(text, `FORBIDDEN: wasm plugin "audit" forbids the send: tag "blocked" is not allowed`) ||
		!strings.Contains(text, `set audit="seen"`) {
		t.Fatalf("checking the new plugin: %v\n%s", err, text)
	}
	if text, err := run(t, "", "plugin", "new", dir); err == nil || !strings.Contains(text, "not empty") {
		t.Fatalf("plugin new into a full directory: %v\n%s", err, text)
	}
}
