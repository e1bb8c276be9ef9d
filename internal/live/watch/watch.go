// Package watch observes a live ARP cache and explains each change.
//
// Three sources are joined (field notes §C.5, §G, §H.3):
//
//   - netlink neighbour notifications (RTM_NEWNEIGH/RTM_DELNEIGH): the
//     effective changes, and nothing else — the kernel says nothing when it
//     ignores an update;
//   - an AF_PACKET socket receiving every ARP frame on the watched
//     interfaces with its packet type (host, broadcast, multicast, outgoing),
//     which decides REACHABLE versus STALE (spec §4.4);
//   - optionally the neigh:neigh_update tracepoint (tracefs), which shows
//     every update attempt, so ignored ones can be reported with a reason.
//
// Each state change is attributed to a probable cause: an ARP frame from the
// same address seen up to Window (50 ms) before it, a probe this host sent,
// or else the timer transition it looks like. The kernel does not notify
// every transition (STALE → DELAY on output is silent), so a watcher sees
// STALE → PROBE where the model has two steps. Each received frame gets a
// verdict (honoured, created, ignored, dropped). Events are emitted in the
// trace vocabulary (arplab/internal/trace) with Source "watch", in time
// order, about a quarter of a second after they happen: decisions need to
// see a little of what followed. A frame also waits until the netlink
// socket has been read past it (a barrier, see subscription), so a reader
// running late on a loaded machine cannot cost it its verdict.
//
// Sections cited as §n are those of the behavioural reference,
// ../shared/spec/linux-neighbour.md (beside the repository);
// "ndisc §n" cites ../shared/spec/linux-ndisc.md.
package watch

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"arplab/internal/trace"
	"arplab/internal/wire/arp"
	"arplab/internal/wire/ether"
	"arplab/internal/wire/ndisc"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// Netns is the named network namespace to watch ("" = the caller's).
	Netns string
	// Interfaces limits the watch to these interfaces; empty means every
	// non-loopback interface present when Watch starts.
	Interfaces []string
	// Trace also reads the neigh:neigh_update tracepoint, to report
	// updates the kernel ignored and why. It needs tracefs (mounted if
	// necessary) and root. Tracepoints carry the device name but not the
	// namespace, so a same-named device in another namespace would mix in.
	Trace bool
	// Window is how far back a frame may be to explain a state change
	// (default 50 ms).
	Window time.Duration
	// NetlinkBuffer is the netlink socket's receive buffer in bytes
	// (0 = the kernel default). A burst larger than the buffer overruns
	// it; Watch then re-reads the table and says so.
	NetlinkBuffer int
	// TraceBestEffort makes the tracepoint optional: when it cannot be
	// opened (no tracefs, no neigh_update, no permission) or fails later,
	// Watch says so (a note, Observer.Health) and goes on without it
	// instead of returning an error. A service wants this; a person who
	// asked for --trace wants the error.
	TraceBestEffort bool
	// Observer, if set, receives every decision as typed values (for the
	// metrics exporter); nil means none.
	Observer Observer
}

const (
	defaultWindow = 50 * time.Millisecond
	// hold is how long an observation waits before it is decided and
	// emitted: long enough for the netlink notification, the frame and
	// the tracepoint of one update to all have arrived.
	hold = 250 * time.Millisecond
	// keep is how long observations stay in the history for lookups.
	keep = 2 * time.Second
	// probeMemory is how long a probe we sent makes a unicast reply from
	// its target a "probe-reply" (ucast_solicit × retrans_time, defaults).
	probeMemory = 3 * time.Second
	// drainMargin is how long after a frame's kernel stamp the
	// notification of the change it causes may be queued: the same softirq
	// taps the frame and updates the entry, microseconds apart.
	drainMargin = 5 * time.Millisecond
	// drainWait is how long a frame waits for the netlink socket to be
	// drained past it (a barrier) before it is judged anyway.
	drainWait = time.Second
	// probeWait is how long a unicast probe may go unanswered before the
	// MAC it went to counts as dead (retrans_time's default, spec §8.1).
	probeWait = time.Second
)

