package kclock

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var monoAnchor = sync.OnceValues(func() (time.Time, int64) {
	t0 := time.Now()
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	t1 := time.Now()
	return t0.Add(t1.Sub(t0) / 2), ts.Nano()
})

// MonoNs converts a time.Time taken in this process (it must carry Go's
// monotonic reading, as time.Now does) to CLOCK_MONOTONIC nanoseconds, the
// clock of tracepoint timestamps (trace_clock mono). Go's monotonic clock
// is CLOCK_MONOTONIC on Linux, so the conversion is exact up to the
// anchor's jitter (well under a microsecond).
func MonoNs(t time.Time) int64 {
	at, mono := monoAnchor()
	return mono + int64(t.Sub(at))
}
