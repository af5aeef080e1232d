package host

import (
	"syscall"
)

// mappedMemory: guest memories are mappings (a variable for the tests that compare with wazero's own).
var mappedMemory = true

// linuxMemory is a guest's linear memory in one anonymous private mapping of its maximum size,
// MAP_NORESERVE: the kernel backs only the pages the guest touches, and munmap returns them.
type linuxMemory struct {
	memHolds
	mapped []byte // the whole mapping, as returned by mmap (munmap wants it back)
}

// newGuestMemory maps max bytes, or returns nil (wazero then uses its own memory) when the mapping
// fails.
func newGuestMemory(max uint64) guestMemory {
	if max == 0 || max > 1<<32 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	m := &linuxMemory{mapped: b}
	m.free = func() { _ = syscall.Munmap(m.mapped) }
	return m
}

// Reallocate implements experimental.LinearMemory: the memory never moves, it only gets longer.
func (m *linuxMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.mapped)) {
		return nil
	}
	return m.mapped[:size:len(m.mapped)]
}

// Free implements experimental.LinearMemory.
func (m *linuxMemory) Free() { m.release() }
