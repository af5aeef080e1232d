package snippets

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/tools/rocketmq/rmqtest"
)

func TestMain(m *testing.M) { rmqtest.Main(m) }

// The documents whose code blocks are checked, in the order their blocks run.
var documents = []string{"README.md", "docs/abi.md", "docs/config.md", "docs/observability.md",
	"docs/operations.md", "docs/performance.md", "docs/producer.md", "docs/wire.md", "docs/cli.md"}

// A block of language sh, go or hcl takes an annotation on the line just above its fence:
//
//	<!-- snippet: run -->            sh: run with bash -euo pipefail from the copy's root
//	<!-- snippet: run since V -->    sh: the same against a RocketMQ release V or later; skipped before it
//	<!-- snippet: file PATH -->      write the block to PATH (relative to the copy's root), as the text asks the reader to
//	<!-- snippet: excerpt PATH -->   go: every line of the block appears, in order and contiguous, in PATH (compiled code)
//	<!-- snippet: syntax -->         hcl: parse only (it names files or variables of the reader's machine)
//	<!-- snippet: skip: REASON -->   not checked, and why
//
// An hcl block without one must load with config.Parse; an sh or go block without one fails the
// test, so that every new block is either checked or excluded with a reason.
var annotation = regexp.MustCompile(`^<!-- snippet: (run|file|excerpt|syntax|skip)(?:[: ] *(.*?))? -->$`)

type block struct {
	doc, lang, kind, arg, body string
	line                       int
}

func blocks(t *testing.T, root, doc string) []block {
	b, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok || lang == "" {
			if ok { // a plain fence: skip to its end
				for i++; i < len(lines) && lines[i] != "```"; i++ {
				}
			}
			continue
		}
		bl := block{doc: doc, lang: lang, line: i + 1}
		if i > 0 {
			if m := annotation.FindStringSubmatch(lines[i-1]); m != nil {
				bl.kind, bl.arg = m[1], m[2]
			}
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		bl.body = strings.Join(body, "\n") + "\n"
		out = append(out, bl)
	}
	return out
}

// TestSnippets checks every code block of the documents. Shell blocks run in a copy of the source
// tree (with its parent directory to themselves: the README makes ../orders and ../audit), with
// NAMESRV_ADDR set to the test cluster and the default NameServer address 127.0.0.1:9876 in the
// block replaced by the test cluster's.
func TestSnippets(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var all []block
	for _, doc := range documents {
		if _, err := os.Stat(filepath.Join(root, doc)); err != nil {
			t.Errorf("%s: %v (update the documents list)", doc, err)
			continue
		}
		all = append(all, blocks(t, root, doc)...)
	}
	var copyRoot, ns string
	var cluster *rmqtest.Cluster
	outer := t
	needCopy := func(*testing.T) { // the copy and the cluster outlive the subtest that asks first
		if copyRoot != "" {
			return
		}
		c := rmqtest.Start(outer)
		cluster = c
		// The documents send to Orders, one command naming broker-a's queue 0: a topic that the
		// broker auto-created on first use may live on broker-b alone, so make it on both first.
		c.CreateTopic(outer, "Orders", 4)
		ns = c.NameServer()
		copyRoot = filepath.Join(outer.TempDir(), "rocketsend")
		if err := copyTree(root, copyRoot); err != nil {
			outer.Fatal(err)
		}
	}
	for _, b := range all {
		name := fmt.Sprintf("%s:%d", b.doc, b.line)
		if b.lang != "sh" && b.lang != "go" && b.lang != "hcl" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			switch {
			case b.kind == "skip":
				if strings.TrimSpace(b.arg) == "" {
					t.Fatal("a skipped block needs its reason: <!-- snippet: skip: why -->")
				}
				t.Skip(b.arg)
			case b.kind == "file":
				needCopy(t)
				path := filepath.Join(copyRoot, b.arg)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.body), 0o644); err != nil {
					t.Fatal(err)
				}
				if b.lang == "hcl" {
					if _, err := config.Load(path); err != nil {
						t.Fatalf("the file the reader saves does not load: %v", err)
					}
				}
			case b.kind == "run" && b.lang == "sh":
				since, ok := strings.CutPrefix(b.arg, "since ")
				if b.arg != "" && !ok {
					t.Fatalf("annotation run %q: want nothing or since <release>", b.arg)
				}
				needCopy(t)
				if ok && !cluster.AtLeast(strings.TrimSpace(since)) {
					t.Skipf("needs RocketMQ %s; the cluster runs %s", since, cluster.Version())
				}
				runShell(t, copyRoot, ns, b.body)
			case b.kind == "excerpt" && b.lang == "go":
				src, err := os.ReadFile(filepath.Join(root, b.arg))
				if err != nil {
					t.Fatal(err)
				}
				if !contiguous(trimmed(string(src)), trimmed(b.body)) {
					t.Fatalf("the block's lines are not a verbatim excerpt of %s: copy the code from there", b.arg)
				}
			case b.kind == "syntax" && b.lang == "hcl":
				if _, diags := hclsyntax.ParseConfig([]byte(b.body), name, hcl.InitialPos); diags.HasErrors() {
					t.Fatal(diags)
				}
			case b.kind == "" && b.lang == "hcl":
				path := filepath.Join(t.TempDir(), "snippet.hcl")
				if err := os.WriteFile(path, []byte(b.body), 0o644); err != nil {
					t.Fatal(err)
				}
				if _, err := config.Load(path); err != nil {
					t.Fatal(err)
				}
			case b.kind == "":
				t.Fatalf("a %s block needs an annotation (run, file, excerpt or skip: reason); see internal/snippets", b.lang)
			default:
				t.Fatalf("annotation %q does not apply to a %s block", b.kind, b.lang)
			}
		})
	}
}

func runShell(t *testing.T, dir, ns, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	script := strings.ReplaceAll(body, "127.0.0.1:9876", ns)
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NAMESRV_ADDR="+ns)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n--- script\n%s--- output\n%s", err, script, out.String())
	}
	t.Logf("output:\n%s", out.String())
}

func trimmed(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func contiguous(hay, needle []string) bool {
	for i := 0; i+len(needle) <= len(hay); i++ {
		ok := true
		for j := range needle {
			if hay[i+j] != needle[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// copyTree copies the source tree as a fresh clone would have it: no cluster state, no build
// output, no VCS data.
func copyTree(src, dst string) error {
	skip := map[string]bool{".git": true, ".rmq": true, "tools/javapeer/target": true, "examples/config/plugins": true}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if skip[filepath.ToSlash(rel)] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // a worktree's .git is a file; SkipDir would skip its whole directory
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return nil // symlinks and sockets: a clone has none that matter
	})
}