// frameObs is an ARP frame seen on the AF_PACKET socket, or an ND one
// (nd set, pkt zero).
type frameObs struct {
	dev     string
	pktType ether.PktType // sll_pkttype
	ethDst  arp.MAC
	pkt     arp.Packet
	// nd is an IPv6 neighbour discovery message (nil for ARP) and ethSrc
	// its Ethernet source, the MAC of an NA without a target option.
	nd     *ndisc.Message
	ethSrc arp.MAC
}

// neighObs is a netlink notification, or a difference found by a re-read.
type neighObs struct {
	dev     string
	ip      netip.Addr
	lladdr  string // "" when the entry has none
	state   string // ip-neigh spelling; "NONE" when deleted
	deleted bool
	resync  bool
	// after is a moment the kernel queued the notification after (the
	// send time of the last netlink barrier read before it; zero when
	// unknown). The notification is stamped when read, which on a loaded
	// machine can be long after the change; after bounds how long.
	after time.Time
}

// obs is one timestamped input to the correlator.
type obs struct {
	at    time.Time
	seq   int // arrival order, to keep equal times stable
	num   int // a frame's 1-based number in arrival order (Event.Frame)
	frame *frameObs
	neigh *neighObs
	tp    *tracepoint
	note  string
	// lost is the number of tracepoint events a ring-buffer overrun
	// dropped (with note).
	lost int
	// table is the re-read neighbour table that follows a netlink
	// overrun (with note): differences from what was known are emitted
	// as changes with cause "resync".
	table []neighObs
}

type key struct {
	dev string
	ip  netip.Addr
}

type entry struct{ lladdr, state string }

// correlator decides and orders events. It is fed by one goroutine and does
// no I/O, so tests drive it with synthetic observations and times.
type correlator struct {
	epoch  time.Time
	window time.Duration
	host   string
	out    func(trace.Event) // nil: only the observer hears (no events are built)

	history []*obs // sorted by (at, seq); pruned after keep
	// changes is the netlink and tracepoint part of history, which a
	// frame's verdict looks up: on a busy segment frames outnumber them
	// a hundred to one.
	changes []*obs
	next    int // index in history of the first observation not yet emitted
	seq     int
	frames  int // frames added so far (for Event.Frame)
	mirror  map[key]entry

	// ob receives typed decisions (never nil).
	ob Observer
	// dropGARP says, per device, whether drop_gratuitous_arp is in force
	// (all OR dev, spec §4.2 step 6); the Linux loop keeps it current.
	dropGARP map[string]bool
	// dead holds the entries believed to point at a gone MAC, pending the
	// unicast probes not yet answered (the "dead MAC" logic, see
	// DeadReason).
	dead    map[key]deadEntry
	pending map[key]pendingProbe

	// drained is the send time of the last netlink barrier read: every
	// notification queued before it has been added. When gated (the
	// loop sends barriers), a frame is judged only when drained has
	// passed it (or after drainWait), so a late netlink reader cannot
	// make the change it caused miss its verdict.
	drained time.Time
	gated   bool
}

// drainedTo records that every netlink notification queued before t has
// been added.
func (c *correlator) drainedTo(t time.Time) {
	if t.After(c.drained) {
		c.drained = t
	}
}

// waitsForNetlink reports whether frame o must wait for the netlink socket
// to be drained past it before it is judged.
func (c *correlator) waitsForNetlink(o *obs, now time.Time) bool {
	return c.gated && o.frame != nil && o.frame.pktType != ether.PktOutgoing &&
		o.at.Add(drainMargin).After(c.drained) && o.at.After(now.Add(-drainWait))
}

type deadEntry struct {
	mac    string
	reason DeadReason
	since  time.Time
}

type pendingProbe struct {
	mac arp.MAC
	at  time.Time
}

func newCorrelator(epoch time.Time, window time.Duration, host string, out func(trace.Event)) *correlator {
	if window <= 0 {
		window = defaultWindow
	}
	return &correlator{epoch: epoch, window: window, host: host, out: out,
		mirror: map[key]entry{}, ob: nopObserver{},
		dropGARP: map[string]bool{}, dead: map[key]deadEntry{}, pending: map[key]pendingProbe{}}
}

