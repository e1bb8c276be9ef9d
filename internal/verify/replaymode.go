package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"arplab/internal/capture"
	"arplab/internal/kernel"
	"arplab/internal/lab"
	"arplab/internal/neigh"
	"arplab/internal/replay"
	"arplab/internal/scenario"
	"arplab/internal/trace"
)

// ReplayResult is the verify suite's replay mode for one scenario: each
// observed host's frames written as the capture a user would have, replayed
// with only what a user would know (the capture, the host's address and
// MAC, the kernel profile and HZ, the sysctls and entries the scenario set
// up), and the replay's table held against the kernel's at every table
// read of the run.
type ReplayResult struct {
	Scenario string `json:"scenario"`
	Profile  string `json:"profile"`
	// Reads is the entries compared, Agree those the replay had as the
	// kernel did; Boundary those that differed within the timer wheel's
	// reach of a kernel or replay transition of the entry (the read may
	// have caught either side), counted apart.
	Reads    int `json:"reads"`
	Agree    int `json:"agree"`
	Boundary int `json:"boundary"`
	// Unseen counts reads left out: taken before the host's first frame
	// (before the capture, in a user's terms), or of an entry an `ip
	// neigh` command touched after the capture began, which a capture
	// cannot show, so no replay can follow the entry.
	Unseen int `json:"unseen"`
	// Diffs are the disagreements away from any boundary.
	Diffs []ReplayDiff `json:"diffs,omitempty"`
	// Aligned lists the timers the replay ran at the time of the host's
	// own probe, earlier than it had placed them (replay's timer
	// alignment): what the capture revealed of the kernel's timer wheel.
	Aligned []ReplayAligned `json:"aligned,omitempty"`
	// Skipped says why a host could not be replayed.
	Skipped []string `json:"skipped,omitempty"`
	// Gap is why this scenario's replay is known not to follow the kernel
	// at every read (ReplayGaps); its disagreements are shown, not failed.
	Gap string `json:"gap,omitempty"`
}

// ReplayDiff is one table read where the replay and the kernel differ.
type ReplayDiff struct {
	Time   float64 `json:"time"` // seconds of the run
	Host   string  `json:"host"`
	IP     string  `json:"ip"`
	Read   string  `json:"read"`
	Kernel string  `json:"kernel"`
	Replay string  `json:"replay"`
}

// ReplayAligned is one timer the replay aligned to the host's probe.
type ReplayAligned struct {
	Time  float64 `json:"time"` // seconds of the run
	Host  string  `json:"host"`
	IP    string  `json:"ip"`
	Frame int     `json:"frame"` // the probe's number in the host's capture
	Ticks int64   `json:"ticks"` // how much earlier than the replay had placed the timer
}

// OK reports whether every read compared agreed, boundaries included.
func (r *ReplayResult) OK() bool { return r.Agree+r.Boundary == r.Reads }

// Failed reports a disagreement that is not a known gap.
func (r *ReplayResult) Failed() bool { return !r.OK() && r.Gap == "" }

// ReplayGaps are the suite's scenarios whose replay mode (a capture and
// what a user knows) cannot always follow the kernel, and why: their
// disagreements are shown and not counted as failures (by `verify
// --replay`, the suite test and the guest suite), while every other
// scenario's replay must agree at every read.
var ReplayGaps = map[string]string{
	"udp-msg-confirm": "MSG_CONFIRM is a flag of the sending socket: no capture shows it",
	"udp-does-not-confirm": "the kernel draws reachable_time at random and no capture shows the draw: the " +
		"REACHABLE→DELAY→PROBE cycle's phase at the end read depends on it (the scenario's own checks avoid it)",
}

func (r *ReplayResult) String() string {
	s := fmt.Sprintf("%d of %d reads agree (%d at a timer boundary)", r.Agree+r.Boundary, r.Reads, r.Boundary)
	if r.Unseen > 0 {
		s += fmt.Sprintf("; %d reads left out (before the first frame, of a host without frames, or of entries ip neigh changed during the capture)", r.Unseen)
	}
	return s
}

// ReplayCheck runs the replay mode on a recorded lab run.
func ReplayCheck(run *lab.LabRun, s *scenario.Scenario, prof kernel.Profile) (*ReplayResult, error) {
	return replayCheck(run, s, prof, false)
}

