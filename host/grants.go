package host

import (
	"fmt"
	"os"
	"path"

	"github.com/tetratelabs/wazero"
)

// Grants widen a wasm plugin's sandbox, which by default has no environment, no file system, no
// network and no clock beyond what WASI's defaults give (docs/abi.md §1). Each grant is explicit
// so that a configuration file says exactly what a plugin may see.

// grant is what WithEnv (options.go) and WithReadOnlyDir add to the module configuration of every instance.
type grant struct {
	env  [][2]string // name, value
	dirs [][2]string // host directory, guest path
}

// WithReadOnlyDir mounts the host directory hostDir at guestPath (absolute, e.g. "/rules") in the
// plugin's WASI file system, read-only. Nothing outside hostDir is reachable through it: symbolic
// links and ".." are resolved inside hostDir, and one that leads out fails to open. LoadWasm fails
// if hostDir is not a directory.
func WithReadOnlyDir(hostDir, guestPath string) WasmOpt {
	return wasmOpt{"WithReadOnlyDir", func(c *wasmConfig) { c.grants.dirs = append(c.grants.dirs, [2]string{hostDir, guestPath}) }}
}

// check validates the grants before any instance is made.
func (g *grant) check() error {
	for _, d := range g.dirs {
		st, err := os.Stat(d[0])
		if err != nil {
			return fmt.Errorf("granted directory: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("granted directory %s is not a directory", d[0])
		}
		if !path.IsAbs(d[1]) {
			return fmt.Errorf("granted directory %s: guest path %q must be absolute", d[0], d[1])
		}
	}
	return nil
}

// apply adds the grants to an instance's module configuration: the environment, and the
// directories through fsys (sandboxfs.go), opened once for the plugin.
func (g *grant) apply(mc wazero.ModuleConfig, fsys *grantFS) wazero.ModuleConfig {
	for _, e := range g.env {
		mc = mc.WithEnv(e[0], e[1])
	}
	return fsys.apply(mc)
}