// seed sets the table as it was when watching began, without trace events
// (the observer is told, with Seed set, so its gauges start right).
func (c *correlator) seed(entries []neighObs) {
	for _, n := range entries {
		c.mirror[key{n.dev, n.ip}] = entry{n.lladdr, n.state}
		c.ob.Entry(EntryChange{At: c.epoch, Dev: n.dev, IP: n.ip, From: StateNone, To: parseState(n.state), Seed: true})
	}
}

// add records an observation; it is emitted by a later flush.
func (c *correlator) add(o *obs) {
	c.seq++
	o.seq = c.seq
	if o.frame != nil {
		// Frames are numbered as they arrive: one socket delivers them
		// in order.
		c.frames++
		o.num = c.frames
	}
	i := insertAt(c.history, o)
	if i < c.next {
		// Older than something already emitted (a very late tracepoint):
		// emit it next rather than rewrite the past.
		i = c.next
	}
	c.history = slices.Insert(c.history, i, o)
	if o.neigh != nil || o.tp != nil {
		c.changes = slices.Insert(c.changes, insertAt(c.changes, o), o)
	}
}

// insertAt is where o, the newest arrival, goes in hs (ordered by
// byTimeSeq). Nearly every observation is the latest yet, so the end is
// tried first: at 10,000 frames/s the binary search over a history of
// tens of thousands was a tenth of the watcher's CPU.
func insertAt(hs []*obs, o *obs) int {
	if n := len(hs); n == 0 || byTimeSeq(hs[n-1], o) < 0 {
		return n
	}
	i, _ := slices.BinarySearchFunc(hs, o, byTimeSeq)
	return i
}

// byTimeSeq orders observations by time, then arrival.
func byTimeSeq(a, b *obs) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return a.seq - b.seq
}

// since returns the index of the first observation in the history at or
// after t: the lookups scan a window around one moment, not the whole
// history (2 s of a busy segment is tens of thousands of frames).
func (c *correlator) since(t time.Time) int { return since(c.history, t) }

func since(hs []*obs, t time.Time) int {
	i, _ := slices.BinarySearchFunc(hs, t, func(h *obs, t time.Time) int {
		if h.at.Before(t) {
			return -1
		}
		return 1
	})
	return i
}

// flush emits every observation older than now-hold (all of them when
// final), in time order, then forgets what is older than keep.
func (c *correlator) flush(now time.Time, final bool) {
	for c.next < len(c.history) {
		o := c.history[c.next]
		if !final && (o.at.After(now.Add(-hold)) || c.waitsForNetlink(o, now)) {
			break
		}
		c.next++
		c.expireProbes(o.at)
		c.emit(o)
	}
	if final {
		c.expireProbes(now)
	} else {
		c.expireProbes(now.Add(-hold))
	}
	drop := 0
	for drop < c.next && c.history[drop].at.Before(now.Add(-keep)) {
		drop++
	}
	c.history = c.history[drop:]
	if len(c.history) == 0 {
		c.changes = c.changes[:0]
	} else {
		c.changes = c.changes[since(c.changes, c.history[0].at):]
	}
	c.next -= drop
}

func (c *correlator) emit(o *obs) {
	switch {
	case o.frame != nil:
		c.emitFrame(o)
	case o.neigh != nil:
		c.emitNeigh(o)
	case o.tp != nil:
		c.emitTracepoint(o)
	default:
		if c.out != nil {
			c.out(c.event(o.at, trace.KindNote, "", netip.Addr{}, o.note))
		}
		if o.table != nil {
			c.resync(o)
		}
	}
}

// resync emits the differences between the re-read table and the mirror:
// entries that changed or appeared, then entries that disappeared.
func (c *correlator) resync(o *obs) {
	seen := map[key]bool{}
	for i := range o.table {
		n := o.table[i]
		n.resync = true
		seen[key{n.dev, n.ip}] = true
		c.emitNeigh(&obs{at: o.at, neigh: &n})
	}
	var gone []key
	for k := range c.mirror {
		if !seen[k] {
			gone = append(gone, k)
		}
	}
	slices.SortFunc(gone, func(a, b key) int {
		if a.dev != b.dev {
			return strings.Compare(a.dev, b.dev)
		}
		return a.ip.Compare(b.ip)
	})
	for _, k := range gone {
		c.emitNeigh(&obs{at: o.at, neigh: &neighObs{dev: k.dev, ip: k.ip, lladdr: c.mirror[k].lladdr, state: "NONE", deleted: true, resync: true}})
	}
}

