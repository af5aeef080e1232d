//go:build !wasip1

package guest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestWasmGuestsLinkNoRPC: built for wasip1, the SDK (and so every wasm plugin) depends on neither
// gRPC, protobuf's runtime nor go-plugin; only the native build, whose Serve runs a process plugin,
// does.
func TestWasmGuestsLinkNoRPC(t *testing.T) {
	list := func(goos, goarch string) string {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps (GOOS=%s): %v\n%s", goos, err, out)
		}
		return string(out)
	}
	banned := []string{"google.golang.org/grpc", "google.golang.org/protobuf", "github.com/hashicorp/go-plugin", "sdk/hookgrpc"}
	wasm := list("wasip1", "wasm")
	for _, b := range banned {
		if strings.Contains(wasm, b) {
			t.Errorf("the wasip1 build of sdk/guest depends on %s", b)
		}
	}
	if native := list(os.Getenv("GOOS"), os.Getenv("GOARCH")); !strings.Contains(native, "github.com/hashicorp/go-plugin") {
		t.Error("the native build of sdk/guest does not link go-plugin: guest.Serve cannot serve a process plugin")
	}
}
