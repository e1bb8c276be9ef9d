package scenario

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"arplab/internal/garp"
	"arplab/internal/neigh"
	"arplab/internal/vtime"
)

// The limits of every number a scenario file or a --set flag may carry, in
// one place. They are wide enough for any failover story (a week of
// simulated time, ten thousand GARPs from one sender, a quarter of a
// million unrelated entries is not among them: the kernel's gc_thresh3 is)
// and narrow enough that no value in range can make a run grow without
// bound: what is left (a long run full of fast flows) is caught by the
// simulator's event budget (sim.Options.MaxEvents). docs/scenarios.md lists
// them; the errors give the field, the value, the range and where the
// value came from.

// ErrInvalid is wrapped by every error that says the scenario (or a flag
// editing it) is wrong, as opposed to a file that cannot be read: the CLI
// exits 2 for it.
var ErrInvalid = errors.New("invalid scenario")

type invalid struct{ error }

func (invalid) Is(target error) bool { return target == ErrInvalid }
func (e invalid) Unwrap() error      { return e.error }

// invalidf makes an error that errors.Is(ErrInvalid).
func invalidf(format string, a ...any) error { return invalid{fmt.Errorf(format, a...)} }

// MaxGARPFrames bounds the frames one garp event may send.
const MaxGARPFrames = 100_000

// durRange is the allowed range of one duration field, by its YAML name.
type durRange struct {
	name   string
	lo, hi vtime.Duration
}

func (r durRange) check(d vtime.Duration) error {
	if d < r.lo || d > r.hi {
		return fmt.Errorf("%s %s is out of range (allowed: %s to %s)", r.name, fmtDur(d), fmtDur(r.lo), fmtDur(r.hi))
	}
	return nil
}

// intRange is the allowed range of one count field.
type intRange struct {
	name   string
	lo, hi int64
}

func (r intRange) check(v int64) error {
	if v < r.lo || v > r.hi {
		return fmt.Errorf("%s %d is out of range (allowed: %d to %d)", r.name, v, r.lo, r.hi)
	}
	return nil
}

const (
	minute = 60 * vtime.Second
	hour   = 60 * minute
	day    = 24 * hour
	year   = 365 * day
)

var (
	limDuration = durRange{"duration", vtime.Millisecond, 7 * day}
	limLatency  = durRange{"latency", 0, 10 * vtime.Second}
	limJitter   = durRange{"jitter", 0, 10 * vtime.Second}
	limThink    = durRange{"think", 0, 10 * vtime.Second}
	limUptime   = durRange{"uptime", 0, 10 * year}
	limAge      = durRange{"age", 0, 10 * year}
	limCPUs     = intRange{"cpus", 1, 256}
	limCPU      = intRange{"cpu", 0, 255}
	limEntries  = intRange{"entries", 0, 65_536}

	limFlowTimeout  = durRange{"timeout", vtime.Millisecond, 7 * day}
	limFlowInterval = durRange{"interval", vtime.Millisecond, hour}
	limAckDelay     = durRange{"ack_delay", 0, 10 * vtime.Second}

	limGARPCount     = intRange{"count", 0, 10_000}
	limGARPRepeat    = intRange{"garp_master_repeat", 0, 1_000}
	limGARPRefRepeat = intRange{"garp_master_refresh_repeat", 0, 1_000}
	limGARPDurations = []durRange{
		{"interval", 0, hour},
		{"deadline", 0, 7 * day},
		{"startup_latency", 0, minute},
		{"arping_linger", 0, minute},
		{"garp_master_delay", 0, hour},
		{"garp_master_refresh", 0, hour},
		{"garp_interval", 0, minute},
		{"delay", 0, hour},
	}
	limGARPJitter  = durRange{"jitter", 0, 10 * vtime.Second}
	limGNAInterval = durRange{"gna_interval", 0, minute}
)

// fmtDur prints a duration the way a scenario file writes it.
func fmtDur(d vtime.Duration) string {
	t := time.Duration(d).String()
	if strings.HasSuffix(t, "m0s") {
		t = strings.TrimSuffix(t, "0s")
	}
	if strings.HasSuffix(t, "h0m") {
		t = strings.TrimSuffix(t, "0m")
	}
	return t
}

// maxSeconds bounds a bare number of seconds so that it converts to
// nanoseconds without overflow (about 290 years).
const maxSeconds = math.MaxInt64 / 1e9

