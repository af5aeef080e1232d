package rocketsend

import (
	"context"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"

	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/host"
)

// A configuration's plugin blocks become a host.Set here: each block's settings are turned into
// host options, once. Everything a plugin does (filter, selector chain, failure policies) is the
// host's.

// loader loads the plugins of configuration files. It keeps one wasm compilation cache for every
// set it loads, so a reload recompiles nothing that did not change.
type loader struct {
	log   hclog.Logger
	cache wazero.CompilationCache
}

// newLoader returns a loader whose wasm compilation cache is in cacheDir: "" means
// os.UserCacheDir()/rocketsend/wasm, "off" keeps it in memory only.
func newLoader(cacheDir string, log hclog.Logger) *loader {
	l := &loader{log: log}
	if cacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cacheDir = filepath.Join(d, "rocketsend", "wasm")
		} else {
			cacheDir = "off"
		}
	}
	if cacheDir != "off" {
		cc, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			log.Warn("wasm compilation cache on disk disabled", "dir", cacheDir, "error", err)
		} else {
			l.cache = cc
		}
	}
	if l.cache == nil {
		l.cache = wazero.NewCompilationCache()
	}
	return l
}

// close releases the compilation cache; the plugins loaded must be closed first.
func (l *loader) close(ctx context.Context) error { return l.cache.Close(ctx) }

// pluginSet is the plugins of one configuration, with their blocks; replaced whole on reload.
type pluginSet struct {
	blocks []config.Plugin
	host.Set
}

// load loads every plugin of f, in order. If one fails, those already loaded are closed and the
// error names the failing block.
func (l *loader) load(ctx context.Context, f *config.File) (*pluginSet, error) {
	s := &pluginSet{}
	for _, c := range f.Plugins {
		p, err := host.Load(ctx, host.Kind(c.Kind), c.Path, l.options(&c)...)
		if err != nil {
			_ = s.Close(context.Background())
			return nil, c.Errorf("%w", err)
		}
		s.blocks = append(s.blocks, c)
		s.Set = append(s.Set, p)
	}
	return s, nil
}

// options are the host options of a plugin block. The block's timeout is the per-call deadline
// (0: the host's default: none for wasm, DefaultProcessCallTimeout for a process, which also
// detects a hung process); memory_limit, pool_size and dirs apply to wasm plugins, args to
// process plugins (the configuration refuses them elsewhere).
func (l *loader) options(c *config.Plugin) []host.Opt {
	opts := []host.Opt{host.WithLogger(l.log.Named(c.Name)), host.WithHookConfig(c.Config, c.Settings...),
		host.WithTopics(c.Topics...)}
	if c.Hooks != nil {
		opts = append(opts, host.WithPoints(c.Hooks...))
	}
	if c.SHA256 != "" {
		opts = append(opts, host.WithChecksum(c.SHA256))
	}
	if c.Timeout > 0 {
		opts = append(opts, host.WithCallTimeout(c.Timeout))
	}
	for pt, fp := range c.FailurePolicy {
		opts = append(opts, host.WithFailurePolicy(pt, fp))
	}
	for _, kv := range c.Env {
		opts = append(opts, host.WithEnv(kv.Key, kv.Value))
	}
	switch c.Kind {
	case config.KindWasm:
		opts = append(opts, host.WithCompilationCache(l.cache))
		if c.PoolSize > 0 {
			opts = append(opts, host.WithPoolSize(c.PoolSize))
		}
		if c.MemoryLimit > 0 {
			opts = append(opts, host.WithMemoryLimitPages(uint32((c.MemoryLimit+65535)/65536)))
		}
		for _, d := range c.Dirs {
			opts = append(opts, host.WithReadOnlyDir(d.Host, d.Guest))
		}
	case config.KindProcess:
		if len(c.Args) > 0 {
			opts = append(opts, host.WithArgs(c.Args...))
		}
	}
	return opts
}
