// Package rocketsend embeds a configured RocketMQ producer in a service: New reads a
// configuration file (docs/config.md), loads the plugins it declares, and returns a started
// producer whose send pipeline runs them. Reload re-reads the file and swaps the plugin set while
// the service keeps sending; WithReloadOnSignal and WithReloadOnChange make that automatic.
//
//	p, err := rocketsend.New(ctx, "rocketsend.hcl")
//	if err != nil {
//		return err // an invalid file names file:line and what is expected
//	}
//	defer p.Close(context.Background())
//	res, err := p.Send(ctx, message.New("Orders", body))
//
// The producer's send methods are core/send's (every option and error documented in
// docs/producer.md applies); this package adds configuration, plugin management and one logger.
// Close stops all of it: the producer, the reload watchers and every plugin (processes included).
package rocketsend

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rocketsend/rocketsend/config"
	"github.com/rocketsend/rocketsend/core/send"
	"github.com/rocketsend/rocketsend/host"
	"github.com/rocketsend/rocketsend/sdk/hookv1"
)

// Producer is a started producer with the plugins of a configuration file. It offers the send
// methods of send.Producer (sends.go) but not its lifecycle: Close, which stops everything, is the
// only way to stop it.
type Producer struct {
	sp *send.Producer

	path   string
	opts   options
	log    hclog.Logger
	loader *loader

	reloading    sync.Mutex // serialises reloads, and Close after them
	mu           sync.Mutex // guards the fields below; never held while plugins load
	cfg          *config.File
	set          *pluginSet
	watchHash    [32]byte // of the config file and the plugin files, as last loaded
	seenHash     [32]byte // what the change watcher saw on its last tick (reload.go)
	closed       bool
	cancelReload context.CancelFunc // ends the reload in progress (Close)

	retiring sync.WaitGroup // old sets waiting for their in-flight sends before closing
	stop     chan struct{}
	watchers sync.WaitGroup
}

type options struct {
	sendOpts       []send.Option
	hooks          []send.Hook
	log            hclog.Logger
	signals        []os.Signal
	reloadInterval time.Duration
	onReload       func(error)
	override       func(*config.File)
	allowNoPlugins bool
}

// Option configures New.
type Option func(*options)

// WithSendOptions adds producer options after the file's (they win where both set a value, and
// add where an option accumulates, such as WithNameServers). Hooks and a default selector given
// here are dropped by the first reload: pass native hooks with WithHooks instead.
func WithSendOptions(o ...send.Option) Option {
	return func(c *options) { c.sendOpts = append(c.sendOpts, o...) }
}

// WithHooks adds native Go hooks (see send.Hook). They run before the file's plugins and stay
// in place across reloads.
func WithHooks(h ...send.Hook) Option { return func(c *options) { c.hooks = append(c.hooks, h...) } }

// WithLogger sets the logger of every log line of the producer: the core's (route changes,
// failover, heartbeats, reconnects; named "producer"), the plugins' (named "plugin.<block>") and
// reloads'. Default: discard.
func WithLogger(l hclog.Logger) Option { return func(c *options) { c.log = l } }

// WithReloadOnSignal reloads the configuration when the process receives one of sigs (SIGHUP
// when none is given). Off by default.
func WithReloadOnSignal(sigs ...os.Signal) Option {
	return func(c *options) {
		if len(sigs) == 0 {
			sigs = []os.Signal{syscall.SIGHUP}
		}
		c.signals = sigs
	}
}

// WithReloadOnChange checks the configuration file and the plugin files it names every interval
// and reloads when any of them changed. Polling (by content hash of the file, size and time of
// the plugins) works across editors that replace files and on every file system. Off by default.
func WithReloadOnChange(interval time.Duration) Option {
	return func(c *options) { c.reloadInterval = interval }
}

// WithOnReload calls f after every automatic reload (signal or change) with its outcome; a
// failed reload keeps the running plugins. Without it, outcomes are logged.
func WithOnReload(f func(err error)) Option { return func(c *options) { c.onReload = f } }

// WithConfigOverride lets the caller adjust each decoded file before it is used, on New and on
// every reload: a command line flag that replaces the NameServers, say.
func WithConfigOverride(f func(*config.File)) Option { return func(c *options) { c.override = f } }

// New reads the configuration at path, loads its plugins and returns a started producer. Every
// problem of the file is reported at once (a *config.Error, positions included); a plugin that
// fails to load is named with its block's position. ctx bounds loading and starting.
func New(ctx context.Context, path string, opts ...Option) (*Producer, error) {
	p, err := newProducer(path, opts)
	if err != nil {
		return nil, err
	}
	f, _, hash, err := p.read()
	if err != nil {
		return nil, err
	}
	return p.start(ctx, f, hash)
}

