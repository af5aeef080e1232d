// Package plugins turns the plugin blocks of a configuration file into loaded plugins and the
// hooks and queue selector a producer runs them through. It is the one place that knows the
// plugin kinds: each kind has one loader in the loaders table.
package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/tetratelabs/wazero"

	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/message"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Plugin is a loaded plugin of any kind: what the producer needs of it.
type Plugin interface {
	// Name is the name the plugin gives itself.
	Name() string
	// Info is what the plugin declared: hook points, needs, topics, failure policy hint.
	Info() hookv1.HookInfo
	// Hooks returns the send hooks of the points the plugin declared, or nil.
	Hooks() send.Hook
	// Selector returns a selector asking the plugin, falling back to fallback.
	Selector(fallback send.QueueSelector) send.QueueSelector
	// Stats counts calls and failures.
	Stats() host.Stats
	// Close releases the plugin's instances.
	Close(ctx context.Context) error
}

// loader loads one plugin of a kind.
type loader func(ctx context.Context, l *Loader, c *config.Plugin) (Plugin, error)

// loaders is the table of plugin kinds.
var loaders = map[config.Kind]loader{
	config.KindWasm:    loadWasm,
	config.KindProcess: loadProcess,
}

// Loader loads plugins. It keeps one wasm compilation cache for all the sets it loads, so a
// reload recompiles nothing that did not change.
type Loader struct {
	log   hclog.Logger
	cache wazero.CompilationCache
}

// NewLoader returns a loader whose wasm compilation cache is in cacheDir: "" means
// os.UserCacheDir()/rocketsend/wasm, "off" keeps it in memory only. Plugins log through log
// (nil: discard).
func NewLoader(cacheDir string, log hclog.Logger) *Loader {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	l := &Loader{log: log}
	if cacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cacheDir = d + "/rocketsend/wasm"
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

// Close releases the compilation cache. Plugins loaded by l must be closed first.
func (l *Loader) Close(ctx context.Context) error { return l.cache.Close(ctx) }

// Loaded is one plugin with the configuration it was loaded with.
type Loaded struct {
	Config config.Plugin
	Plugin Plugin
	// Points are the hook points in use: the declared ones, restricted by the config's hooks.
	Points []hookv1.HookPoint
}

// LoadOne loads the plugin a block describes and checks it against the block: the file's
// checksum, and hooks that the plugin does not declare. Errors name the block's position.
func (l *Loader) LoadOne(ctx context.Context, c config.Plugin) (*Loaded, error) {
	load, ok := loaders[c.Kind]
	if !ok {
		return nil, c.Errorf("unknown kind %q", c.Kind)
	}
	if c.SHA256 != "" {
		if err := checkSum(c.Path, c.SHA256); err != nil {
			return nil, c.Errorf("%w", err)
		}
	}
	p, err := load(ctx, l, &c)
	if err != nil {
		return nil, c.Errorf("%w", err)
	}
	info := p.Info()
	points := info.Points
	if c.Hooks != nil {
		var missing []string
		for _, pt := range c.Hooks {
			if !info.Has(pt) {
				missing = append(missing, config.HookName(pt))
			}
		}
		if len(missing) > 0 {
			_ = p.Close(context.Background())
			return nil, c.Errorf("hooks names %s, which the plugin does not declare (it declares %s)",
				strings.Join(missing, ", "), pointNames(info.Points))
		}
		points = c.Hooks
	}
	return &Loaded{Config: c, Plugin: p, Points: points}, nil
}

func pointNames(ps []hookv1.HookPoint) string {
	if len(ps) == 0 {
		return "none"
	}
	var s []string
	for _, p := range ps {
		s = append(s, config.HookName(p))
	}
	return strings.Join(s, ", ")
}

func checkSum(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s has SHA-256 %s, the configuration expects %s", path, got, want)
	}
	return nil
}

