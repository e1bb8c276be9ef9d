package kclock

import (
	"fmt"
	"time"
)

// Clock converts CLOCK_MONOTONIC nanoseconds to the kernel's jiffies. The
// jiffies counter advances every TICK_NSEC nanoseconds on a fixed grid;
// RefNs is where the grid puts the start of tick RefJ.
type Clock struct {
	HZ    int
	RefJ  uint64
	RefNs int64
	// Lo and Hi bound RefNs (the fit's uncertainty); Spread > 0 means the
	// samples disagreed by that much (late tick interrupts).
	Lo, Hi  int64
	Spread  int64
	Samples int
	// Misfits counts run stamps the fitted clock puts in another jiffy
	// than the kernel did.
	Misfits int
}

// Uncertainty is how far the true grid may be from RefNs.
func (c Clock) Uncertainty() time.Duration {
	if c.Spread > 0 {
		return time.Duration(c.Spread)
	}
	return time.Duration(c.Hi-c.Lo) / 2
}

// TickNs is the length of one jiffy: TICK_NSEC.
func (c Clock) TickNs() int64 {
	if c.HZ <= 0 {
		return 0
	}
	return (1e9 + int64(c.HZ)/2) / int64(c.HZ)
}

// Jiffies returns the jiffies value at ns.
func (c Clock) Jiffies(ns int64) uint64 {
	t := c.TickNs()
	d := ns - c.RefNs
	q := d / t
	if d%t != 0 && d < 0 {
		q--
	}
	return c.RefJ + uint64(q)
}

// StartNs returns when jiffy j begins.
func (c Clock) StartNs(j uint64) int64 { return c.RefNs + int64(j-c.RefJ)*c.TickNs() }

// Edge returns how far ns is from the nearest jiffy boundary.
func (c Clock) Edge(ns int64) time.Duration {
	t := c.TickNs()
	off := (ns - c.RefNs) % t
	if off < 0 {
		off += t
	}
	return time.Duration(min(off, t-off))
}

// Sample is a moment at which the kernel read jiffies: a tracepoint
// whose `updated` stamp was just set.
type Sample struct {
	Ns int64
	J  uint64
}

// Fit fits the jiffies grid to samples. Each sample was taken no
// earlier than the start of its jiffy and less than a tick after it, so
// the start of RefJ lies in (x − tick, x] for x = ns − (J − RefJ)·tick; the
// fit takes the middle of the intersection, or, if late ticks make the
// samples disagree, the earliest offset seen.
func Fit(hz int, samples []Sample) (Clock, error) {
	c := Clock{HZ: hz}
	if len(samples) == 0 {
		return c, fmt.Errorf("kclock: no jiffies samples to fit the clock")
	}
	if hz <= 0 {
		return c, fmt.Errorf("kclock: HZ %d", hz)
	}
	t := c.TickNs()
	c.RefJ = samples[0].J
	var lo, hi int64
	for i, s := range samples {
		x := s.Ns - int64(s.J-c.RefJ)*t
		if i == 0 || x-t > lo {
			lo = x - t
		}
		if i == 0 || x < hi {
			hi = x
		}
	}
	c.Lo, c.Hi, c.Samples = lo, hi, len(samples)
	if lo < hi {
		c.RefNs = lo + (hi-lo)/2
	} else {
		c.Spread = lo - hi
		c.RefNs = hi
	}
	for _, s := range samples {
		if c.Jiffies(s.Ns) != s.J {
			c.Misfits++
		}
	}
	return c, nil
}
