package rocketsend

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/internal/examplebuild"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

// TestCloseStopsProcessPlugins: a producer with a process plugin from its file runs it, and one
// Close stops everything: no plugin process is left (pgrep), and the producer refuses sends.
func TestCloseStopsProcessPlugins(t *testing.T) {
	cl := rmqtest.Start(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := examplebuild.BuildProcess(ctx, dir, "policy"); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "policy")
	path := filepath.Join(dir, "rs.hcl")
	topic := uniqueTopic("rs_close")
	writeFile(t, path, fmt.Sprintf(`producer {
  name_servers = [%q]
  group        = "rs_close"
}

plugin "policy" {
  kind     = "process"
  path     = %q
  hooks    = ["forbidden"]
  topics   = [%q]
  settings = { deny_tags = "secret" }
}
`, cl.NameServer(), bin, topic))
	p, err := New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateTopic(ctx, send.DefaultTopicKey, topic, 2, ""); err != nil {
		t.Fatal(err)
	}
	st := p.Plugins()
	if len(st) != 1 || st[0].Stats.Pid == 0 || strings.Join(st[0].Hooks, ",") != "forbidden" || strings.Join(st[0].Topics, ",") != topic {
		t.Fatalf("plugins = %+v", st)
	}
	if out, err := exec.Command("pgrep", "-f", bin).Output(); err != nil {
		t.Fatalf("the plugin process is not running: %v %s", err, out)
	}
	m := message.New(topic, []byte("x"))
	m.SetTags("secret")
	var fe *send.ForbiddenError
	if _, err := p.Send(ctx, m); !errors.As(err, &fe) {
		t.Fatalf("secret message: %v, want a ForbiddenError from the process plugin", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pgrep", "-f", bin).Output(); err == nil {
		t.Fatalf("plugin processes left after Close: %s", out)
	}
	if _, err := p.Send(ctx, message.New(topic, []byte("y"))); err == nil {
		t.Fatal("a send after Close succeeded")
	}
}

// TestPluginBlockErrorsNameTheBlock: errors of the host (an undeclared hook point, a checksum)
// reach the user with the block's position.
func TestPluginBlockErrorsNameTheBlock(t *testing.T) {
	policy := filepath.Join(pluginDir(t), "policy.wasm")
	for _, c := range []struct{ block, want string }{
		{`hooks = ["before"]`, `hook points BEFORE_SEND are configured but the plugin does not declare them (it declares CHECK_FORBIDDEN)`},
		{`sha256 = "` + strings.Repeat("0", 64) + `"`, "checksum mismatch"},
	} {
		path := filepath.Join(t.TempDir(), "rs.hcl")
		writeFile(t, path, fmt.Sprintf("producer {\n  name_servers = [\"127.0.0.1:1\"]\n}\n\nplugin \"policy\" {\n  kind = \"wasm\"\n  path = %q\n  %s\n}\n", policy, c.block))
		_, err := New(context.Background(), path)
		if err == nil || !strings.Contains(err.Error(), "rs.hcl:5: plugin \"policy\"") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.block, err)
		}
	}
}
