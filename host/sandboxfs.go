package host

import (
	"errors"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// A read-only directory grant is served through an os.Root, never through wazero's DirFS, which
// resolves paths with the host's file system and so follows a symbolic link wherever it points: a
// link in the granted directory to /etc/passwd or to / let a guest read any file the host can. An
// os.Root resolves every path, links and ".." included, inside its directory, and refuses what
// would leave it, whatever the guest asks (docs/abi.md §8). Each root is opened once per plugin,
// when it loads, and closed with it; wazero's ReadFS on top refuses every write.

// grantFS is the file system of a plugin's directory grants: the roots it holds open and the
// configuration that mounts them.
type grantFS struct {
	roots []*os.Root
	fc    wazero.FSConfig
}

// openGrantFS opens a root for each granted directory (host directory, guest path).
func openGrantFS(dirs [][2]string) (*grantFS, error) {
	g := &grantFS{}
	if len(dirs) == 0 {
		return g, nil
	}
	fc := wazero.NewFSConfig()
	for _, d := range dirs {
		r, err := os.OpenRoot(d[0])
		if err != nil {
			g.close()
			return nil, fmt.Errorf("granted directory: %w", err)
		}
		g.roots = append(g.roots, r)
		fc = fc.(sysfs.FSConfig).WithSysFSMount(&sysfs.ReadFS{FS: &sysfs.AdaptFS{FS: r.FS()}}, d[1])
	}
	g.fc = fc
	return g, nil
}

// apply mounts the grants in an instance's module configuration.
func (g *grantFS) apply(mc wazero.ModuleConfig) wazero.ModuleConfig {
	if g == nil || g.fc == nil {
		return mc
	}
	return mc.WithFSConfig(g.fc)
}

func (g *grantFS) close() error {
	if g == nil {
		return nil
	}
	var errs []error
	for _, r := range g.roots {
		errs = append(errs, r.Close())
	}
	g.roots = nil
	return errors.Join(errs...)
}
