// Package examplebuild finds the example plugins of the source tree and builds them as wasm
// reactors (Build) or as process plugins (BuildProcess). Nothing binary is committed: the demo and the tests build what they load.
package examplebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Names are the example plugins under examples/plugins.
var Names = []string{"policy", "redact", "tracing", "keyhash", "zoneaffinity"}

// RepoRoot returns the root of the rocketsend source tree: the one this file was compiled from
// when it still exists (go run, go test), else the working directory or one of its parents.
func RepoRoot() (string, error) {
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", ".."))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			candidates = append(candidates, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "examples", "plugins", "keyhash", "main.go")); err == nil {
			return filepath.Clean(c), nil
		}
	}
	return "", errors.New("the rocketsend source tree (examples/plugins) was not found: run from the repository")
}

// Build builds the named example plugins into out/<name>.wasm (GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared). The go build cache makes a rebuild of unchanged sources quick.
func Build(ctx context.Context, out string, names ...string) error {
	return build(ctx, out, true, names)
}

// BuildProcess builds the named example plugins natively into out/<name>: the same sources as
// Build, served as process plugins by guest.Serve in their main.
func BuildProcess(ctx context.Context, out string, names ...string) error {
	return build(ctx, out, false, names)
}

func build(ctx context.Context, out string, wasm bool, names []string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command builds the example plugins: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		args, what := []string{"build", "-o", filepath.Join(out, n), "./examples/plugins/" + n}, "as a process plugin"
		if wasm {
			args, what = []string{"build", "-buildmode=c-shared", "-o", filepath.Join(out, n+".wasm"), "./examples/plugins/" + n}, "for wasm"
		}
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = root
		if wasm {
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building example plugin %s %s: %w\n%s", n, what, err, b)
		}
	}
	return nil
}
