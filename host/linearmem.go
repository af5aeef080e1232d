package host

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// Guest linear memory. By default wazero keeps a guest's memory in a Go slice that it grows with
// append: each memory.grow past the capacity copies the memory into a new, larger slice, and the
// old one stays until the Go garbage collector runs. A guest growing its memory page by page up to
// its limit (a grow bomb) so costs about 2.8 times its limit at peak, and the memory of instances
// thrown away after a failure lingers the same way.
//
// Where the platform allows (linuxMemory), each instance's memory is instead one anonymous mapping
// of its whole limit, reserved, not committed: growing it copies nothing, only the pages the guest
// touches are backed, and closing the instance returns them to the system at once. A plugin's
// guest memory then never exceeds memory_limit x pool_size (docs/operations.md has the figures).
//
// The mapping must not be unmapped while the host or the guest still reads it: wazero frees an
// instance's memory when the module is closed, and closing a plugin closes every module, including
// one a call is running on. So a mapping knows whether it is in use (hold and letGo, around every
// use of an instance; its instantiation holds it from the start), and when it is freed while held,
// it is unmapped by the last letGo. A memory already freed cannot be held again: the call fails as
// on a closed plugin.

// guestMemory is a LinearMemory whose release can wait for the calls holding it.
type guestMemory interface {
	experimental.LinearMemory
	hold() bool
	letGo()
}

// memHolds is the hold bookkeeping of a mapping, lock-free (two atomic operations per call): the
// number of holds, and whether the memory was freed; free runs once, when the memory was freed and
// no call holds it.
type memHolds struct {
	state atomic.Int64 // holds | memFreed | memDone
	free  func()
}

const (
	memFreed = 1 << 62
	memDone  = 1 << 61
)

func (h *memHolds) hold() bool {
	for {
		s := h.state.Load()
		if s&memFreed != 0 {
			return false
		}
		if h.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

func (h *memHolds) letGo() {
	if h.state.Add(-1) == memFreed && h.state.CompareAndSwap(memFreed, memFreed|memDone) {
		h.free()
	}
}

// release is LinearMemory.Free: now if no call holds the memory, else at the last letGo.
func (h *memHolds) release() {
	if old := h.state.Or(memFreed); old == 0 && h.state.CompareAndSwap(memFreed, memFreed|memDone) {
		h.free()
	}
}

// memoryAllocator returns the allocator of one instance's memory (nil where the platform has
// none: wazero's own is used) and a function that returns the memory it allocated, held, or nil.
func memoryAllocator() (experimental.MemoryAllocator, func() guestMemory) {
	if !mappedMemory {
		return nil, func() guestMemory { return nil }
	}
	var m guestMemory
	alloc := experimental.MemoryAllocatorFunc(func(cap, max uint64) experimental.LinearMemory {
		if m = newGuestMemory(max); m == nil {
			m = &heapMemory{buf: make([]byte, 0, cap)} // the mapping failed: a slice, as wazero's
		}
		m.hold()
		return m
	})
	return alloc, func() guestMemory { return m }
}

// heapMemory is the fallback when a mapping cannot be made: a Go slice grown like wazero's own.
type heapMemory struct {
	memHolds
	buf []byte
}

func (m *heapMemory) Reallocate(size uint64) []byte {
	if n := uint64(len(m.buf)); size > n {
		m.buf = append(m.buf, make([]byte, size-n)...)
	}
	return m.buf[:size]
}

func (m *heapMemory) Free() {
	if m.free == nil {
		m.free = func() {}
	}
	m.release()
}

// hold marks in's memory in use by a call; false: the memory is gone (the plugin was closed).
func (in *instance) hold() bool { return in.gm == nil || in.gm.hold() }

// letGo ends a hold.
func (in *instance) letGo() {
	if in.gm != nil {
		in.gm.letGo()
	}
}