func (c *correlator) event(at time.Time, kind trace.Kind, dev string, ip netip.Addr, expl string) trace.Event {
	ev := trace.Event{Time: at.Sub(c.epoch).Seconds(), Kind: kind, Source: "watch", Host: c.host, Dev: dev,
		Explanation: expl}
	if ip.IsValid() {
		ev.IP = ip.String()
	}
	return ev
}

// class names a frame's shape, as Event.Cause.
func (c *correlator) class(o *obs) string {
	if o.frame.nd != nil {
		return ndClass(o.frame.nd)
	}
	if s := c.shape(o); s != ShapeOther {
		return s.String()
	}
	return fmt.Sprintf("op-%d", uint16(o.frame.pkt.Op))
}

// shape classifies a frame (§4.4: what the kernel may treat as a GARP).
func (c *correlator) shape(o *obs) Shape {
	f := o.frame
	p := f.pkt
	switch {
	case p.Op == arp.OpRequest && p.SIP == p.TIP:
		return ShapeGARPRequest
	case p.Op == arp.OpReply && p.SIP == p.TIP && p.THA == p.SHA:
		return ShapeGARPReply
	case p.Op == arp.OpReply && p.SIP == p.TIP:
		return ShapeUnsolicitedReply // MetalLB/Cilium shape: not a GARP to Linux
	case p.Op == arp.OpReply && f.pktType == ether.PktHost && c.probed(o, f.dev, p.SIP):
		return ShapeProbeReply
	case p.Op == arp.OpReply:
		return ShapeReply
	case p.Op == arp.OpRequest:
		return ShapeRequest
	}
	return ShapeOther
}

// probed reports whether this host sent a request for ip on dev shortly
// before o.
func (c *correlator) probed(o *obs, dev string, ip netip.Addr) bool {
	for _, h := range c.history[c.since(o.at.Add(-probeMemory)):] {
		if h.at.After(o.at) {
			break
		}
		if f := h.frame; f != nil && f.pktType == ether.PktOutgoing && f.dev == dev && f.pkt.Op == arp.OpRequest &&
			f.pkt.TIP == ip && o.at.Sub(h.at) <= probeMemory {
			return true
		}
	}
	return false
}

func arpFrame(f *frameObs) *trace.ARPFrame {
	return trace.ARPFields(&f.pkt, f.ethDst, true, f.pktType.String())
}

// causedBy returns the received frame that explains change n read at time
// at: the latest one from n.ip on n.dev carrying the entry's new lladdr,
// within the window before the change was queued. That moment lies
// between n.after (when known) and at: a notification read late is still
// matched with the frame that caused it.
func (c *correlator) causedBy(at time.Time, n *neighObs) *obs {
	var best *obs
	mac, err := arp.ParseMAC(n.lladdr)
	anyMAC := n.lladdr == "" || err != nil
	from := at
	if !n.after.IsZero() && n.after.Before(at) {
		from = n.after
	}
	lo, hi := c.since(from.Add(-c.window)), c.since(at.Add(1))
	for _, h := range c.history[lo:hi] {
		f := h.frame
		if f == nil || f.pktType == ether.PktOutgoing || f.dev != n.dev {
			continue
		}
		ip, fmac, ok := announce(f)
		if !ok || ip != n.ip || (!anyMAC && fmac != mac) {
			continue
		}
		best = h
	}
	return best
}

