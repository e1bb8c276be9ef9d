// Package vtime is the time vocabulary shared by the model, the simulator and
// the trace: simulated time in integer nanoseconds, and the kernel's jiffies.
//
// The Linux neighbour code never sees wall-clock time; it sees jiffies, a tick
// counter incremented HZ times per second (spec §0.2). Every boundary in the
// ARP story (locktime, DELAY, PROBE spacing) is decided by comparing jiffies,
// so the model works in jiffies and the simulator converts its nanoseconds
// per host, with that host's HZ and phase.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository).
package vtime

import (
	"fmt"
	"strconv"
)

// Time is a point in simulated time: nanoseconds since the run's epoch.
type Time int64

// Duration is a span of simulated time in nanoseconds. It converts freely to
// and from time.Duration, which has the same unit.
type Duration int64

// Common durations.
const (
	Nanosecond  Duration = 1
	Microsecond          = 1000 * Nanosecond
	Millisecond          = 1000 * Microsecond
	Second               = 1000 * Millisecond
)

// Add returns t+d.
func (t Time) Add(d Duration) Time { return t + Time(d) }

// Sub returns t-u.
func (t Time) Sub(u Time) Duration { return Duration(t - u) }

// Seconds returns t as floating-point seconds since the epoch.
func (t Time) Seconds() float64 { return float64(t) / 1e9 }

// String prints t as seconds with millisecond precision, e.g. "12.345s".
func (t Time) String() string { return FormatSeconds(int64(t)) }

// Seconds returns d in floating-point seconds.
func (d Duration) Seconds() float64 { return float64(d) / 1e9 }

// String prints d as seconds, e.g. "1.5s".
func (d Duration) String() string { return FormatSeconds(int64(d)) }

// FormatSeconds prints a nanosecond count as seconds with up to 6 decimals,
// trailing zeros trimmed, so that outputs stay short and byte-stable.
func FormatSeconds(ns int64) string {
	neg := ns < 0
	if neg {
		ns = -ns
	}
	s := strconv.FormatInt(ns/1e9, 10)
	frac := (ns % 1e9) / 1000 // microseconds
	if frac != 0 {
		f := fmt.Sprintf("%06d", frac)
		for len(f) > 0 && f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		s += "." + f
	}
	if neg {
		s = "-" + s
	}
	return s + "s"
}

// Jiffies is the kernel's tick counter. It is unsigned and may wrap; compare
// values only with After, AfterEq, Before and BeforeEq, which follow the
// kernel's time_after family (signed difference), never with < or >.
type Jiffies uint64

// After reports time_after(a, b): a is strictly later than b.
func After(a, b Jiffies) bool { return int64(b-a) < 0 }

// AfterEq reports time_after_eq(a, b): a is b or later.
func AfterEq(a, b Jiffies) bool { return int64(a-b) >= 0 }

// Before reports time_before(a, b): a is strictly earlier than b.
func Before(a, b Jiffies) bool { return After(b, a) }

// BeforeEq reports time_before_eq(a, b): a is b or earlier.
func BeforeEq(a, b Jiffies) bool { return AfterEq(b, a) }

// Since returns the signed number of ticks from b to a (a − b).
func Since(a, b Jiffies) int64 { return int64(a - b) }

// Ticks is a signed count of jiffies: a duration on the kernel's clock.
type Ticks int64

// Clock converts simulated time to one host's jiffies. Each host has its own
// HZ and its own phase (where in a tick the host's counter stood at the
// epoch), which is what makes two events one second apart land L or L+1 ticks
// apart (spec §10.4).
type Clock struct {
	// HZ is the tick rate: 100, 250, 300 or 1000 on real kernels.
	HZ int
	// Base is the jiffies value at the epoch (the kernel boots at −300·HZ
	// so that the counter wraps five minutes after boot).
	Base Jiffies
	// Phase is how far into a tick the epoch falls, in nanoseconds
	// (0 ≤ Phase < 1e9/HZ).
	Phase Duration
}

// NewClock returns a clock at hz whose counter reads base at the epoch,
// phase nanoseconds into the current tick.
func NewClock(hz int, base Jiffies, phase Duration) (Clock, error) {
	if err := ValidHZ(hz); err != nil {
		return Clock{}, err
	}
	tick := Duration(1e9 / int64(hz))
	if phase < 0 || phase >= tick {
		return Clock{}, fmt.Errorf("vtime: phase %v outside one tick (%v) at HZ=%d", phase, tick, hz)
	}
	return Clock{HZ: hz, Base: base, Phase: phase}, nil
}

// ValidHZ rejects tick rates the kernel cannot be built with.
func ValidHZ(hz int) error {
	switch hz {
	case 100, 250, 300, 1000:
		return nil
	}
	return fmt.Errorf("vtime: HZ=%d is not a kernel tick rate (100, 250, 300 or 1000)", hz)
}

// Jiffies returns the tick counter at t: floor((t+phase)·HZ/1e9) + base.
// All events within one tick see the same value (spec §0.2).
func (c Clock) Jiffies(t Time) Jiffies {
	ns := int64(t) + int64(c.Phase)
	// floor(ns·HZ/1e9) without overflowing int64 for any time: whole
	// seconds and the remainder are scaled separately.
	sec, rem := ns/1e9, ns%1e9
	if rem < 0 {
		sec, rem = sec-1, rem+1e9
	}
	q := sec*int64(c.HZ) + rem*int64(c.HZ)/1e9
	return c.Base + Jiffies(q)
}

// TimeOf returns the first instant at which the counter reads j; timers fire
// at, never before, their expiry tick.
func (c Clock) TimeOf(j Jiffies) Time {
	ticks := int64(j - c.Base)
	// smallest ns with floor(ns·HZ/1e9) >= ticks, i.e. ceil(ticks·1e9/HZ),
	// computed per whole second of ticks so it cannot overflow
	hz := int64(c.HZ)
	sec, rem := ticks/hz, ticks%hz
	if rem < 0 {
		sec, rem = sec-1, rem+hz
	}
	ns := sec*1e9 + ceilDiv(rem*1e9, hz)
	return Time(ns - int64(c.Phase))
}

// TickDuration is the length of one jiffy.
func (c Clock) TickDuration() Duration { return Duration(1e9 / int64(c.HZ)) }

func ceilDiv(a, d int64) int64 {
	q := a / d
	if a%d != 0 && (a < 0) == (d < 0) {
		q++
	}
	return q
}

// MsToTicks converts milliseconds to jiffies as the kernel's
// msecs_to_jiffies does, rounding up (a negative value rounds away from
// zero, as the proc handler for a negative millisecond sysctl does). It is
// the one ms→jiffies conversion: sysctl writes in the model, parameters
// read from a kernel in the lab.
func MsToTicks(ms int64, hz int) Ticks {
	if ms < 0 {
		return -Ticks((-ms*int64(hz) + 999) / 1000)
	}
	return Ticks((ms*int64(hz) + 999) / 1000)
}