func loadWasm(ctx context.Context, l *Loader, c *config.Plugin) (Plugin, error) {
	opts := []host.WasmOption{host.WithCompilationCache(l.cache), host.WithLogger(l.log.Named(c.Name)),
		host.WithHookConfig(c.Config, c.Settings...)}
	if c.PoolSize > 0 {
		opts = append(opts, host.WithPoolSize(c.PoolSize))
	}
	if c.MemoryLimit > 0 {
		opts = append(opts, host.WithMemoryLimitPages(uint32((c.MemoryLimit+65535)/65536)))
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
	for _, d := range c.Dirs {
		opts = append(opts, host.WithReadOnlyDir(d.Host, d.Guest))
	}
	p, err := host.LoadWasm(ctx, c.Path, opts...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// loadProcess starts a process plugin (hashicorp/go-plugin). The checksum, when the block has one,
// is verified again before every restart; the block's timeout is the per-call deadline (0: the
// host's default, which also detects a hung process); memory_limit and pool_size do not apply.
func loadProcess(ctx context.Context, l *Loader, c *config.Plugin) (Plugin, error) {
	opts := []host.ProcessOption{host.WithProcessLogger(l.log.Named(c.Name)),
		host.WithProcessHookConfig(c.Config, c.Settings...), host.WithArgs(c.Args...)}
	if c.SHA256 != "" {
		opts = append(opts, host.WithChecksum(c.SHA256))
	}
	if c.Timeout > 0 {
		opts = append(opts, host.WithProcessCallTimeout(c.Timeout))
	}
	for pt, fp := range c.FailurePolicy {
		opts = append(opts, host.WithProcessFailurePolicy(pt, fp))
	}
	for _, kv := range c.Env {
		opts = append(opts, host.WithProcessEnv(kv.Key, kv.Value))
	}
	p, err := host.LoadProcess(ctx, c.Path, opts...)
	if err != nil {
		return nil, err
	}
	return processPlugin{p}, nil
}

// processPlugin reports a process plugin's counters as host.Stats: instances are processes.
type processPlugin struct{ *host.ProcessPlugin }

func (p processPlugin) Stats() host.Stats {
	ps := p.ProcessPlugin.Stats()
	s := host.Stats{Calls: ps.Calls, Failures: ps.Failures, ByKind: ps.ByKind,
		Discarded: ps.Crashes, Created: ps.Starts}
	if ps.Up {
		s.Live = 1
	}
	return s
}

// Set is the plugins of one configuration, loaded, with the hooks and selector factory a
// producer runs them through. It is replaced whole on reload.
type Set struct {
	plugins  []*Loaded
	hooks    []send.Hook
	selector send.SelectorFactory
}

// Load loads every plugin of f, in order. If one fails, those already loaded are closed and the
// error names the failing block.
func (l *Loader) Load(ctx context.Context, f *config.File) (*Set, error) {
	s := &Set{}
	for _, c := range f.Plugins {
		lp, err := l.LoadOne(ctx, c)
		if err != nil {
			_ = s.Close(context.Background())
			return nil, err
		}
		s.plugins = append(s.plugins, lp)
	}
	s.build()
	return s, nil
}

// Plugins returns the loaded plugins in order.
func (s *Set) Plugins() []*Loaded { return s.plugins }

// Hooks returns the send hooks of the set, in order.
func (s *Set) Hooks() []send.Hook { return s.hooks }

// SelectorFactory returns the selector chain of the set's SELECT_QUEUE plugins, in order, each
// falling back to the next and the last to round robin; nil when no plugin selects.
func (s *Set) SelectorFactory() send.SelectorFactory { return s.selector }

// Close closes every plugin of the set.
func (s *Set) Close(ctx context.Context) error {
	var errs []error
	for _, p := range s.plugins {
		if err := p.Plugin.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing plugin %s: %w", p.Config.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Set) build() {
	var selectors []*Loaded
	for _, lp := range s.plugins {
		if slices.Contains(lp.Points, hookv1.PointSelectQueue) {
			selectors = append(selectors, lp)
		}
		h := lp.Plugin.Hooks()
		if h == nil {
			continue
		}
		if f := newFiltered(lp, h); f != nil {
			s.hooks = append(s.hooks, f)
		}
	}
	if len(selectors) == 0 {
		return
	}
	s.selector = send.SelectorFactoryFunc(func(topic string) send.QueueSelector {
		sel := send.RoundRobin()
		for i := len(selectors) - 1; i >= 0; i-- {
			lp := selectors[i]
			sel = &topicSelector{topics: lp.Config.Topics, plugin: lp.Plugin.Selector(sel), fallback: sel, name: lp.Config.Name}
		}
		return sel
	})
}

// newFiltered returns h itself when the configuration neither restricts its hooks nor its topics,
// else a hook that applies those restrictions; nil when no hook point is left.
func newFiltered(lp *Loaded, h send.Hook) send.Hook {
	_, f := h.(send.CheckForbiddenHook)
	_, b := h.(send.SendMessageBeforeHook)
	_, a := h.(send.SendMessageAfterHook)
	if lp.Config.Hooks == nil && len(lp.Config.Topics) == 0 {
		return h
	}
	f = f && slices.Contains(lp.Points, hookv1.PointCheckForbidden)
	b = b && slices.Contains(lp.Points, hookv1.PointBeforeSend)
	a = a && slices.Contains(lp.Points, hookv1.PointAfterSend)
	if !f && !b && !a {
		return nil
	}
	return &filtered{name: lp.Config.Name, h: h, forbid: f, before: b, after: a, topics: lp.Config.Topics}
}

// filtered applies a plugin block's hooks and topics to a plugin's hooks. It implements every
// hook interface; the ones switched off do nothing.
type filtered struct {
	name                  string
	h                     send.Hook
	forbid, before, after bool
	topics                []string
}

func (f *filtered) Name() string { return f.name }

func (f *filtered) wants(sc *send.SendContext) bool {
	if len(f.topics) == 0 || sc.Message == nil {
		return true
	}
	return slices.Contains(f.topics, stripNamespace(sc.Message.Topic, sc.Namespace))
}

func stripNamespace(topic, ns string) string {
	if ns != "" {
		return strings.TrimPrefix(topic, ns+"%")
	}
	if i := strings.IndexByte(topic, '%'); i > 0 {
		return topic[i+1:]
	}
	return topic
}

func (f *filtered) CheckForbidden(sc *send.SendContext) error {
	if !f.forbid || !f.wants(sc) {
		return nil
	}
	return f.h.(send.CheckForbiddenHook).CheckForbidden(sc)
}

func (f *filtered) SendMessageBefore(sc *send.SendContext) error {
	if !f.before || !f.wants(sc) {
		return nil
	}
	return f.h.(send.SendMessageBeforeHook).SendMessageBefore(sc)
}

func (f *filtered) SendMessageAfter(sc *send.SendContext) {
	if !f.after || !f.wants(sc) {
		return
	}
	f.h.(send.SendMessageAfterHook).SendMessageAfter(sc)
}

// topicSelector asks a plugin's selector for the topics of its block, the fallback otherwise.
type topicSelector struct {
	name     string
	topics   []string
	plugin   send.QueueSelector
	fallback send.QueueSelector
}

func (t *topicSelector) Name() string { return t.name }

func (t *topicSelector) Select(m *message.Message, qs []message.MessageQueue, arg any) (message.MessageQueue, error) {
	if len(t.topics) > 0 && m != nil && !slices.Contains(t.topics, stripNamespace(m.Topic, "")) {
		return t.fallback.Select(m, qs, arg)
	}
	return t.plugin.Select(m, qs, arg)
}
