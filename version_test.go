package rocketsend

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The CHANGELOG's first release heading is the version the code reports.
func TestVersionMatchesChangelog(t *testing.T) {
	b, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[?v?([0-9][^\] ]*)\]?`).FindSubmatch(b)
	if m == nil {
		t.Fatal("CHANGELOG.md has no '## <version>' heading")
	}
	if string(m[1]) != Version {
		t.Fatalf("CHANGELOG.md's latest entry is %s, Version is %s: update both together", m[1], Version)
	}
	if !strings.HasPrefix(BuildVersion(), Version) {
		t.Fatalf("BuildVersion() = %q does not start with %q", BuildVersion(), Version)
	}
}
