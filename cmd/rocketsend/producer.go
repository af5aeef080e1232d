package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/rocketsend/rocketsend"
	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/send"
)

// producerFlags are the flags of every command that builds a producer.
type producerFlags struct {
	config   string
	namesrv  string
	group    string
	plugins  []string
	logLevel string
	sets     []string
	levelSet func() bool // --log-level was given: it wins over the file's log_level
}

func (f *producerFlags) register(c *cobra.Command) {
	c.Flags().StringVarP(&f.config, "config", "c", "", "configuration file (docs/config.md): producer settings and plugins")
	c.Flags().StringVarP(&f.namesrv, "namesrv", "n", "", "NameServer address(es), host:port[;host:port]; overrides the file (default $NAMESRV_ADDR)")
	c.Flags().StringVarP(&f.group, "group", "g", "", "producer group; overrides the file (default "+defaultCLIGroup+")")
	c.Flags().StringArrayVarP(&f.plugins, "plugin", "p", nil, "a wasm plugin to run, after the file's (repeatable)")
	c.Flags().StringArrayVar(&f.sets, "set", nil, "a producer setting of the file's producer block, NAME=VALUE, over the file's (repeatable; docs/config.md): --set send_timeout=10s")
	c.Flags().StringVar(&f.logLevel, "log-level", "warn", "level of every log line (the producer, plugins, reloads) written to standard error: trace, debug, info, warn, error, off; wins over the file's log_level")
	f.levelSet = func() bool { return c.Flags().Changed("log-level") }
}

// configFile returns the file named by --config (or an empty one) with the flags applied.
// defaultCLIGroup is the producer group of a command line that names none (-g, --set group=, or
// group in the -c file).
const defaultCLIGroup = "rocketsend_cli"

func (f *producerFlags) configFile() (*config.File, error) {
	cfg := &config.File{}
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return nil, err
		}
	}
	if _, ok := config.LogLevels[f.logLevel]; !ok {
		return nil, usagef("--log-level %q: want trace, debug, info, warn, error or off", f.logLevel)
	}
	if f.levelSet != nil && f.levelSet() {
		cfg.LogLevel = f.logLevel
	}
	for _, kv := range f.sets {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, usagef("--set %q: want NAME=VALUE, like send_timeout=10s (docs/config.md lists the names)", kv)
		}
		if err := cfg.Producer.Set(name, value); err != nil {
			return nil, usageError{err}
		}
	}
	if f.namesrv != "" {
		cfg.Producer.NameServers = []string{f.namesrv}
	}
	if f.group != "" {
		cfg.Producer.Group = f.group
	}
	if cfg.Producer.Group == "" {
		// The producer requires a group (it refuses DEFAULT_PRODUCER, as Java does); a command
		// line without one gets its own.
		cfg.Producer.Group = defaultCLIGroup
	}
	for i, path := range f.plugins {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(path), ".wasm")
		cfg.Plugins = append(cfg.Plugins, config.Plugin{Name: name, Kind: config.KindWasm, Path: abs,
			Order: 1 << 20, Pos: fmt.Sprintf("--plugin #%d", i+1)})
	}
	return cfg, nil
}

func (f *producerFlags) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "rocketsend", Level: hclog.LevelFromString(f.logLevel), Output: os.Stderr})
}

// producer builds and starts a producer from the flags.
func (f *producerFlags) producer(ctx context.Context, extra ...send.Option) (*rocketsend.Producer, error) {
	cfg, err := f.configFile()
	if err != nil {
		return nil, err
	}
	if len(cfg.Producer.NameServers) == 0 && strings.TrimSpace(os.Getenv("NAMESRV_ADDR")) == "" {
		return nil, usagef("no NameServer: give -n host:port (several: \"a:9876;b:9876\"), set NAMESRV_ADDR, or set name_servers in the -c file")
	}
	if hclog.LevelFromString(f.logLevel) == hclog.NoLevel {
		return nil, usagef("--log-level %q: want trace, debug, info, warn, error or off", f.logLevel)
	}
	return rocketsend.NewFromConfig(ctx, cfg, rocketsend.WithLogger(f.logger()), rocketsend.WithSendOptions(extra...))
}
