package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogLevelFlagWinsOverFile: --log-level, when given, replaces the file's log_level (the one
// switch of the producer's logger); when not given, the file's level stays.
func TestLogLevelFlagWinsOverFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rs.hcl")
	if err := os.WriteFile(path, []byte("log_level = \"debug\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	given := false
	f := &producerFlags{config: path, logLevel: "warn", levelSet: func() bool { return given }}
	if cfg, err := f.configFile(); err != nil || cfg.LogLevel != "debug" {
		t.Fatalf("without the flag: log_level %q, %v", cfg.LogLevel, err)
	}
	given, f.logLevel = true, "error"
	if cfg, err := f.configFile(); err != nil || cfg.LogLevel != "error" {
		t.Fatalf("with --log-level error: log_level %q, %v", cfg.LogLevel, err)
	}
	f.logLevel = "loud"
	if _, err := f.configFile(); err == nil || !strings.Contains(err.Error(), `--log-level "loud"`) {
		t.Fatalf("bad level: %v", err)
	}
}