// replayCheck is ReplayCheck, with timer alignment off when noAlign (the
// tests show which scenarios need it).
func replayCheck(run *lab.LabRun, s *scenario.Scenario, prof kernel.Profile, noAlign bool) (*ReplayResult, error) {
	res := &ReplayResult{Scenario: run.Scenario, Profile: prof.Name, Gap: ReplayGaps[run.Scenario]}
	for hi := range run.Hosts {
		rh := &run.Hosts[hi]
		if !rh.Observed {
			continue
		}
		if err := replayHost(run, s, prof, rh, noAlign, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// replayHost replays one observed host and compares its reads.
func replayHost(run *lab.LabRun, s *scenario.Scenario, prof kernel.Profile, rh *lab.RunHost, noAlign bool, res *ReplayResult) error {
	if len(rh.Devs) != 1 || len(rh.Devs[0].Addrs) == 0 {
		res.Skipped = append(res.Skipped, fmt.Sprintf("%s: replay models one interface with an address; the host has %d", rh.Name, len(rh.Devs)))
		return nil
	}
	dev := rh.Devs[0]
	pcap, frames, err := hostCapture(run, rh.Name)
	if err != nil {
		return err
	}
	var sc *scenario.Host
	for i := range s.Hosts {
		if s.Hosts[i].Name == rh.Name {
			sc = &s.Hosts[i]
		}
	}
	if sc == nil {
		res.Skipped = append(res.Skipped, fmt.Sprintf("%s: not a host of the scenario", rh.Name))
		return nil
	}
	opt := replay.Options{Host: fmt.Sprintf("%v@%v", dev.Addrs[0], dev.MAC), Profile: prof, HZ: run.HZ, Seed: 1, NoAlign: noAlign}
	for k, v := range sc.Sysctls {
		opt.Sysctls = append(opt.Sysctls, k+"="+v)
	}
	// Entries the host had before its first frame (the scenario's
	// neighbours, `ip neigh` commands before any traffic) are what a user
	// reads with `ip neigh` before starting the capture; later commands
	// are not in a capture, so the entries they touch may disagree.
	first := firstFrame(run, rh.Name)
	before := map[netip.Addr]string{}
	var order []netip.Addr
	for _, a := range run.Admin {
		c := a.Command
		if a.Host != rh.Name || !a.Parsed || a.Err != "" || a.BeforeNs >= first {
			continue
		}
		switch {
		case c.Op == neigh.AdminFlush:
			clear(before)
		case c.Op == neigh.AdminDel:
			delete(before, c.IP)
		case c.LLAddr != nil && (c.Op == neigh.AdminAdd || c.Op == neigh.AdminReplace):
			if !slices.Contains(order, c.IP) {
				order = append(order, c.IP)
			}
			before[c.IP] = fmt.Sprintf("%v=%v,%v,%dns", c.IP, *c.LLAddr, c.State, first-a.BeforeNs)
		}
	}
	for _, ip := range order {
		if e, ok := before[ip]; ok {
			opt.Initial = append(opt.Initial, e)
		}
	}
	var reads []*lab.RunSnapshot
	for i := range run.Snapshots {
		if sn := &run.Snapshots[i]; sn.Host == rh.Name && sn.Err == "" {
			reads = append(reads, sn)
			opt.ReadAt = append(opt.ReadAt, sn.BeforeNs)
		}
	}
	got := make([][]neigh.Snapshot, len(reads))
	opt.OnRead = func(i int, e []neigh.Snapshot) { got[i] = e }
	var rec trace.Recorder
	sum, err := replay.ReplayReader(bytes.NewReader(pcap), rh.Name+".pcap", opt, &rec)
	if errors.Is(err, replay.ErrNoFrames) {
		// A host that neither sent nor received a frame: no capture
		// clock to replay on. Its entries at every read are left out,
		// and counted.
		res.Skipped = append(res.Skipped, fmt.Sprintf("%s: %v (%d frames written)", rh.Name, err, frames))
		for _, sn := range reads {
			res.Unseen += len(sn.Entries)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify: replaying %s's capture: %w", rh.Name, err)
	}
	for _, e := range rec.Events {
		if e.Kind == trace.KindNote && e.Cause == "aligned" {
			a := ReplayAligned{Time: e.Time + run.Seconds(0), Host: rh.Name, IP: e.IP}
			fmt.Sscan(e.Attrs["frame"], &a.Frame)
			fmt.Sscan(e.Attrs["ticks"], &a.Ticks)
			res.Aligned = append(res.Aligned, a)
		}
	}
	window := int64(sum.ProbeTolerance * 1e9)
	unseen := adminDuringCapture(run, rh.Name, first)
	replayed := replayTransitions(rec.Events)
	for i, sn := range reads {
		kern := map[netip.Addr]string{}
		for _, n := range sn.Entries {
			kern[n.IP] = stateString(true, n.State.String(), n.State.Valid(), n.LLAddr)
		}
		rep := map[netip.Addr]string{}
		for _, e := range got[i] {
			rep[e.IP] = stateString(true, e.State.String(), e.State.Valid(), e.LLAddr)
		}
		for ip := range union(kern, rep) {
			if t, ok := unseen.since(ip); ok && sn.AfterNs >= t || sn.AfterNs < first {
				res.Unseen++
				continue
			}
			k, r := orNone(kern, ip), orNone(rep, ip)
			res.Reads++
			switch {
			case k == r:
				res.Agree++
			case nearTransition(run, rh, ip, sn, window) || nearAny(replayed[ip], sn, window):
				res.Boundary++
			default:
				res.Diffs = append(res.Diffs, ReplayDiff{Time: run.Seconds(sn.BeforeNs), Host: rh.Name, IP: ip.String(), Read: sn.Reason, Kernel: k, Replay: r})
			}
		}
	}
	return nil
}

// hostCapture is the capture a user would have taken on host: its frames
// of the run, group traffic left out (groupTraffic), as a pcap file; and
// how many frames it holds.
func hostCapture(run *lab.LabRun, host string) ([]byte, int, error) {
	var pcap bytes.Buffer
	w, err := capture.NewWriter(&pcap, capture.Ethernet, true)
	if err != nil {
		return nil, 0, err
	}
	frames := 0
	for i := range run.Frames {
		f := &run.Frames[i]
		if f.Host != host || groupTraffic(f) {
			continue
		}
		if err := w.WritePacket(f.AtNs, f.Data); err != nil {
			return nil, 0, err
		}
		frames++
	}
	return pcap.Bytes(), frames, nil
}

// adminTouched says which entries an `ip neigh` command changed after the
// capture began, and from when on they are out of a replay's reach (all:
// a flush).
type adminTouched struct {
	at  map[netip.Addr]int64
	all int64 // 0: no flush
}

func (a adminTouched) since(ip netip.Addr) (int64, bool) {
	t, ok := a.at[ip]
	if a.all != 0 && (!ok || a.all < t) {
		return a.all, true
	}
	return t, ok
}

func adminDuringCapture(run *lab.LabRun, host string, first int64) adminTouched {
	a := adminTouched{at: map[netip.Addr]int64{}}
	for _, c := range run.Admin {
		if c.Host != host || c.BeforeNs < first {
			continue
		}
		if c.Parsed && c.Command.Op == neigh.AdminFlush || !c.Parsed {
			if a.all == 0 {
				a.all = c.BeforeNs
			}
			continue
		}
		// replay infers entries the host uses as having existed before
		// the capture, so an entry an ip neigh command made or changed
		// during the capture cannot be followed at any read
		a.at[c.Command.IP] = first
	}
	return a
}

func firstFrame(run *lab.LabRun, host string) int64 {
	for i := range run.Frames {
		if f := &run.Frames[i]; f.Host == host && !groupTraffic(f) {
			return f.AtNs
		}
	}
	return run.EpochNs
}

// groupTraffic is an IPv6 frame to a multicast group that is not neighbour
// discovery: the MLD reports a host sends as its interfaces join groups,
// from the moment IPv6 comes up. They are left out of the replay mode's
// capture, as a user capturing ND and data would (`icmp6 and ip6[40] >=
// 133 and ip6[40] <= 137`): otherwise the capture would start before the
// scenario's own `ip neigh` set-up, making it unseen.
func groupTraffic(f *lab.RunFrame) bool {
	if _, _, ok := lab.FrameND(f.Data); ok {
		return false
	}
	dst, ok := lab.FrameIPDst(f.Data)
	return ok && dst.Is6() && dst.IsMulticast()
}

func union(a, b map[netip.Addr]string) map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func orNone(m map[netip.Addr]string, ip netip.Addr) string {
	if s, ok := m[ip]; ok {
		return s
	}
	return "no entry"
}

// replayTransitions are the capture times (ns) of the replay's state
// changes, per entry.
func replayTransitions(evs []trace.Event) map[netip.Addr][]int64 {
	out := map[netip.Addr][]int64{}
	for _, e := range evs {
		if e.Kind != trace.KindState {
			continue
		}
		if ip, err := netip.ParseAddr(e.IP); err == nil {
			out[ip] = append(out[ip], int64(e.Time*1e9))
		}
	}
	return out
}

// nearTransition reports a kernel change of ip's entry (a timer run, an
// update, a creation or removal) within window of the read.
func nearTransition(run *lab.LabRun, rh *lab.RunHost, ip netip.Addr, sn *lab.RunSnapshot, window int64) bool {
	ifname := rh.Devs[0].IfName
	for i := range run.Trace {
		e := &run.Trace[i]
		if e.IP != ip || e.Dev != ifname {
			continue
		}
		if e.TimestampNs >= sn.BeforeNs-window && e.TimestampNs <= sn.AfterNs+window {
			return true
		}
	}
	return false
}

func nearAny(ts []int64, sn *lab.RunSnapshot, window int64) bool {
	for _, t := range ts {
		if t >= sn.BeforeNs-window && t <= sn.AfterNs+window {
			return true
		}
	}
	return false
}

// WriteText prints a replay-mode result.
func (r *ReplayResult) WriteText(w io.Writer) {
	gap := ""
	if !r.OK() && r.Gap != "" {
		gap = " — a known gap: " + r.Gap
	}
	fmt.Fprintf(w, "replay %-30s %s%s\n", r.Scenario, r, gap)
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped: %s\n", s)
	}
	for _, a := range r.Aligned {
		fmt.Fprintf(w, "  aligned: %.4fs %s %s: a timer ran %d ticks before the replay had placed it (the host's probe, frame %d)\n", a.Time, a.Host, a.IP, a.Ticks, a.Frame)
	}
	for _, d := range r.Diffs {
		fmt.Fprintf(w, "  %.4fs %s %s at %s: kernel %s, replay %s\n", d.Time, d.Host, d.IP, d.Read, d.Kernel, d.Replay)
	}
}