// parseSeconds parses a bare number of seconds; ok is false when s is not a
// number at all.
func parseSeconds(s string) (d vtime.Duration, ok bool, err error) {
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil {
		var ne *strconv.NumError
		if errors.As(perr, &ne) && ne.Err == strconv.ErrRange {
			return 0, true, fmt.Errorf("%q is too large for a duration", s)
		}
		return 0, false, nil
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > maxSeconds {
		return 0, true, fmt.Errorf("%q is not a usable duration", s)
	}
	return vtime.Duration(f * 1e9), true, nil
}

// parseCount parses a whole number for a count field, in the user's words.
func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return v, nil
	}
	// 1e6 is a whole number too
	if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		return int64(f), nil
	}
	return 0, fmt.Errorf("%q is not a whole number", s)
}

// parseBool accepts what YAML and the kernel's /proc files accept.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

// parseProbability parses a probability for a loss field: [0, 1).
func parseProbability(name, s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, checkLoss(name, f)
}

func checkLoss(name string, f float64) error {
	if math.IsNaN(f) || f < 0 || f >= 1 {
		return fmt.Errorf("%s %v is out of range (allowed: 0 up to, not including, 1)", name, f)
	}
	return nil
}

// checkHZ checks a host's tick rate.
func checkHZ(hz int64) error {
	switch hz {
	case 100, 250, 300, 1000:
		return nil
	}
	return fmt.Errorf("hz %d is not a kernel tick rate (allowed: 100, 250, 300 or 1000)", hz)
}

// garpKnobWords turns the garp package's knob names into the scenario's
// field names for errors.
var garpKnobWords = strings.NewReplacer(
	garp.KnobMasterRefreshRepeat, "garp_master_refresh_repeat",
	garp.KnobMasterRefresh, "garp_master_refresh",
	garp.KnobMasterRepeat, "garp_master_repeat",
	garp.KnobMasterDelay, "garp_master_delay",
	garp.KnobGARPInterval, "garp_interval",
	garp.KnobGNAInterval, "gna_interval",
	garp.KnobForwarding, "forwarding",
	garp.KnobSource, "source",
	garp.KnobDest, "dest",
	garp.KnobNAFlags, "na_flags",
	garp.KnobNoTLLAO, "no_tllao",
	garp.KnobHopLimit, "hop_limit",
	garp.KnobStartupLatency, "startup_latency",
	garp.KnobArpingLinger, "arping_linger",
	garp.KnobDeadline, "deadline",
	garp.KnobInterval, "interval",
	garp.KnobCount, "count",
	garp.KnobDelay, "delay",
	garp.KnobMode, "mode",
	garp.KnobEthDst, "eth_dst",
	garp.KnobTHA, "tha",
	"garp: ", "",
)

// checkGARP checks a garp event's numbers, then that its preset takes the
// knobs it sets and sends a bounded number of frames.
func checkGARP(g *GARP, runEnd vtime.Duration) error {
	if !g.IP.IsValid() {
		return fmt.Errorf("needs the address it announces (ip: 10.0.0.1)")
	}
	if err := limGARPJitter.check(g.Jitter.D); err != nil {
		return err
	}
	if g.IP.Is6() {
		return checkNASender(g.presetName(), g.Options(), runEnd)
	}
	return CheckSender(g.presetName(), g.Options(), runEnd)
}

// checkNASender is CheckSender for an IPv6 announcement (garp.NASchedule):
// the same limits, vrrp_gna_interval's, and a bounded schedule.
func checkNASender(preset string, o garp.Options, end vtime.Duration) error {
	if o.GNAInterval != garp.None {
		if err := limGNAInterval.check(o.GNAInterval); err != nil {
			return err
		}
	}
	if err := senderLimits(o, end); err != nil {
		return err
	}
	fs, err := garp.NASchedule(preset, [6]byte{2}, netip.MustParseAddr("2001:db8::1"), o)
	if err != nil {
		return errors.New(garpKnobWords.Replace(err.Error()))
	}
	if len(fs) > MaxGARPFrames {
		return fmt.Errorf("the sender would send %d NAs (at most %d per sender)", len(fs), MaxGARPFrames)
	}
	return nil
}

// CheckSender checks a GARP sender's knobs (a scenario's garp event, or
// `arplab garp`'s flags) against their limits, then that the preset takes
// them and that the schedule is bounded; a refresh without a deadline runs
// until end. Errors use the scenario's field names.
func CheckSender(preset string, o garp.Options, end vtime.Duration) error {
	if err := senderLimits(o, end); err != nil {
		return err
	}
	fs, err := garp.Schedule(preset, [6]byte{2}, netip.AddrFrom4([4]byte{192, 0, 2, 1}), o)
	if err != nil {
		return errors.New(garpKnobWords.Replace(err.Error()))
	}
	if len(fs) > MaxGARPFrames {
		return fmt.Errorf("the sender would send %d GARPs (at most %d per sender)", len(fs), MaxGARPFrames)
	}
	return nil
}

