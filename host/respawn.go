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

// create makes an instance (a pool token must be held) and records the outcome for the breaker.
func (p *WasmPlugin) create() (*instance, error) {
	in, _, err := p.newInstance(context.Background())
	p.spawnMu.Lock()
	defer p.spawnMu.Unlock()
	if err != nil {
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
		if p.closed.Load() || p.createBlocked() != nil {
			p.tokens <- struct{}{}
			return
		}
		in, err := p.create()
		if err != nil {
			p.tokens <- struct{}{}
			return
		}
		p.release(in)
	}()
}

// The call circuit. A guest that fails every call would otherwise cost, per send, a failed call
// and a background instantiation. After circuitThreshold consecutive failed calls the plugin is
// not called for a backoff (doubling from minRespawnBackoff to maxRespawnBackoff while it keeps
// failing): its calls fail at once with FailUnavailable and the hook point's policy applies. The
// first call after the backoff goes through (half open); a success closes the circuit.
const circuitThreshold = 5

func (p *WasmPlugin) circuitOpen() error {
	if p.consecutive.Load() < circuitThreshold {
		return nil // the common case: one atomic load
	}
	p.spawnMu.Lock()
	defer p.spawnMu.Unlock()
	if !time.Now().Before(p.circuitRetry) {
		return nil
	}
	return fmt.Errorf("circuit open after %d consecutive failed calls, next attempt in %v",
		p.consecutive.Load(), time.Until(p.circuitRetry).Round(time.Millisecond))
}

func (p *WasmPlugin) callFailed() {
	n := p.consecutive.Add(1)
	if n < circuitThreshold {
		return
	}
	p.spawnMu.Lock()
	defer p.spawnMu.Unlock()
	p.circuitBackoff = min(max(2*p.circuitBackoff, minRespawnBackoff), maxRespawnBackoff)
	p.circuitRetry = time.Now().Add(p.circuitBackoff)
	p.log.Error("circuit open: the plugin is not called for a while", "consecutive_failures", n, "retry_in", p.circuitBackoff)
}

func (p *WasmPlugin) callSucceeded() {
	if p.consecutive.Load() == 0 {
		return
	}
	if p.consecutive.Swap(0) >= circuitThreshold {
		p.spawnMu.Lock()
		p.circuitBackoff = 0
		p.spawnMu.Unlock()
		p.log.Info("circuit closed: the plugin answers again")
	}
}
