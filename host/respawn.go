package host

import (
	"context"
	"fmt"
	"time"
)

// Replacing instances. An instance is thrown away after any failure; the replacement is created in
// the background so that the next call does not pay an instantiation (milliseconds for a Go guest)
// on the send path. When creating an instance fails (hook_init rejects its configuration, the
// module runs out of memory in _initialize...), further attempts back off exponentially and calls
// that would need a new instance fail at once with the last error, instead of each paying for a
// doomed instantiation: a circuit breaker with a half-open retry after the backoff.

const (
	minRespawnBackoff = 100 * time.Millisecond
	maxRespawnBackoff = 30 * time.Second
)

// createBlocked reports the pending backoff, if instance creation failed recently.
func (p *WasmPlugin) createBlocked() error {
	p.spawnMu.Lock()
	defer p.spawnMu.Unlock()
	if p.spawnErr == nil || !time.Now().Before(p.spawnRetry) {
		return nil
	}
	return fmt.Errorf("creating an instance failed, next attempt in %v: %w",
		time.Until(p.spawnRetry).Round(time.Millisecond), p.spawnErr)
}

// create makes an instance with the pool token the caller holds, and records the outcome for the
// breaker. While the breaker is open it fails at once with the pending backoff. On any error the
// token is given back.
func (p *WasmPlugin) create() (*instance, error) {
	if err := p.createBlocked(); err != nil {
		p.tokens <- struct{}{}
		return nil, err
	}
	in, _, err := p.newInstance(context.Background())
	p.spawnMu.Lock()
	defer p.spawnMu.Unlock()
	if err != nil {
		p.tokens <- struct{}{}
		p.spawnBackoff = min(max(2*p.spawnBackoff, minRespawnBackoff), maxRespawnBackoff)
		p.spawnErr, p.spawnRetry = err, time.Now().Add(p.spawnBackoff)
		p.log.Error("creating an instance failed", "error", err, "retry_in", p.spawnBackoff)
		return nil, err
	}
	if p.spawnErr != nil {
		p.log.Info("instance creation recovered")
	}
	p.spawnErr, p.spawnBackoff = nil, 0
	return in, nil
}

// respawn creates a replacement instance in the background, unless one is being created, the pool
// is full, the breaker is open or the plugin is closed.
func (p *WasmPlugin) respawn() {
	if p.closed.Load() || !p.respawning.CompareAndSwap(false, true) {
		return
	}
	select {
	case <-p.tokens:
	default:
		p.respawning.Store(false)
		return
	}
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		defer p.respawning.Store(false)
		if p.closed.Load() {
			p.tokens <- struct{}{}
			return
		}
		if in, err := p.create(); err == nil {
			p.release(in)
		}
	}()
}
