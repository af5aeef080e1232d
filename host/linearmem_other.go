//go:build !linux

package host

var mappedMemory = false

// newGuestMemory has no mapping to offer on this platform: wazero keeps the memory (see
// linearmem.go for what that costs a grow bomb).
func newGuestMemory(max uint64) guestMemory { return nil }
