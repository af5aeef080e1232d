package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend/internal/examplebuild"
)

type newFlags struct {
	name   string
	module string
	noTidy bool
}

func newPluginNewCmd() *cobra.Command {
	var f newFlags
	c := &cobra.Command{
		Use:   "new DIR",
		Short: "Scaffold a Go wasm plugin project that builds and passes its own test",
		Example: `  rocketsend plugin new ./audit --module example.com/audit
  cd audit && go test ./... && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o audit.wasm .`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNew(cmd.Context(), cmd.OutOrStdout(), args[0], &f)
		},
	}
	c.Flags().StringVar(&f.name, "name", "", "plugin name (default: the directory's name)")
	c.Flags().StringVar(&f.module, "module", "", "Go module path (default: example.com/NAME)")
	c.Flags().BoolVar(&f.noTidy, "no-tidy", false, "do not run go mod tidy")
	return c
}

var pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

func runNew(ctx context.Context, out io.Writer, dir string, f *newFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	name := f.name
	if name == "" {
		name = strings.ToLower(filepath.Base(filepath.Clean(dir)))
	}
	if !pluginName.MatchString(name) {
		return fmt.Errorf("plugin new: name %q: use lower-case letters, digits, - and _, starting with a letter (--name)", name)
	}
	module := f.module
	if module == "" {
		module = "example.com/" + name
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("plugin new: %s exists and is not empty", dir)
	}
	root, err := examplebuild.RepoRoot()
	if err != nil {
		return fmt.Errorf("plugin new: the scaffold builds against the rocketsend source tree (the SDK is not published yet): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The go.mod points at the checkout by a relative path, so the project builds wherever the
	// two sit side by side and names nothing of this machine.
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(absDir, root)
	if err != nil {
		return fmt.Errorf("plugin new: %s and the rocketsend checkout %s have no relative path (another volume?): create the project next to the checkout", dir, root)
	}
	rel = filepath.ToSlash(rel)
	if !strings.HasPrefix(rel, ".") {
		rel = "./" + rel // a replace path must start with ./ or ../ to name a directory
	}
	data := map[string]string{"Name": name, "Module": module, "Root": rel, "Ident": strings.NewReplacer("-", "_").Replace(name)}
	for file, text := range scaffoldFiles {
		t := template.Must(template.New(file).Delims("[[", "]]").Parse(text))
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if !f.noTidy {
		cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("plugin new: go mod tidy in %s: %w\n%s", dir, err, b)
		}
	}
	fmt.Fprintf(out, `created plugin %q in %s (module %s)

next:
  cd %s
  go test ./...                                                       # the plugin's logic, on this machine
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o %s.wasm .   # the plugin
  rocketsend plugin check %s.wasm --tags blocked                      # load it, run it on a sample

go.mod finds rocketsend at %s (relative to %s): keep the two side by side.
`, name, dir, module, dir, name, name, rel, dir)
	return nil
}

// scaffoldFiles are the files of a new plugin project: text/template with [[ ]] delimiters (Go
// composite literals are full of {{), with Name, Ident, Module, Root.
var scaffoldFiles = map[string]string{
	"go.mod": `module [[.Module]]

go 1.25

require github.com/rocketsend/rocketsend v0.0.0

// rocketsend is not published yet: the SDK comes from the checkout this project was created
// from, by its path relative to this directory. Moved the project? Change the path (or use a
// go.work: go work init . /path/to/rocketsend).
replace github.com/rocketsend/rocketsend => [[.Root]]
`,
	"main.go": `// Command [[.Name]] is a rocketsend plugin (ABI v1, docs/abi.md), built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o [[.Name]].wasm .
//
// A reactor never runs main: the plugin registers itself in init.
package main

import (
	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

var cfg = defaults()

func init() {
	guest.Register(guest.Plugin{
		Name: "[[.Name]]", Version: "0.1.0",
		Init: func(c hookv1.HookConfig) (err error) {
			cfg, err = parseConfig(c)
			return err
		},
		Forbidden: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			if reason := cfg.forbid(string(v.Tags())); reason != "" {
				d.Forbid(reason)
			}
			return nil
		},
		Before: func(v *hookv1.View, d *hookv1.DecisionBuilder) error {
			d.SetProperty(cfg.property, cfg.value)
			return nil
		},
	})
}

func main() {}
`,
	"logic.go": `package main

import (
	"fmt"

	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// config is the plugin's settings (HookConfig.settings in the host's configuration file):
//
//	settings = { blocked_tag = "blocked", property = "[[.Ident]]", value = "seen" }
type config struct {
	blockedTag string // messages with this tag are refused
	property   string // set on every message before it is sent ...
	value      string // ... to this value
}

func defaults() config { return config{blockedTag: "blocked", property: "[[.Ident]]", value: "seen"} }

// parseConfig reads the settings; an unknown one is an error, so a typo in the host's
// configuration is caught when the plugin loads.
func parseConfig(c hookv1.HookConfig) (config, error) {
	out := defaults()
	for _, kv := range c.Settings {
		switch kv.Key {
		case "blocked_tag":
			out.blockedTag = kv.Value
		case "property":
			if kv.Value == "" {
				return out, fmt.Errorf("[[.Name]]: property must not be empty")
			}
			out.property = kv.Value
		case "value":
			out.value = kv.Value
		default:
			return out, fmt.Errorf("[[.Name]]: unknown setting %q (want blocked_tag, property or value)", kv.Key)
		}
	}
	return out, nil
}

// forbid returns why a message with these tags may not be sent, or "".
func (c config) forbid(tags string) string {
	if c.blockedTag != "" && tags == c.blockedTag {
		return fmt.Sprintf("tag %q is not allowed", tags)
	}
	return ""
}
`,
	"logic_test.go": `//go:build !wasip1

package main

import (
	"testing"

	"github.com/rocketsend/rocketsend/sdk/guest"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// call runs the registered plugin as the host would, on this machine (guest.Simulate*).
func call(t *testing.T, settings []hookv1.KV, p hookv1.HookPoint, mv hookv1.MessageView) hookv1.Decision {
	t.Helper()
	if rc := guest.SimulateInit(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: settings})); rc != 0 {
		t.Fatalf("init rejected %v", settings)
	}
	b, err := guest.SimulateCall(p, hookv1.AppendMessageView(nil, &mv))
	if err != nil {
		t.Fatal(err)
	}
	if b == nil {
		return hookv1.Decision{}
	}
	d, err := hookv1.DecodeDecision(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDescribe(t *testing.T) {
	b, err := guest.SimulateDescribe()
	if err != nil {
		t.Fatal(err)
	}
	info, err := hookv1.DecodeHookInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "[[.Name]]" || !info.Has(hookv1.PointCheckForbidden) || !info.Has(hookv1.PointBeforeSend) {
		t.Fatalf("describe: %+v", info)
	}
}

func TestForbidsTheBlockedTag(t *testing.T) {
	d := call(t, nil, hookv1.PointCheckForbidden, hookv1.MessageView{Topic: "Orders", Tags: "blocked"})
	if d.Verdict != hookv1.Forbid {
		t.Fatalf("tag blocked allowed: %+v", d)
	}
	d = call(t, []hookv1.KV{{Key: "blocked_tag", Value: "secret"}}, hookv1.PointCheckForbidden, hookv1.MessageView{Topic: "Orders", Tags: "blocked"})
	if d.Verdict == hookv1.Forbid {
		t.Fatal("blocked_tag setting ignored")
	}
}

func TestStampsAProperty(t *testing.T) {
	d := call(t, []hookv1.KV{{Key: "value", Value: "v1"}}, hookv1.PointBeforeSend, hookv1.MessageView{Topic: "Orders"})
	if len(d.Edits) != 1 || d.Edits[0].Name != "[[.Ident]]" || d.Edits[0].Value != "v1" {
		t.Fatalf("edits = %+v", d.Edits)
	}
}

func TestRejectsUnknownSettings(t *testing.T) {
	if rc := guest.SimulateInit(hookv1.AppendHookConfig(nil, &hookv1.HookConfig{Settings: []hookv1.KV{{Key: "typo", Value: "x"}}})); rc == 0 {
		t.Fatal("an unknown setting was accepted")
	}
}
`,
	"README.md": `# [[.Name]]

A rocketsend plugin (WebAssembly, ABI v1) made with ` + "`rocketsend plugin new`" + `. It refuses messages
tagged ` + "`blocked`" + ` and stamps a property on every message; change ` + "`logic.go`" + ` and ` + "`main.go`" + `.

    go test ./...                                                        # logic, on this machine
    GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o [[.Name]].wasm .
    rocketsend plugin check [[.Name]].wasm --tags blocked                # load and run it

Use it from a service's rocketsend.hcl:

    plugin "[[.Name]]" {
      kind     = "wasm"
      path     = "[[.Name]].wasm"
      settings = { blocked_tag = "blocked", value = "seen" }
    }

The go.mod replaces github.com/rocketsend/rocketsend with the checkout it was created from, by a
relative path: keep the two side by side, or change the path.
`,
}
