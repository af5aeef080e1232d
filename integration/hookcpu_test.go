package integration

import (
	"runtime"
	"sync/atomic"

	"github.com/rocketsend/rocketsend/core/send"
)

// meteredHook wraps a before+after hook pair and adds up the CPU time of the OS thread during
// each call (the goroutine is locked to its thread for the call, so that is the call's CPU time,
// in place, with the producer's caches and scheduling around it). The meter costs two
// clock_gettime system calls per call, which it counts too: runs with it measure where the time
// goes, not the ratio.
type meteredHook struct {
	before send.SendMessageBeforeHook
	after  send.SendMessageAfterHook

	beforeNs, beforeN, afterNs, afterN atomic.Int64
}

func (h *meteredHook) SendMessageBefore(sc *send.SendContext) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t := threadCPU()
	err := h.before.SendMessageBefore(sc)
	h.beforeNs.Add(threadCPU() - t)
	h.beforeN.Add(1)
	return err
}

func (h *meteredHook) SendMessageAfter(sc *send.SendContext) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t := threadCPU()
	h.after.SendMessageAfter(sc)
	h.afterNs.Add(threadCPU() - t)
	h.afterN.Add(1)
}

// reset zeroes the counters (between the warm-up and the measured sends).
func (h *meteredHook) reset() {
	h.beforeNs.Store(0)
	h.beforeN.Store(0)
	h.afterNs.Store(0)
	h.afterN.Store(0)
}

// perCall returns the mean CPU nanoseconds of the before and the after calls so far.
func (h *meteredHook) perCall() (before, after float64) {
	if n := h.beforeN.Load(); n > 0 {
		before = float64(h.beforeNs.Load()) / float64(n)
	}
	if n := h.afterN.Load(); n > 0 {
		after = float64(h.afterNs.Load()) / float64(n)
	}
	return before, after
}
