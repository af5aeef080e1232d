package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/tools/javapeer/javapeertest"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

var (
	sentLine = regexp.MustCompile(`^sent msgId=([0-9A-F]{32}) queue=broker-[ab]:\d+ offset=\d+ status=SEND_OK trace_id=(obs-\S+) traceparent=(00-([0-9a-f]{32})-([0-9a-f]{16})-01)$`)
	spanLine = regexp.MustCompile(`^span name="([^"]+)" trace=([0-9a-f]{32}) span=([0-9a-f]{16}) parent=([0-9a-f]{16}) status=(\w+) msgId=(\S*)$`)
)

// TestExampleRunsWithBothHooks builds the tracing plugin for wasm and the example as a reader
// would, runs it against the real cluster, and has the Java consumer check what arrived: every
// message carries the wasm plugin's trace_id and the traceparent of the OpenTelemetry span of
// the attempt that stored it, and all spans belong to the run's one trace.
func TestExampleRunsWithBothHooks(t *testing.T) {
	cl := rmqtest.Start(t)
	dir := t.TempDir()
	wasm := filepath.Join(dir, "tracing.wasm")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", wasm, "../plugins/tracing")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the tracing plugin: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "observability")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	topic := "ex_obs_" + strconv.FormatInt(time.Now().UnixNano()%1e10, 36)
	cl.CreateTopic(t, topic, 4)
	const n = 4
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-namesrv", cl.NameServer(), "-topic", topic, "-plugin", wasm, "-n", strconv.Itoa(n))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("example: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}

	type sendOut struct{ traceID, traceparent, trace, span string }
	sends := map[string]sendOut{}
	spansByMsg := map[string][]string{} // msgId -> span ids
	var rootTrace, rootSpan string
	var sendSpans []string
	metrics := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if m := sentLine.FindStringSubmatch(l); m != nil {
			sends[m[1]] = sendOut{traceID: m[2], traceparent: m[3], trace: m[4], span: m[5]}
			continue
		}
		if m := spanLine.FindStringSubmatch(l); m != nil {
			switch m[1] {
			case "observability example":
				rootTrace, rootSpan = m[2], m[3]
			case "send " + topic:
				if m[5] != "Unset" {
					t.Errorf("send span status %s: %s", m[5], l)
				}
				sendSpans = append(sendSpans, l)
				spansByMsg[m[6]] = append(spansByMsg[m[6]], m[2]+"/"+m[3]+"/"+m[4])
			default:
				t.Errorf("unexpected span %s", l)
			}
			continue
		}
		if f := strings.Fields(l); len(f) == 5 && f[0] == "metric" {
			metrics[f[1]+" "+f[2]+" "+f[3]] = f[4]
			continue
		}
		t.Errorf("unexpected line %q", l)
	}
	if len(sends) != n || len(sendSpans) != n || rootSpan == "" {
		t.Fatalf("%d sends, %d send spans, root span %q; stdout:\n%s", len(sends), len(sendSpans), rootSpan, stdout.String())
	}
	for id, s := range sends {
		want := fmt.Sprintf("%s/%s/%s", rootTrace, s.span, rootSpan)
		if got := spansByMsg[id]; len(got) != 1 || got[0] != want || s.trace != rootTrace {
			t.Errorf("message %s: spans %v, want [%s] (its traceparent's span, a child of the run's span)", id, got, want)
		}
	}
	for name, want := range map[string]string{
		"rocketmq_send_cost_time topic=" + topic + " status=success":      "count=" + strconv.Itoa(n),
		"rocketmq_send_messages_total topic=" + topic + " status=success": "value=" + strconv.Itoa(n),
	} {
		if metrics[name] != want {
			t.Errorf("metric %s: %q, want %q (all: %v)", name, metrics[name], want, metrics)
		}
	}
	if !strings.Contains(stderr.String(), "tracing") {
		t.Errorf("no log line from the wasm plugin on stderr:\n%s", stderr.String())
	}

	// What a consumer receives: the Java client is the witness.
	got := javapeertest.Consume(t, cl.NameServer(), topic, javapeertest.WithCount(n)).Collect(n, 90*time.Second)
	for _, m := range got {
		s, ok := sends[m.MsgID]
		if !ok {
			t.Errorf("Java received %s, which the example did not report", m.MsgID)
			continue
		}
		if m.Properties["traceparent"] != s.traceparent || m.Properties["trace_id"] != s.traceID || m.Properties["traced_by"] != "obs" {
			t.Errorf("%s: Java saw traceparent=%q trace_id=%q traced_by=%q; the example sent %q and %q",
				m.MsgID, m.Properties["traceparent"], m.Properties["trace_id"], m.Properties["traced_by"], s.traceparent, s.traceID)
		}
	}
}
