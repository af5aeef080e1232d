//go:build !wasip1

// Package plugins_test builds every example plugin as a wasip1 reactor and checks the module's
// shape against docs/abi.md without a wasm runtime: the magic, the exports with their exact wasm
// signatures, the reactor entry point, and the imports.
package plugins_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The ABI v1 signatures (docs/abi.md §2, §3) in the notation of funcType.String.
var (
	wantExports = map[string]string{
		"producer_hook_abi_v1": "() -> ()",
		"hook_scratch":         "(i32) -> (i32)",
		"hook_describe":        "() -> (i64)",
		"hook_init":            "(i32) -> (i32)",
		"hook_call":            "(i32 i32) -> (i64)",
		"_initialize":          "() -> ()",
	}
	hostImports = map[string]string{
		"body_len":     "() -> (i32)",
		"body_read":    "(i32 i32 i32) -> (i32)",
		"get_property": "(i32 i32 i32 i32) -> (i32)",
		"log_enabled":  "(i32) -> (i32)",
		"log":          "(i32 i32 i32) -> ()",
	}
)

func plugins(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(e.Name(), "main.go")); e.IsDir() && err == nil {
			out = append(out, e.Name())
		}
	}
	for _, want := range []string{"keyhash", "zoneaffinity", "policy", "tracing", "redact"} {
		if !slices.Contains(out, want) {
			t.Errorf("plugin %s missing", want)
		}
	}
	return out
}

func TestBuildPlugins(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: the plugins are built with it: %v", err)
	}
	out := t.TempDir()
	for _, name := range plugins(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			wasm := filepath.Join(out, name+".wasm")
			cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", wasm, ".")
			cmd.Dir = name
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared: %v\n%s", err, b)
			}
			bin, err := os.ReadFile(wasm)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(bin, []byte("\x00asm\x01\x00\x00\x00")) {
				t.Fatalf("no wasm magic/version 1: % x", bin[:min(8, len(bin))])
			}
			m, err := parseModule(bin)
			if err != nil {
				t.Fatal(err)
			}
			for exp, sig := range wantExports {
				got, ok := m.exports[exp]
				if !ok {
					t.Errorf("export %s missing", exp)
				} else if got != sig {
					t.Errorf("export %s: signature %s, want %s", exp, got, sig)
				}
			}
			if got := m.exports["memory"]; got != "memory" {
				t.Errorf("memory not exported (%q)", got)
			}
			if _, ok := m.exports["_start"]; ok {
				t.Error("module exports _start (a command): the host refuses it")
			}
			var used []string
			for _, im := range m.imports {
				switch im.module {
				case "wasi_snapshot_preview1":
				case "producer_hook":
					want, ok := hostImports[im.name]
					if !ok {
						t.Errorf("unknown producer_hook import %s", im.name)
					} else if im.sig != want {
						t.Errorf("import producer_hook.%s: signature %s, want %s", im.name, im.sig, want)
					}
					used = append(used, im.name)
				default:
					t.Errorf("import from unexpected module %s.%s", im.module, im.name)
				}
			}
			t.Logf("%s.wasm: %d bytes (%.2f MB); producer_hook imports: %v", name, len(bin), float64(len(bin))/1e6, used)
		})
	}
}

// A minimal reader of the wasm binary format: types, imports, functions and exports.

type module struct {
	exports map[string]string // name -> signature, or "memory"/"table"/"global"
	imports []imp
}

type imp struct{ module, name, sig string }

// TestBuildProcessPlugins builds every plugin natively from the same source: guest.Serve in main
// makes it a process plugin (host.LoadProcess runs them end to end in integration/). Run without the
// host's handshake, each must say it is a plugin and exit with status 1.
func TestBuildProcessPlugins(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found: the plugins are built with it: %v", err)
	}
	out := t.TempDir()
	for _, name := range plugins(t) {
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(out, name)
			cmd := exec.Command(goBin, "build", "-o", bin, ".")
			cmd.Dir = name
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, b)
			}
			run := exec.Command(bin)
			run.Env = []string{} // no magic cookie
			b, err := run.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(b), "This binary is a plugin") {
				t.Fatalf("run without the handshake: %v\n%s", err, b)
			}
		})
	}
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errors.New("truncated module")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errors.New("bad LEB128")
	return 0
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil || uint32(len(r.b)) < n {
		r.err = errors.New("truncated module")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) name() string { return string(r.bytes(r.u32())) }

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.u32()
		r.u32()
		return
	}
	r.u32()
}

var valTypes = map[byte]string{0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref"}

func (r *reader) valTypes() string {
	n := r.u32()
	s := make([]string, 0, n)
	for range n {
		s = append(s, valTypes[r.byte()])
	}
	return strings.Join(s, " ")
}

func parseModule(bin []byte) (*module, error) {
	r := &reader{b: bin[8:]}
	var types, funcSigs []string // funcSigs: by function index (imports first)
	m := &module{exports: map[string]string{}}
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		s := &reader{b: r.bytes(r.u32())}
		switch id {
		case 1: // type
			for range s.u32() {
				if s.byte() != 0x60 {
					return nil, errors.New("bad function type")
				}
				params := s.valTypes()
				results := s.valTypes()
				types = append(types, fmt.Sprintf("(%s) -> (%s)", params, results))
			}
		case 2: // import
			for range s.u32() {
				mod, name := s.name(), s.name()
				switch s.byte() {
				case 0:
					ti := s.u32()
					if int(ti) >= len(types) {
						return nil, errors.New("bad type index")
					}
					funcSigs = append(funcSigs, types[ti])
					m.imports = append(m.imports, imp{mod, name, types[ti]})
				case 1:
					s.byte()
					s.limits()
				case 2:
					s.limits()
				case 3:
					s.byte()
					s.byte()
				}
			}
		case 3: // function
			for range s.u32() {
				ti := s.u32()
				if int(ti) >= len(types) {
					return nil, errors.New("bad type index")
				}
				funcSigs = append(funcSigs, types[ti])
			}
		case 7: // export
			for range s.u32() {
				name := s.name()
				kind := s.byte()
				idx := s.u32()
				switch kind {
				case 0:
					if int(idx) >= len(funcSigs) {
						return nil, fmt.Errorf("export %s: bad function index", name)
					}
					m.exports[name] = funcSigs[idx]
				case 1:
					m.exports[name] = "table"
				case 2:
					m.exports[name] = "memory"
				case 3:
					m.exports[name] = "global"
				}
			}
		}
		if s.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, s.err)
		}
	}
	return m, r.err
}
