package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGrants(t *testing.T) {
	t.Setenv("GRANTED", "from-the-host-env") // not inherited: only WithEnv grants it
	none, _ := load(t, "grants")
	sc := newSC("orders", "")
	if err := none.before(sc); err != nil {
		t.Fatal(err)
	}
	if got := sc.Message.Property("env"); got != "<unset>" {
		t.Errorf("ungranted plugin sees GRANTED=%q", got)
	}
	if got := sc.Message.Property("file"); !strings.HasPrefix(got, "error:") {
		t.Errorf("ungranted plugin read a file: %q", got)
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "value.txt"), []byte("rules v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	granted, _ := load(t, "grants", WithEnv("GRANTED", "granted-value"), WithReadOnlyDir(dir, "/granted"))
	sc = newSC("orders", "")
	if err := granted.before(sc); err != nil {
		t.Fatal(err)
	}
	if got := sc.Message.Property("env"); got != "granted-value" {
		t.Errorf("GRANTED = %q, want the granted value", got)
	}
	if got := sc.Message.Property("file"); got != "rules v1" {
		t.Errorf("file = %q, want the granted file's contents", got)
	}
	if got := sc.Message.Property("write"); got != "refused" {
		t.Errorf("write to a read-only grant: %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.txt")); err == nil {
		t.Error("the plugin wrote into a read-only granted directory")
	}
}

func TestGrantErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opt  Opt
		want string
	}{
		{WithReadOnlyDir(filepath.Join(t.TempDir(), "missing"), "/x"), "no such file"},
		{WithReadOnlyDir(file, "/x"), "not a directory"},
		{WithReadOnlyDir(t.TempDir(), "relative"), "must be absolute"},
	} {
		_, err := LoadWasm(t.Context(), guest(t, "grants"), WithCompilationCache(ccache), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}
