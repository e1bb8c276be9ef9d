//go:build !linux

package verify

// boostPriority: the suite needs Linux; elsewhere it skips.
func boostPriority() {}
