package rocketsend

import "runtime/debug"

// Version is this source tree's release, the top entry of CHANGELOG.md (a test keeps the two
// equal). Until the module is published, a checkout is the only way to use it, so the constant,
// not a module version from the build information, is what says which release a binary holds.
const Version = "0.1.0-dev"

// BuildVersion is Version plus what the Go toolchain recorded of the build: the VCS revision and
// whether the tree had uncommitted changes, when the binary was built from a git checkout with
// VCS stamping on. It is what `rocketsend --version` prints.
func BuildVersion() string {
	v := Version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return v + " " + bi.GoVersion
}
