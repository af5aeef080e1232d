package otel

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreStaysFreeOfOpenTelemetry guards the dependency rule of DESIGN.md: a service that
// embeds only the producer does not link OpenTelemetry; this package is where it enters.
func TestCoreStaysFreeOfOpenTelemetry(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/rocketsend/rocketsend/core/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/rocketsend/rocketsend/core/send") {
		t.Fatalf("go list listed no core package:\n%s", out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "go.opentelemetry.io/") {
			t.Errorf("core/... depends on %s", dep)
		}
	}
}
