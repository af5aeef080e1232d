package host

import (
	"io"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestLogEnabled checks what log_enabled answers a guest: the level of the plugin's logger, and
// nothing at all for the null logger LoadWasm uses by default (which reports NoLevel, below every
// level, and once made guests format every line only for the host to drop it).
func TestLogEnabled(t *testing.T) {
	at := func(l hclog.Level) hclog.Logger {
		return hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: l})
	}
	levels := []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error}
	cases := []struct {
		name string
		l    hclog.Logger
		want []bool // per entry of levels
	}{
		{"null", hclog.NewNullLogger(), []bool{false, false, false, false, false}},
		{"off", at(hclog.Off), []bool{false, false, false, false, false}},
		{"trace", at(hclog.Trace), []bool{true, true, true, true, true}},
		{"info", at(hclog.Info), []bool{false, false, true, true, true}},
		{"warn", at(hclog.Warn), []bool{false, false, false, true, true}},
		{"error", at(hclog.Error), []bool{false, false, false, false, true}},
		{"named", at(hclog.Warn).Named("plugin"), []bool{false, false, false, true, true}},
	}
	for _, c := range cases {
		for i, lvl := range levels {
			if got := enabled(c.l, lvl); got != c.want[i] {
				t.Errorf("%s logger: enabled(%s) = %v, want %v", c.name, lvl, got, c.want[i])
			}
		}
	}
}