// after returns the first state change of k the frame o caused (read
// within the window after it, or later when its notification was read
// late, see causedBy), and the first tracepoint about it within the window.
func (c *correlator) after(o *obs, k key) (change, tp *obs) {
	lo := since(c.changes, o.at.Add(-5*time.Millisecond))
	end := o.at.Add(c.window + 1)
	for _, h := range c.changes[lo:] {
		if n := h.neigh; n != nil && !h.at.Before(end) && (n.after.IsZero() || !n.after.Before(end)) {
			// read after the window and not known to be queued in it:
			// nor is any later one (the barriers only advance)
			break
		}
		if n := h.neigh; n != nil && change == nil && !n.resync && (key{n.dev, n.ip}) == k && !h.at.Before(o.at) &&
			(h.at.Before(end) || (!n.after.IsZero() && n.after.Before(end))) {
			if c.causedBy(h.at, n) == o {
				change = h
			}
		}
		if t := h.tp; t != nil && tp == nil && (key{t.dev, t.ip}) == k && t.newLLAddr == o.frame.pkt.SHA.String() &&
			h.at.Before(end) {
			tp = h
		}
	}
	return change, tp
}

func (c *correlator) emitFrame(o *obs) {
	f := o.frame
	if f.nd != nil {
		c.emitND(o)
		return
	}
	p := f.pkt
	shape := c.shape(o)
	if f.pktType == ether.PktOutgoing {
		c.emitSent(o, shape)
		return
	}
	k := key{f.dev, p.SIP}
	fv := FrameVerdict{At: o.at, Dev: f.dev, IP: p.SIP, MAC: p.SHA, Shape: shape}
	var x frameFacts
	if f.pktType == ether.PktOtherHost {
		fv.Verdict, fv.Rule = VerdictDropped, RuleOtherHost
	} else {
		c.answered(k, p.SHA, o.at)
		x.before, x.had = c.mirror[k]
		x.change, x.tp = c.after(o, k)
		fv.Verdict, fv.Rule = c.judge(o, shape, x)
	}
	if c.out != nil {
		c.out(c.frameEvent(o, shape, fv, x))
	}
	c.ob.Frame(fv)
	if shape.Announcement() && x.had && (fv.Verdict == VerdictIgnored || fv.Verdict == VerdictDropped) &&
		x.before.lladdr != "" && valid(x.before.state) && !x.sameMAC(p.SHA) {
		c.markDead(k, x.before.lladdr, DeadSuperseded, o.at, o.at)
	}
}

// frameFacts is what a received frame's verdict is decided from, kept for
// the sentence that explains it.
type frameFacts struct {
	before entry // the entry when the frame arrived
	had    bool
	change *obs // the netlink change the frame caused, if any
	tp     *obs // the tracepoint about it, if any
}

// sameMAC reports whether the entry already had mac.
func (x frameFacts) sameMAC(mac arp.MAC) bool {
	m, err := arp.ParseMAC(x.before.lladdr)
	return x.had && err == nil && m == mac
}

// judge decides a received frame's verdict and the rule behind it (§4.1,
// §4.2, §4.4, §5), from what followed it: a netlink change, the
// tracepoint's update, or neither.
func (c *correlator) judge(o *obs, shape Shape, x frameFacts) (Verdict, Rule) {
	p := o.frame.pkt
	// the rule that keeps a different MAC out: an announcement the
	// kernel did not take as a GARP, or else locktime
	ignoredRule := RuleLocktime
	if shape.Announcement() {
		ignoredRule = RuleNotGratuitous
	}
	switch {
	case x.change != nil && !x.had:
		return VerdictCreated, RuleNone
	case x.change != nil:
		return VerdictHonoured, RuleNone
	case x.tp != nil:
		if ign, _ := x.tp.tp.ignored(); ign {
			if r := tracepointRule(x.tp.tp); r == RulePermanent {
				return VerdictIgnored, r
			}
			return VerdictIgnored, ignoredRule
		}
		if x.sameMAC(p.SHA) {
			return VerdictNoOp, RuleNone
		}
		return VerdictHonoured, RuleNone
	case p.SIP == p.TIP && c.dropGARP[o.frame.dev]:
		return VerdictDropped, RuleDropGratuitousARP
	case !x.had:
		return VerdictDropped, RuleARPAccept
	case x.sameMAC(p.SHA):
		return VerdictNoOp, RuleNone
	}
	return VerdictIgnored, ignoredRule
}

