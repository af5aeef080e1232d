package host

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// The call circuit, shared by both back ends. A plugin that fails every call would otherwise cost
// a failed call per send (and, for wasm, a background instantiation). After circuitThreshold
// consecutive failed calls the plugin is not called for a backoff (doubling from 100 ms to 30 s
// while it keeps failing): its calls fail at once with FailUnavailable and the hook point's policy
// applies. The first call after the backoff goes through (half open); a success closes the
// circuit. Calls that fail as unavailable (no instance, process down) do not count: they are
// already cheap; and a restarted process starts with the circuit closed, as a replaced wasm
// instance needs no such reset (its failures were the guest's, and the guest is the same).
const circuitThreshold = 5

type circuit struct {
	consecutive atomic.Int64 // failed calls in a row
	mu          sync.Mutex
	retry       time.Time
	backoff     time.Duration
}

func (c *pluginCore) circuitOpen() error {
	if c.circuit.consecutive.Load() < circuitThreshold {
		return nil // the common case: one atomic load
	}
	c.circuit.mu.Lock()
	defer c.circuit.mu.Unlock()
	if !time.Now().Before(c.circuit.retry) {
		return nil
	}
	return fmt.Errorf("circuit open after %d consecutive failed calls, next attempt in %v",
		c.circuit.consecutive.Load(), time.Until(c.circuit.retry).Round(time.Millisecond))
}

// circuitReset closes the circuit without a trial call: the plugin was replaced (a new process).
func (c *pluginCore) circuitReset() {
	c.circuit.mu.Lock()
	defer c.circuit.mu.Unlock()
	c.circuit.consecutive.Store(0)
	c.circuit.backoff, c.circuit.retry = 0, time.Time{}
}

// callDone records the outcome of a call that reached the plugin (kind is ignored on success).
func (c *pluginCore) callDone(failed bool, kind FailureKind) {
	if !failed {
		if c.circuit.consecutive.Load() != 0 && c.circuit.consecutive.Swap(0) >= circuitThreshold {
			c.circuit.mu.Lock()
			c.circuit.backoff = 0
			c.circuit.mu.Unlock()
			c.log.Info("circuit closed: the plugin answers again")
		}
		return
	}
	if kind == FailUnavailable {
		return
	}
	n := c.circuit.consecutive.Add(1)
	if n < circuitThreshold {
		return
	}
	c.circuit.mu.Lock()
	defer c.circuit.mu.Unlock()
	c.circuit.backoff = min(max(2*c.circuit.backoff, minRespawnBackoff), maxRespawnBackoff)
	c.circuit.retry = time.Now().Add(c.circuit.backoff)
	c.log.Error("circuit open: the plugin is not called for a while", "consecutive_failures", n, "retry_in", c.circuit.backoff)
}
