package kclock

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"arplab/internal/labsys"
)

// HZ detection methods, as DetectHZ reports them.
const (
	HZFromBootConfig = "boot-config"     // CONFIG_HZ in /boot/config-$(uname -r)
	HZFromProcConfig = "proc-config"     // CONFIG_HZ in /proc/config.gz
	HZFromTimerList  = "timer-list-rate" // jiffies counted over a measured interval
)

// DetectHZ returns the running kernel's CONFIG_HZ and how it was found
// (spec §12.1: sysctls hide HZ, so it must be detected). The build config
// is authoritative; without one, jiffies are counted in /proc/timer_list
// over 500 ms and the rate is rounded to the nearest usual HZ.
func DetectHZ() (hz int, method string, err error) {
	var errs []error
	if rel, err := labsys.KernelRelease(); err == nil {
		f, err := os.Open("/boot/config-" + rel)
		if err == nil {
			hz, err := configHZ(f)
			f.Close()
			if err == nil {
				return hz, HZFromBootConfig, nil
			}
			errs = append(errs, fmt.Errorf("/boot/config-%s: %w", rel, err))
		}
	}
	if f, err := os.Open("/proc/config.gz"); err == nil {
		zr, err := gzip.NewReader(f)
		if err == nil {
			hz, err := configHZ(zr)
			f.Close()
			if err == nil {
				return hz, HZFromProcConfig, nil
			}
			errs = append(errs, fmt.Errorf("/proc/config.gz: %w", err))
		} else {
			f.Close()
		}
	}
	rate, err := MeasureHZ(500 * time.Millisecond)
	if err == nil {
		return RoundHZ(rate), HZFromTimerList, nil
	}
	errs = append(errs, err)
	return 0, "", fmt.Errorf("lab: cannot detect HZ: %w", errors.Join(errs...))
}

// configHZ finds CONFIG_HZ=N in a kernel config.
func configHZ(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CONFIG_HZ="); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CONFIG_HZ line")
}

// MeasureHZ counts jiffies in /proc/timer_list (readable by root only)
// across interval and returns the rate in ticks per second.
func MeasureHZ(interval time.Duration) (float64, error) {
	j0, t0, err := ReadJiffies()
	if err != nil {
		return 0, err
	}
	time.Sleep(interval)
	j1, t1, err := ReadJiffies()
	if err != nil {
		return 0, err
	}
	dt := t1.Sub(t0).Seconds()
	if dt <= 0 || j1 < j0 {
		return 0, fmt.Errorf("lab: jiffies went from %d to %d in %v", j0, j1, t1.Sub(t0))
	}
	return float64(j1-j0) / dt, nil
}

// ReadJiffies returns the first "jiffies:" value of /proc/timer_list and
// the time halfway through reading it.
func ReadJiffies() (uint64, time.Time, error) {
	start := time.Now()
	f, err := os.Open("/proc/timer_list")
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("lab: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "jiffies:"); ok {
			j, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			end := time.Now()
			if err != nil {
				return 0, time.Time{}, fmt.Errorf("lab: /proc/timer_list: %w", err)
			}
			return j, start.Add(end.Sub(start) / 2), nil
		}
	}
	return 0, time.Time{}, fmt.Errorf("lab: no jiffies line in /proc/timer_list")
}

// RoundHZ maps a measured tick rate to the nearest usual CONFIG_HZ (100,
// 250, 300, 1000) if it is within 5%, else to the nearest integer.
func RoundHZ(rate float64) int {
	for _, hz := range []float64{100, 250, 300, 1000} {
		if math.Abs(rate-hz)/hz < 0.05 {
			return int(hz)
		}
	}
	return int(math.Round(rate))
}
