//go:build !linux

package integration

const threadCPUSupported = false

// threadCPU is not measured outside Linux (WASMBENCH_HOOKCPU is refused there).
func threadCPU() int64 { return 0 }
