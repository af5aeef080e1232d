package rocketsend

import (
	"errors"
)

// ErrNoPlugins is the error of a reload whose file declares no plugin while plugins are running:
// such a file is far more often a mistake, or a file caught while it was being written, than a wish
// to turn every policy off. WithReloadToNoPlugins allows it.
var ErrNoPlugins = errors.New("the configuration declares no plugin")

// errUnstable: the file changed between the change watcher's look and the reload's read.
var errUnstable = errors.New("rocketsend: the configuration changed while it was read")

// WithReloadToNoPlugins lets a reload remove every plugin (by default such a reload is refused
// with ErrNoPlugins and the running plugins are kept).
func WithReloadToNoPlugins() Option { return func(c *options) { c.allowNoPlugins = true } }

// watchTick is one look of WithReloadOnChange's watcher. A file is reloaded only once it has been
// seen with the same content on two looks in a row, one interval apart, and the reload checks that
// what it read is still that content: a file caught between two writes (valid HCL without its
// plugin blocks, say) is never loaded. Writers should still replace the file by rename (write a
// temporary file, then rename it over the configuration): then a reader only ever sees a whole
// file, and a reload follows within two intervals.
func (p *Producer) watchTick() {
	p.mu.Lock()
	cfg, last, seen := p.cfg, p.watchHash, p.seenHash
	p.mu.Unlock()
	now := p.fingerprint(cfg)
	p.mu.Lock()
	p.seenHash = now
	p.mu.Unlock()
	if now == last || now != seen {
		return // unchanged, or still changing: look again next tick
	}
	p.autoReload("file change", &now)
}
