package rocketsend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The import rules of docs/architecture.md, checked on what the packages import (go list, test
// files left out: tests may use tools/ and internal/ freely). A rule names, for a part, the parts
// of this module it may import; modules lists the third-party modules the core may depend on,
// directly or not.
const module = "github.com/rocketsend/rocketsend"

type importRule struct {
	part   string   // a package path relative to the module ("." the root), "/..." for a tree
	may    []string // the parts it may import; a "/..." suffix allows a tree
	reason string
}

var importRules = []importRule{
	{"core/message", nil, "the nouns depend on nothing"},
	{"core/codec", []string{"core/message"}, "wire formats are pure functions over the nouns"},
	{"core/fault", []string{"core/message"}, "fault tolerance only counts"},
	{"core/remote", []string{"core/codec", "core/message"}, "the transport knows frames, not routes or sends"},
	{"core/route", []string{"core/remote", "core/codec", "core/message"}, "routes come from the NameServer over the transport"},
	{"core/send", []string{"core/route", "core/fault", "core/remote", "core/codec", "core/message"}, "the producer defines the hooks; it never knows the plugins"},
	{"sdk/...", []string{"sdk/..."}, "plugin authors get the schema and SDKs, never the producer or the host"},
	{"host", []string{"core/send", "core/message", "core/codec", "sdk/..."}, "the host adapts plugins to core/send's interfaces"},
	{"plugins/hooks/...", []string{"core/send", "core/message", "core/codec"}, "native hooks are core/send hooks, with no plugin machinery"},
	{"config", []string{"core/...", "sdk/hookv1"}, "the file describes producer settings and plugin blocks"},
	{".", []string{"config", "core/...", "host", "sdk/hookv1"}, "the embedding API: a producer, a file, its plugins"},
	{"examples/plugins/...", []string{"sdk/..."}, "example plugins are guests: they see only the SDK"},
	{"examples/producer/...", []string{"core/send", "core/message"}, "producer examples embed the core alone"},
	{"examples/observability", []string{".", "config", "core/send", "core/message", "plugins/hooks/...", "sdk/hookv1"}, "embedding programs use the embedding API, never the host directly"},
}

// coreModules are the only third-party modules the core may link: compression.
var coreModules = []string{"github.com/klauspost/compress", "github.com/pierrec/lz4"}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

func goList(t *testing.T, env []string, patterns ...string) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e", "-json=ImportPath,Imports,Deps,Standard"}, patterns...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel is a package path relative to the module ("." for the root), or "" outside it.
func rel(path string) string {
	switch {
	case path == module:
		return "."
	case strings.HasPrefix(path, module+"/"):
		return strings.TrimPrefix(path, module+"/")
	}
	return ""
}

func matches(pattern, part string) bool {
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return part == tree || strings.HasPrefix(part, tree+"/")
	}
	return part == pattern
}

// ruleFor returns the most specific rule of part (the longest pattern that matches).
func ruleFor(part string) *importRule {
	var best *importRule
	for i := range importRules {
		r := &importRules[i]
		if matches(r.part, part) && (best == nil || len(r.part) > len(best.part)) {
			best = r
		}
	}
	return best
}

// violations checks pkgs against the rules; unruled lists the module's packages no rule covers
// (cmd, tools, internal and the integration tests are free; any other new part needs a rule).
func violations(pkgs []listedPackage) (errs []string) {
	for _, p := range pkgs {
		part := rel(p.ImportPath)
		if part == "" {
			continue
		}
		r := ruleFor(part)
		if r == nil {
			if !matches("cmd/...", part) && !matches("tools/...", part) && !matches("internal/...", part) &&
				part != "integration" && part != "examples/plugins" {
				errs = append(errs, fmt.Sprintf("%s: no import rule covers this package: add one to docs/architecture.md and this test", part))
			}
			continue
		}
		for _, imp := range p.Imports {
			ip := rel(imp)
			if ip == "" || ip == part {
				continue
			}
			ok := false
			for _, m := range r.may {
				ok = ok || matches(m, ip)
			}
			if !ok {
				errs = append(errs, fmt.Sprintf("%s imports %s, which it may not: %s", part, ip, r.reason))
			}
		}
		if matches("core/...", part) {
			for _, d := range p.Deps {
				if rel(d) != "" || !strings.Contains(strings.Split(d, "/")[0], ".") {
					continue // the module itself, or the standard library
				}
				ok := false
				for _, m := range coreModules {
					ok = ok || d == m || strings.HasPrefix(d, m+"/")
				}
				if !ok {
					errs = append(errs, fmt.Sprintf("%s depends on %s: the core links the standard library and compression only", part, d))
				}
			}
		}
	}
	return errs
}

func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to list the packages")
	}
	pkgs := goList(t, nil, "./...")
	// The guests and the SDK they use are built for wasm: check them as built.
	pkgs = append(pkgs, goList(t, []string{"GOOS=wasip1", "GOARCH=wasm"}, "./examples/plugins/...", "./sdk/...")...)
	for _, e := range violations(pkgs) {
		t.Error(e)
	}
}

// TestImportRulesCatchABreak: the check fails on the breaks it exists for.
func TestImportRulesCatchABreak(t *testing.T) {
	bad := []listedPackage{
		{ImportPath: module + "/core/send", Imports: []string{module + "/host"}},
		{ImportPath: module + "/examples/observability", Imports: []string{module + "/host"}},
		{ImportPath: module + "/sdk/guest", Imports: []string{module + "/core/message"}},
		{ImportPath: module + "/core/remote", Deps: []string{"github.com/tetratelabs/wazero"}},
		{ImportPath: module + "/newpart"},
	}
	errs := violations(bad)
	if len(errs) != len(bad) {
		t.Fatalf("%d violations found in %d bad packages:\n%s", len(errs), len(bad), strings.Join(errs, "\n"))
	}
	if ok := violations([]listedPackage{{ImportPath: module + "/host", Imports: []string{module + "/core/send", module + "/sdk/hookv1", "fmt"}}}); len(ok) != 0 {
		t.Fatalf("a legal import refused: %v", ok)
	}
}