// NewFromConfig is New for a configuration built or changed in memory (a command line that adds
// plugins to a file, say). Such a producer has no file to reload: Reload fails, and the reload
// options are refused.
func NewFromConfig(ctx context.Context, f *config.File, opts ...Option) (*Producer, error) {
	p, err := newProducer("", opts)
	if err != nil {
		return nil, err
	}
	if len(p.opts.signals) > 0 || p.opts.reloadInterval > 0 {
		return nil, errors.New("rocketsend: NewFromConfig has no file to reload: use New for WithReloadOnSignal or WithReloadOnChange")
	}
	if p.opts.override != nil {
		p.opts.override(f)
	}
	return p.start(ctx, f, [32]byte{})
}

func newProducer(path string, opts []Option) (*Producer, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.reloadInterval < 0 {
		return nil, fmt.Errorf("rocketsend: reload interval %v must be positive", o.reloadInterval)
	}
	return &Producer{path: path, opts: o, log: o.log, stop: make(chan struct{})}, nil
}

func (p *Producer) start(ctx context.Context, f *config.File, hash [32]byte) (_ *Producer, err error) {
	p.log = topLogger(p.opts.log, f.LogLevel)
	p.loader = newLoader(f.CacheDir, p.log.Named("plugin"))
	defer func() {
		if err != nil {
			_ = p.loader.close(context.Background())
		}
	}()
	set, err := p.loader.load(ctx, f)
	if err != nil {
		return nil, err
	}
	// The core logs through the same logger as the plugins (logger.go); a send.WithLogger among
	// the caller's send options still wins, being later.
	sopts := append(f.Producer.Options(), send.WithLogger(newCoreLogger(p.log.Named("producer"))))
	sopts = append(sopts, p.opts.sendOpts...)
	sopts = append(sopts, send.WithHooks(p.hooksOf(set)...))
	if sf := set.SelectorFactory(); sf != nil {
		sopts = append(sopts, send.WithQueueSelector(sf))
	}
	sp, err := send.New(sopts...)
	if err != nil {
		_ = set.Close(context.Background())
		if f.Path != "" {
			return nil, fmt.Errorf("rocketsend: %s: %w", f.Path, err)
		}
		return nil, err
	}
	if err := sp.Start(ctx); err != nil {
		_ = sp.Shutdown(context.Background())
		_ = set.Close(context.Background())
		return nil, err
	}
	p.sp, p.cfg, p.set, p.watchHash = sp, f, set, hash
	p.startWatchers()
	return p, nil
}

// read loads the file, applies the override and fingerprints what it names; src is the content
// that was parsed.
func (p *Producer) read() (f *config.File, src []byte, hash [32]byte, err error) {
	src, err = os.ReadFile(p.path)
	if err != nil {
		return nil, nil, hash, fmt.Errorf("config: %w", err)
	}
	if f, err = config.Parse(src, p.path); err != nil {
		return nil, nil, hash, err
	}
	if p.opts.override != nil {
		p.opts.override(f)
	}
	return f, src, fingerprintOf(src, f), nil
}

// fingerprint hashes the config file's content and the size and time of each plugin file f names.
func (p *Producer) fingerprint(f *config.File) [32]byte {
	b, _ := os.ReadFile(p.path)
	return fingerprintOf(b, f)
}