// senderLimits checks the knobs every sender shares against their limits
// and bounds keepalived's refresh before a schedule is built.
func senderLimits(o garp.Options, end vtime.Duration) error {
	for _, c := range []struct {
		r intRange
		v int
	}{{limGARPCount, o.Count}, {limGARPRepeat, o.MasterRepeat}, {limGARPRefRepeat, o.MasterRefreshRepeat}} {
		if err := c.r.check(int64(c.v)); err != nil {
			return err
		}
	}
	for i, d := range []vtime.Duration{o.Interval, o.Deadline, o.StartupLatency, o.ArpingLinger,
		o.MasterDelay, o.MasterRefresh, o.GARPInterval, o.Delay} {
		if d == garp.None {
			continue // an explicit "none" (keepalived's 0), not a duration
		}
		if err := limGARPDurations[i].check(d); err != nil {
			return err
		}
	}
	// keepalived's refresh runs until the deadline: bound the bursts
	// before the schedule is built
	if o.MasterRefresh > 0 {
		dl := o.Deadline
		if dl == 0 {
			dl = end
		}
		bursts := int64(dl/o.MasterRefresh) + 1
		per := max(int64(o.MasterRefreshRepeat), 1)
		if bursts > MaxGARPFrames || bursts*per > MaxGARPFrames {
			return fmt.Errorf("garp_master_refresh %s until %s would send about %d GARPs (at most %d per sender)",
				fmtDur(o.MasterRefresh), fmtDur(dl), bursts*per, MaxGARPFrames)
		}
	}
	return nil
}

// gcThresh3 is the host's hard limit on entries: its own setting or the
// kernel's default (spec §8.1).
func gcThresh3(h *Host) int64 {
	v := int64(1024)
	for k, val := range h.Sysctls {
		if _, dev, name, err := SplitSysctl(k); err == nil && dev == "default" && name == "gc_thresh3" {
			if n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64); err == nil {
				v = n
			}
		}
	}
	return v
}

// checkHost checks a host's numbers.
func checkHost(h *Host) error {
	if err := checkHZ(int64(h.HZ)); (h.HZ != 0 || h.written["hz"]) && err != nil {
		return err
	}
	if err := limCPUs.check(int64(h.CPUs)); err != nil {
		return err
	}
	if err := limUptime.check(h.Uptime.D); err != nil {
		return err
	}
	if err := limEntries.check(int64(h.Entries)); err != nil {
		return err
	}
	if t3 := gcThresh3(h); int64(h.Entries+len(h.Neighbours)) > t3 {
		return fmt.Errorf("entries %d and %d neighbours are more than the table holds: gc_thresh3 is %d, past which the kernel refuses new entries (\"neighbour table overflow\"); lower entries or raise neigh.default.gc_thresh3 in sysctls",
			h.Entries, len(h.Neighbours), t3)
	}
	for _, n := range h.Neighbours {
		if err := limAge.check(n.Age.D); err != nil {
			return fmt.Errorf("neighbour %v: %v", n.IP, err)
		}
	}
	return nil
}

// checkFlow checks a flow's numbers; h is the host it runs on.
func checkFlow(fl *Flow, h *Host, runEnd vtime.Duration) error {
	if err := limFlowInterval.check(fl.Interval.D); err != nil {
		return err
	}
	if err := limFlowTimeout.check(fl.Timeout.D); err != nil {
		return err
	}
	if err := limAckDelay.check(fl.AckDelay.D); err != nil {
		return err
	}
	if err := (durRange{"until", 0, runEnd}).check(fl.Until.D); err != nil {
		return err
	}
	if fl.CPU != nil {
		if err := limCPU.check(int64(*fl.CPU)); err != nil {
			return err
		}
		// the flow's route cache is one of its host's CPUs
		if h != nil && *fl.CPU >= h.CPUs {
			return fmt.Errorf("cpu %d is out of range (allowed: 0 to %d: host %s has cpus: %d)", *fl.CPU, h.CPUs-1, h.Name, h.CPUs)
		}
	}
	return nil
}

// sysctlValue checks a sysctl's value against the kernel's range for it
// (neigh.CheckSysctl), in /proc units, as `sysctl -w` would.
func sysctlValue(name, v string) error { return neigh.CheckSysctl(name, v) }
