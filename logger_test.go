package rocketsend

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/testlog"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestSlogToHCLog(t *testing.T) {
	var buf testlog.Buffer
	l := newCoreLogger(hclog.New(&hclog.LoggerOptions{Name: "top", Level: hclog.Info, Output: &buf}))
	l.Debug("hidden")
	l.With("broker", "b1").WithGroup("route").Warn("changed", "queues", 4, slog.Group("old", "n", 2))
	l.Log(context.Background(), slog.LevelError+4, "fatal-ish")
	out := buf.String()
	for _, want := range []string{"[WARN]  top: changed: broker=b1 route.queues=4 route.old.n=2", "[ERROR] top: fatal-ish"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("a debug record passed an info logger:\n%s", out)
	}
	if l.Enabled(context.Background(), slog.LevelDebug) || !l.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Enabled does not follow the hclog level")
	}
}

// TestOneLoggerSeesTheCoreFailover: the logger given to New sees the core's records. A broker
// killed while sends run shows up there (the connection's end, named after the producer), next to
// the plugins' records.
func TestOneLoggerSeesTheCoreFailover(t *testing.T) {
	cl := rmqtest.Start(t, rmqtest.Own(27876)) // private: this test kills a broker
	var buf testlog.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "app", Level: hclog.Info, Output: &buf})
	tracing := filepath.Join(pluginDir(t), "tracing.wasm")
	path := filepath.Join(t.TempDir(), "rs.hcl")
	writeFile(t, path, fmt.Sprintf(`producer {
  name_servers = [%q]
  group        = "rs_onelog"
  send_timeout = "15s"
}

plugin "tracing" {
  kind     = "wasm"
  path     = %q
  settings = { name = "onelog" }
}
`, cl.NameServer(), tracing))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := New(ctx, path, WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	topic := uniqueTopic("rs_onelog")
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 4, ""); err != nil {
		t.Fatal(err)
	}
	brokerB := cl.BrokerAddr(rmqtest.BrokerB)
	for i := 0; i < 60; i++ {
		if i == 20 {
			cl.KillBroker(t, rmqtest.BrokerB)
		}
		if _, err := p.Send(ctx, message.New(topic, []byte(fmt.Sprintf("m%d", i)))); err != nil && i < 20 {
			t.Fatalf("send %d before the kill: %v", i, err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(buf.String(), "app.producer: connection closed: addr="+brokerB) {
		if time.Now().After(deadline) {
			t.Fatalf("the core's record of broker-b's death (%s) is not in the user's logger:\n%s", brokerB, buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(buf.String(), "app.plugin.tracing") {
		t.Errorf("the plugins do not log through the same logger:\n%s", buf.String())
	}
}

// TestTopLogger: the file's log_level is the level of the one logger, the caller's or stderr's.
func TestTopLogger(t *testing.T) {
	given := hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: &testlog.Buffer{}})
	if l := topLogger(given, "debug"); l != given || !given.IsDebug() || !given.Named("producer").IsDebug() {
		t.Error("the file's level is not set on the caller's logger and its named children")
	}
	if l := topLogger(given, ""); !l.IsDebug() {
		t.Error("no log_level changed the caller's logger")
	}
	if l := topLogger(nil, "warn"); l.IsInfo() || !l.IsWarn() {
		t.Error("log_level warn without a logger: not a warn logger")
	}
	for _, level := range []string{"", "off"} {
		if l := topLogger(nil, level); l.IsError() {
			t.Errorf("log_level %q without a logger logs", level)
		}
	}
}
