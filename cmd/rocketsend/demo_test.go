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
		text, err := run(t, "", "send", "-n", cl.NameServer(), "-t", topic, "--body", "hello "+mode, "--count", "3",
			"--mode", mode, "--keys", "k1 k2", "--tags", "cli", "--prop", "a=b", "--json")
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
	if err == nil || !strings.Contains(text, "FAILED") || !strings.Contains(text, `tag "secret"`) {
		t.Fatalf("forbidden send: %v\n%s", err, text)
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
		// Java's putUserProperty refuses system names: --prop UNIQ_KEY=abc must not set the id.
		{[]string{"send", "-n", "127.0.0.1:1", "-t", "T", "--body", "x", "--prop", "UNIQ_KEY=abc"}, "UNIQ_KEY"},
	} {
		text, err := run(t, "", tc.args...)
		if err == nil || !strings.Contains(text, tc.want) {
			t.Errorf("%v: %v, output lacks %q:\n%s", tc.args, err, tc.want, text)
		}
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
	for _, want := range []string{"done  200 sent, 0 failed", "[##############################] 100%", "percentile", "99.90%", "HDR histogram"} {
		if !strings.Contains(text, want) {
			t.Errorf("bench output lacks %q:\n%s", want, text)
		}
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
	// A plugin that rejects its settings fails the check with the reason.
	text, err := run(t, "", "plugin", "check", filepath.Join(dir, "policy.wasm"), "--setting", "nonsense=1")
	if err == nil || !strings.Contains(text, "hook_init rejected the configuration") {
		t.Fatalf("bad setting: %v\n%s", err, text)
	}
}

// TestPluginNew scaffolds a plugin, runs its own tests, builds it for wasm and checks it.
func TestPluginNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	text, err := run(t, "", "plugin", "new", dir, "--module", "example.com/audit")
	if err != nil {
		t.Fatalf("plugin new: %v\n%s", err, text)
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