// frameEvent is the trace event of a received frame judged fv.
func (c *correlator) frameEvent(o *obs, shape Shape, fv FrameVerdict, x frameFacts) trace.Event {
	f := o.frame
	p := f.pkt
	cls := shape.String()
	if shape == ShapeOther {
		cls = c.class(o)
	}
	before := x.before
	ev := c.event(o.at, trace.KindARP, f.dev, p.SIP, "")
	ev.Cause, ev.ARP, ev.Frame, ev.Rule = cls, arpFrame(f), o.num, "§4.4"
	if x.had {
		ev.LLAddr, ev.State = before.lladdr, before.state
	}
	switch {
	case fv.Rule == RuleOtherHost:
		ev.Verdict, ev.Rule = trace.Dropped, "§4.1"
		ev.Explanation = fmt.Sprintf("addressed to %v, not to this host: arp_rcv drops PACKET_OTHERHOST frames", f.ethDst)
	case x.change != nil:
		n := x.change.neigh
		ev.LLAddr, ev.State = n.lladdr, n.state
		ev.Verdict = trace.Honoured
		if fv.Verdict == VerdictCreated {
			ev.Verdict = trace.Created
		}
		ev.Explanation = fmt.Sprintf("%s; netlink reported the change %.1f ms later",
			transition(before, x.had, n), float64(x.change.at.Sub(o.at))/1e6)
	case x.tp != nil:
		t := x.tp.tp
		ev.Updated, ev.Confirmed = trace.U64(t.updated), trace.U64(t.confirmed)
		if ign, why := t.ignored(); ign {
			ev.Verdict, ev.Explanation = trace.Ignored, "ignored: "+why
		} else {
			ev.Verdict = trace.Honoured
			ev.Explanation = fmt.Sprintf("accepted without a visible change (update_flags %02x, %s → %s)", t.flags, t.state, t.newState)
		}
	case fv.Rule == RuleDropGratuitousARP:
		ev.Verdict, ev.Rule = trace.Dropped, "§4.2"
		ev.Explanation = fmt.Sprintf("drop_gratuitous_arp is on for %s: arp_process drops frames with sip == tip before the table", f.dev)
	case !x.had:
		ev.Verdict = trace.Dropped
		ev.Explanation = fmt.Sprintf("no entry for %v and none created (arp_accept off, or the frame was dropped)", p.SIP)
	case fv.Verdict == VerdictNoOp:
		ev.Verdict = trace.Honoured
		ev.Explanation = fmt.Sprintf("the entry already had lladdr %s (%s): nothing to change", before.lladdr, before.state)
	default:
		ev.Verdict = trace.Ignored
		ev.Explanation = fmt.Sprintf("the entry kept lladdr %s (%s): inside locktime and not a GARP to this kernel, "+
			"or dropped (drop_gratuitous_arp, arp_ignore); watch with Trace for the kernel's reason", before.lladdr, before.state)
	}
	return ev
}

// emitSent reports a frame this host sent: a probe (to the observer too,
// and remembered, for the dead-MAC logic) or another frame.
func (c *correlator) emitSent(o *obs, shape Shape) {
	f := o.frame
	p := f.pkt
	if p.Op == arp.OpRequest && p.SIP != p.TIP {
		if c.out != nil {
			ev := c.event(o.at, trace.KindProbe, f.dev, p.TIP, fmt.Sprintf("this host asked who has %v (eth dst %v)", p.TIP, f.ethDst))
			ev.Cause, ev.ARP, ev.Frame = "probe", arpFrame(f), o.num
			c.out(ev)
		}
		unicast := f.ethDst != arp.Broadcast
		c.ob.Probe(f.dev, unicast)
		if unicast {
			k := key{f.dev, p.TIP}
			if _, waiting := c.pending[k]; !waiting {
				c.pending[k] = pendingProbe{mac: f.ethDst, at: o.at}
			}
		}
		return
	}
	if c.out != nil {
		cls := shape.String()
		if shape == ShapeOther {
			cls = c.class(o)
		}
		ev := c.event(o.at, trace.KindSend, f.dev, p.SIP, fmt.Sprintf("this host sent a %s", cls))
		ev.Cause, ev.ARP, ev.Frame = cls, arpFrame(f), o.num
		c.out(ev)
	}
}
