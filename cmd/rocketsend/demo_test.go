package main

import (
	"strings"
	"testing"

	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

// TestDemo runs the README's main command against the real cluster and checks that every mode
// it promises shows up, stored and read back, with the hook's stamp.
func TestDemo(t *testing.T) {
	cl := rmqtest.Start(t)
	var out strings.Builder
	if err := demo(&out, cl.NameServer(), "rs_demo_test"); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{"sync", "async", "oneway", "ordered #0", "ordered #1", "batch #0", "batch #1",
		"transaction (half message, then COMMIT_MESSAGE)"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// Every message but the oneway one (nothing to read back) is read back with the hook's stamp.
	if n := strings.Count(text, `stamped-by="demo-hook attempt 1"`); n != 7 {
		t.Errorf("%d messages read back with the hook's stamp, want 7:\n%s", n, text)
	}
	if strings.Contains(text, "failed") {
		t.Errorf("demo reports a failure:\n%s", text)
	}
	t.Log("\n" + text)
}
