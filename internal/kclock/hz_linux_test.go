package kclock

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestDetectHZ(t *testing.T) {
	hz, method, err := DetectHZ()
	if err != nil {
		t.Skipf("cannot detect HZ here: %v", err)
	}
	t.Logf("HZ = %d (%s)", hz, method)
	if hz <= 0 {
		t.Fatalf("HZ = %d", hz)
	}
	if os.Geteuid() != 0 {
		return // /proc/timer_list is root-only
	}
	rate, err := MeasureHZ(300 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("measured %.1f ticks/s", rate)
	if got := RoundHZ(rate); got != hz {
		t.Errorf("measured HZ %d (%.1f/s) differs from %s HZ %d", got, rate, method, hz)
	}
}

// TestMonoNs: a Go time lands on CLOCK_MONOTONIC as the kernel reads it.
func TestMonoNs(t *testing.T) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	before := ts.Nano()
	got := MonoNs(time.Now())
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	after := ts.Nano()
	if got < before-int64(time.Millisecond) || got > after+int64(time.Millisecond) {
		t.Errorf("MonoNs(now) = %d, not between %d and %d", got, before, after)
	}
}
