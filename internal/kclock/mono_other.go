//go:build !linux

package kclock

import "time"

// MonoNs returns the monotonic reading relative to process start.
func MonoNs(t time.Time) int64 { return int64(t.Sub(start)) }

var start = time.Now()
