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

// TestGrantEscapes: a read-only grant never reaches outside its directory, whatever links or
// paths the guest uses; links that stay inside still work.
func TestGrantEscapes(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "granted")
	secret := filepath.Join(base, "secret.txt")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(dir, 0o755))
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "value.txt"), []byte("rules v1\n"), 0o644))
	must(os.WriteFile(secret, []byte("host secret"), 0o644))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")))
	must(os.Symlink("/", filepath.Join(dir, "root")))
	must(os.Symlink(secret, filepath.Join(dir, "secret-abs")))
	must(os.Symlink("../secret.txt", filepath.Join(dir, "secret-rel")))
	must(os.Symlink("..", filepath.Join(dir, "sub", "parent")))
	must(os.Symlink("../value.txt", filepath.Join(dir, "sub", "inner")))
	must(os.Symlink("value.txt", filepath.Join(dir, "alias")))

	p, _ := load(t, "grants", WithReadOnlyDir(dir, "/granted"))
	read := func(path string) string {
		sc := newSC("orders", "")
		sc.Message.SetKeys(path)
		if err := p.before(sc); err != nil {
			t.Fatal(err)
		}
		return sc.Message.Property("read")
	}
	for _, path := range []string{
		"/granted/passwd", "/granted/root/etc/passwd", "/granted/root/proc/self/environ",
		"/granted/secret-abs", "/granted/secret-rel", "/granted/sub/parent/../secret.txt",
		"/granted/../secret.txt", "/granted/../../etc/passwd", "/granted/sub/../../secret.txt",
		"/etc/passwd", "/proc/self/environ",
	} {
		if got := read(path); !strings.HasPrefix(got, "error:") {
			t.Errorf("%s: the guest read %q outside its grant", path, clip(got, 60))
		}
	}
	for _, path := range []string{"/granted/value.txt", "/granted/alias", "/granted/sub/inner", "/granted/sub/parent/value.txt"} {
		if got := read(path); got != "rules v1\n" {
			t.Errorf("%s: %q, want the granted file (a link inside the grant)", path, got)
		}
	}
}