func fingerprintOf(src []byte, f *config.File) [32]byte {
	h := sha256.New()
	h.Write(src)
	if f != nil {
		for _, pl := range f.Plugins {
			if st, err := os.Stat(pl.Path); err == nil {
				fmt.Fprintf(h, "\x00%s %d %d", pl.Path, st.Size(), st.ModTime().UnixNano())
			}
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (p *Producer) hooksOf(set *pluginSet) []send.Hook {
	return append(slices.Clone(p.opts.hooks), set.Hooks()...)
}

// Reload re-reads the configuration file and loads its plugins; if all of them load, the new set
// replaces the old one atomically: sends that start afterwards run through the new plugins, sends
// in flight finish (retries included) on the old ones, which are closed once the last of them is
// done. On any error the running plugins stay as they are.
//
// A file that declares no plugin while plugins are running is refused (ErrNoPlugins), unless
// the producer was built WithReloadToNoPlugins: a file caught half-written, or emptied by mistake,
// must not silently turn every policy off.
//
// Loading is bounded by ctx (and ended by Close); Plugins, Config and Close never wait for it.
//
// Producer settings (the producer block) apply when a producer starts: a reload that changes
// them logs a warning and keeps the running values.
func (p *Producer) Reload(ctx context.Context) error { return p.reload(ctx, nil) }

// reload is Reload; with expect, the file must still have that fingerprint when it has been read
// (the change watcher's stable content), else errUnstable.
func (p *Producer) reload(ctx context.Context, expect *[32]byte) error {
	p.reloading.Lock()
	defer p.reloading.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("rocketsend: reload after Close")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.cancelReload = cancel
	running := p.cfg
	p.mu.Unlock()
	if p.path == "" {
		return errors.New("rocketsend: this producer was built with NewFromConfig and has no file to reload")
	}
	f, src, hash, err := p.read()
	if err != nil {
		return err
	}
	// The watcher fingerprinted the file against the running configuration's plugin files.
	if expect != nil && fingerprintOf(src, running) != *expect {
		return errUnstable
	}
	if len(f.Plugins) == 0 && len(running.Plugins) > 0 && !p.opts.allowNoPlugins {
		return fmt.Errorf("rocketsend: %s: %w (%d running); the running plugins are kept", p.path, ErrNoPlugins, len(running.Plugins))
	}
	if f.LogLevel != "" && f.LogLevel != running.LogLevel {
		p.log.SetLevel(hclog.LevelFromString(f.LogLevel))
	}
	if !f.Producer.SameStartSettings(&running.Producer) {
		p.log.Warn("the producer block changed; producer settings apply at the next start, the running ones are kept", "file", p.path)
	}
	set, err := p.loader.load(ctx, f)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = set.Close(context.Background())
		return errors.New("rocketsend: reload after Close")
	}
	drained, err := p.sp.ReplaceHooks(set.SelectorFactory(), p.hooksOf(set)...)
	if err != nil {
		_ = set.Close(context.Background())
		return err
	}
	old := p.set
	p.cfg, p.set, p.watchHash = f, set, hash
	p.retiring.Add(1)
	go func() {
		defer p.retiring.Done()
		<-drained
		if err := old.Close(context.Background()); err != nil {
			p.log.Warn("closing the previous plugin set", "error", err)
		}
	}()
	p.log.Info("configuration reloaded", "file", p.path, "plugins", len(set.Set))
	return nil
}

// Config returns the configuration in use (after the last successful reload).
func (p *Producer) Config() *config.File {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// PluginStatus describes one running plugin.
type PluginStatus struct {
	Name    string // the block's name
	Kind    config.Kind
	Path    string
	Info    hookv1.HookInfo // what the plugin declared
	Hooks   []string        // the hook points in use: forbidden, before, after, select
	Topics  []string        // the block's topic filter (nil: every topic)
	Stats   host.Stats
	Version string
}

// Plugins describes the running plugins, in the order their hooks run.
func (p *Producer) Plugins() []PluginStatus {
	p.mu.Lock()
	set := p.set
	p.mu.Unlock()
	var out []PluginStatus
	for i, pl := range set.Set {
		c := set.blocks[i]
		st := PluginStatus{Name: c.Name, Kind: c.Kind, Path: c.Path, Info: pl.Info(),
			Topics: c.Topics, Stats: pl.Stats(), Version: pl.Info().Version}
		for _, pt := range pl.Points() {
			st.Hooks = append(st.Hooks, config.HookName(pt))
		}
		out = append(out, st)
	}
	return out
}

// Close stops the reload watchers, ends a reload in progress, shuts the producer down (async
// sends in flight get until ctx's deadline, 3 s without one, see send.Producer.Shutdown), then
// closes every plugin.
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.cancelReload != nil {
		p.cancelReload() // loading is bounded by its context: the reload ends at once
	}
	close(p.stop)
	p.mu.Unlock()
	p.watchers.Wait()
	// A reload called by the program ends at once (its context is cancelled); later ones see closed.
	p.reloading.Lock()
	defer p.reloading.Unlock()
	err := p.sp.Shutdown(ctx)
	p.retiring.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(err, p.set.Close(ctx), p.loader.close(ctx))
}

func (p *Producer) startWatchers() {
	if len(p.opts.signals) > 0 {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, p.opts.signals...)
		p.watchers.Add(1)
		go func() {
			defer p.watchers.Done()
			defer signal.Stop(ch)
			for {
				select {
				case <-p.stop:
					return
				case s := <-ch:
					p.autoReload("signal "+s.String(), nil)
				}
			}
		}()
	}
	if p.opts.reloadInterval > 0 {
		p.watchers.Add(1)
		go func() {
			defer p.watchers.Done()
			t := time.NewTicker(p.opts.reloadInterval)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.watchTick()
				}
			}
		}()
	}
}

func (p *Producer) autoReload(why string, expect *[32]byte) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := p.reload(ctx, expect)
	if errors.Is(err, errUnstable) {
		p.log.Debug("the configuration changed while it was read; reloading when it is stable", "file", p.path)
		return
	}
	if err != nil {
		// Do not retry the same broken content on every tick: remember it as seen (the content
		// that was read, not a newer one written since).
		p.mu.Lock()
		if expect != nil {
			p.watchHash = *expect
		} else {
			p.watchHash = p.fingerprint(p.cfg)
		}
		p.mu.Unlock()
	}
	if p.opts.onReload != nil {
		p.opts.onReload(err)
		return
	}
	if err != nil {
		p.log.Error("reload failed; the running plugins are kept", "trigger", why, "error", err)
	}
}
