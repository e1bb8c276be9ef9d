package neigh

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"

	"arplab/internal/addrmap"
	"arplab/internal/kernel"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// Device is one interface of the modelled host: its link address, its IPv4
// addresses, and its own parameter set (all timing parameters are per
// device, spec §1.1).
type Device struct {
	Name  string
	Index int
	MAC   arp.MAC
	Addrs []netip.Prefix
	// Params is the device's neigh/<dev>/ parameter set.
	Params Params
	// Conf is the device's conf/<dev>/ settings.
	Conf Conf
	// Conf6 is the device's net/ipv6/conf/<dev>/ settings; only a
	// device of an IPv6 table (nd_tbl) reads it (ndisc §8.2).
	Conf6 Conf6
	// ReachableTime is the randomised reachable_time of this parameter set
	// (spec §2.4). It is drawn when the device is added and redrawn by the
	// periodic work; a lab can overwrite it with what `ip ntable` shows.
	ReachableTime vtime.Ticks
}

// IsLocal reports whether ip is one of the device's addresses.
func (d *Device) IsLocal(ip netip.Addr) bool {
	for _, p := range d.Addrs {
		if p.Addr() == ip {
			return true
		}
	}
	return false
}

// onLink reports whether ip is inside a subnet configured on the device
// (the arp_accept=2 test, spec §4.4(d)).
func (d *Device) onLink(ip netip.Addr) bool {
	for _, p := range d.Addrs {
		if p.Masked().Contains(ip) {
			return true
		}
	}
	return false
}

// IsBroadcast reports whether ip is the limited broadcast or a directed
// broadcast of one of the device's subnets. It compares 32-bit words
// (word4) rather than building and comparing netip.Addr values: replay
// asks it for every packet the host sends, and the receive path for
// every sender (senderUnicast).
func (d *Device) IsBroadcast(ip netip.Addr) bool {
	w, ok := word4(ip)
	if !ok {
		return false // only an IPv4 address is a broadcast
	}
	if w == 0xffffffff {
		return true
	}
	for _, p := range d.Addrs {
		bits := p.Bits()
		if bits >= 31 {
			continue
		}
		// the address with every host bit set: masking first changes
		// nothing (p.Masked() costs a validity check per packet sent)
		if w == addrWord(p.Addr())|(uint32(1)<<(32-bits)-1) {
			return true
		}
	}
	return false
}

// word4 is ip as a big-endian word, when ip is an IPv4 address.
func word4(ip netip.Addr) (uint32, bool) {
	if !ip.Is4() {
		return 0, false
	}
	return addrWord(ip), true
}

// addrWord is the last four bytes of ip as a big-endian word: an IPv4
// (or IPv4-mapped) address's. It reads them from As16, which unlike As4
// has no panic path, so that it inlines.
func addrWord(ip netip.Addr) uint32 {
	b := ip.As16()
	return binary.BigEndian.Uint32(b[12:])
}

// sourceFor picks the source address of our own requests to target: an
// address in the target's subnet if there is one (arp_announce, spec §8.2).
func (d *Device) sourceFor(target netip.Addr) netip.Addr {
	for _, p := range d.Addrs {
		if p.Masked().Contains(target) {
			return p.Addr()
		}
	}
	if len(d.Addrs) > 0 {
		return d.Addrs[0].Addr()
	}
	return netip.Addr{}
}

// Entry is one neighbour: the kernel's struct neighbour, reduced to what
// decides behaviour.
type Entry struct {
	dev   *Device
	ip    netip.Addr
	state State
	ha    arp.MAC
	// updated, confirmed and used are the three stamps of spec §1.2.
	updated, confirmed, used vtime.Jiffies
	probes                   int
	// router is NTF_ROUTER (IPv6: an NA's R flag, an RA; ndisc §5.3).
	router bool
	// hh is the cached hardware header: filled by the first slow-path
	// transmission, it enables the fast path in CONNECTED states (§3).
	hh bool
	// timer: expires is what the kernel asked for, fire is when the timer
	// wheel runs it; idx is the position in the table's heap (-1: unarmed).
	expires, fire vtime.Jiffies
	idx           int
	timerSeq      uint64
	queue         []Queued
	queueBytes    int
	created       uint64 // creation order, for the 5.0+ gc_list
}

// Queued is a packet waiting in an INCOMPLETE entry's arp_queue.
type Queued struct {
	ID   uint64
	Size int
}

// truesize approximates skb->truesize for a queued packet, so that the
// default 64 KiB unres_qlen_bytes holds ≈31 full-size frames on 3.10
// (spec §8.1, a derived figure, docs/divergences.md).
func truesize(size int) int { return size + 600 }

// Snapshot is an entry as `ip neigh` and the stamps show it.
type Snapshot struct {
	Dev       string
	IP        netip.Addr
	State     State
	LLAddr    arp.MAC
	HasLLAddr bool
	Updated   vtime.Jiffies
	Confirmed vtime.Jiffies
	Used      vtime.Jiffies
	Probes    int
	Queued    int
	// Router is NTF_ROUTER (`ip -6 neigh` prints "router").
	Router bool
	// Timer is the tick the entry's timer runs next (when HasTimer): the
	// expiry as the timer wheel rounds it.
	Timer    vtime.Jiffies
	HasTimer bool
}

func (e *Entry) snapshot() Snapshot {
	return Snapshot{Dev: e.dev.Name, IP: e.ip, State: e.state, LLAddr: e.ha, HasLLAddr: e.state.Valid(),
		Updated: e.updated, Confirmed: e.confirmed, Used: e.used, Probes: e.probes, Queued: len(e.queue), Router: e.router,
		Timer: e.fire, HasTimer: e.idx >= 0}
}

// Config builds a Table.
type Config struct {
	// Profile is the kernel whose behaviour the table follows.
	Profile kernel.Profile
	// HZ is the host's tick rate (0: the profile's).
	HZ int
	// Rand draws reachable_time; the caller owns it so runs are repeatable.
	Rand *rand.Rand
	// Now is the jiffies value at which the table is created.
	Now vtime.Jiffies
	// PeriodicPhase delays the first periodic work (neigh_periodic_work)
	// by this many ticks after Now instead of a full reachable_time,
	// modelling a table that was created long before the run started.
	PeriodicPhase vtime.Ticks
	// WheelLatest places every timer of the 4.8+ wheel at the latest tick
	// the wheel could run it (spec §12.2), for a driver that does not know
	// where the host's jiffies counter stands (replay): the real timer then
	// never runs after the model's, and the host's own transmissions can
	// pull the model's timer earlier (Table.RunTimerAt).
	WheelLatest bool
	// Family chooses the table: IPv4 (arp_tbl, the default) or IPv6
	// (nd_tbl, ndisc §0.3): a second instance of the same core with
	// 16-byte keys, its own devices' parameters and its own timers.
	Family Family
}

// Family is the address family of a table.
type Family uint8

// Families.
const (
	IPv4 Family = iota // arp_tbl
	IPv6               // nd_tbl (../shared/spec/linux-ndisc.md)
)

func (f Family) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// Table is the IPv4 neighbour table of one host (arp_tbl) with its devices.
// It is sans-IO: every method takes `now` in the host's jiffies, changes
// the table and reports what happened in a Result; NextDeadline says when
// to call Tick next. It is not safe for concurrent use.
type Table struct {
	Profile string
	F       kernel.Features
	HZ      int

	// All is conf/all, combined with each device's conf (spec §8.2).
	All Conf
	// DefaultConf is conf/default: only the template of devices added
	// later, never combined with a device's value.
	DefaultConf Conf
	// Default is neigh/default; GC thresholds live only there.
	Default                         Params
	GCThresh1, GCThresh2, GCThresh3 int

	// Family is IPv4 (arp_tbl) or IPv6 (nd_tbl).
	Family Family
	// QuietConfirm leaves a confirmation's decision out of the result
	// (the confirmation itself still happens): it changes only
	// `confirmed`, and a driver that needs no such decisions (the
	// simulator's verdict-only runs) is spared building one for nearly
	// every packet of a busy session.
	QuietConfirm bool
	// All6 is net/ipv6/conf/all (nd_tbl only).
	All6 Conf6
	// DefaultConf6 is net/ipv6/conf/default: the template of new devices.
	DefaultConf6 Conf6

	rng         *rand.Rand
	wheelLatest bool
	devs        []*Device
	// entries holds IPv4 keys (device index and address in one word, the
	// hot path: every received frame and every packet sent looks one up)
	// in an open-addressing table, about a third of a Go map's cost a
	// lookup (addrmap.Words says why); entries6 holds IPv6 keys and
	// exists only in nd_tbl.
	entries  addrmap.Words[*Entry]
	entries6 map[key6]*Entry
	// recent caches get's IPv4 answers by the key's low bits: a host
	// sends to the same few neighbours again and again (a simulated
	// session's requests, a replayed flow), and a driver often asks
	// for the entry (Lookup) just before it sends through it (Output);
	// a slot is one comparison, where even Words hashes and probes.
	// put and del keep it true.
	recent   [8]recentEntry
	nEntries int // all entries
	nGC      int // entries counted by 5.0+ forced GC (non-permanent)
	timers   timerHeap
	seq      uint64

	// replySeq numbers the NA replies nd_tbl sends through an entry;
	// replies holds those queued while the entry resolves (ndisc §3).
	replySeq uint64
	replies  map[uint64]Action

	// cur is the tick of the input being handled; actions carry it.
	cur vtime.Jiffies

	lastFlush  vtime.Jiffies
	lastRand   vtime.Jiffies
	periodicAt vtime.Jiffies
	res        Result
	// Stats counts what happened, by reason, for reports and tests.
	Stats Stats
}

// Stats are the table's counters.
type Stats struct {
	ARPReceived, ARPDropped, Honoured, Ignored, Created int
	NDReceived, NDDropped, NDNoSource                   int
	ProbesSent, UnicastProbes, BroadcastProbes          int
	QueueDiscards, ForcedGC, PeriodicGCRemoved, Failed  int
	TableFull                                           int
}

// NewTable returns an empty table following cfg.Profile.
func NewTable(cfg Config) (*Table, error) {
	hz := cfg.HZ
	if hz == 0 {
		hz = cfg.Profile.HZ
	}
	if err := vtime.ValidHZ(hz); err != nil {
		return nil, err
	}
	if cfg.Rand == nil {
		return nil, fmt.Errorf("neigh: a random stream is required (reachable_time)")
	}
	t := &Table{
		Family:       cfg.Family,
		All6:         DefaultConf6(),
		DefaultConf6: DefaultConf6(),
		Profile:      cfg.Profile.Name,
		F:            cfg.Profile.Features(),
		HZ:           hz,
		All:          DefaultConf(),
		DefaultConf:  DefaultConf(),
		Default:      DefaultParams(hz, cfg.Profile.UnresQlenBytes),
		GCThresh1:    128, GCThresh2: 512, GCThresh3: 1024,
		rng:         cfg.Rand,
		wheelLatest: cfg.WheelLatest,
	}
	if cfg.Family == IPv6 {
		t.entries6 = map[key6]*Entry{}
		// nd_tbl never initialises locktime: it reads 0 and no IPv6 code
		// reads it (ndisc §2.1, §5.5).
		t.Default.Locktime = 0
	}
	now := cfg.Now
	t.lastFlush = now
	rt := t.randReachable(t.Default.BaseReachableTime)
	// last_rand starts 20 reachable_times ahead (spec §2.4).
	t.lastRand = now + vtime.Jiffies(20*rt)
	first := rt
	if cfg.PeriodicPhase > 0 {
		first = cfg.PeriodicPhase
	}
	t.periodicAt = now + vtime.Jiffies(first)
	t.res.Decisions = make([]Decision, 0, 8)
	t.res.Actions = make([]Action, 0, 8)
	return t, nil
}

// AddDevice adds an interface with default parameters and draws its
// reachable_time (spec §2.4: drawn when the parms are allocated).
func (t *Table) AddDevice(name string, mac arp.MAC, addrs []netip.Prefix) *Device {
	d := &Device{Name: name, Index: len(t.devs) + 1, MAC: mac, Addrs: addrs, Params: t.Default, Conf: t.DefaultConf, Conf6: t.DefaultConf6}
	d.ReachableTime = t.randReachable(d.Params.BaseReachableTime)
	t.devs = append(t.devs, d)
	return d
}

// Device returns the device named name.
func (t *Table) Device(name string) (*Device, bool) {
	for _, d := range t.devs {
		if d.Name == name {
			return d, true
		}
	}
	return nil, false
}

// Devices returns the table's devices in creation order.
func (t *Table) Devices() []*Device { return t.devs }

// SetParam writes neigh/<dev>/<name>; dev "default" writes the table
// default and every device (the kernel's copy-to-unset-devices logic,
// simplified to "all devices" since arplab never sets both).
func (t *Table) SetParam(dev, name, value string) error {
	var targets []*Params
	var devs []*Device
	switch dev {
	case "default":
		targets = append(targets, &t.Default)
		for _, d := range t.devs {
			targets = append(targets, &d.Params)
			devs = append(devs, d)
		}
		switch name {
		case "gc_thresh1", "gc_thresh2", "gc_thresh3":
			var v int
			if _, err := fmt.Sscan(value, &v); err != nil || v < 0 {
				return fmt.Errorf("neigh/default/%s: %q is not a non-negative integer", name, value)
			}
			switch name {
			case "gc_thresh1":
				t.GCThresh1 = v
			case "gc_thresh2":
				t.GCThresh2 = v
			default:
				t.GCThresh3 = v
			}
			return nil
		case "gc_interval":
			return nil // exposed but unused by every kernel (spec §7)
		}
	default:
		d, ok := t.Device(dev)
		if !ok {
			return fmt.Errorf("neigh/%s/%s: no device %q", dev, name, dev)
		}
		targets = append(targets, &d.Params)
		devs = append(devs, d)
	}
	for _, p := range targets {
		if err := p.Set(name, value); err != nil {
			return err
		}
	}
	// 4bf6980dd032: a write to base_reachable_time re-randomises at once.
	// IPv6 always did, through ndisc_ifinfo_sysctl_change, for the
	// retrans_time files too (ndisc §2.4, §8.1).
	rerand := name == "base_reachable_time" || name == "base_reachable_time_ms"
	if t.Family == IPv6 {
		rerand = rerand || name == "retrans_time" || name == "retrans_time_ms"
	}
	if (t.F.RerandomiseOnWrite || t.Family == IPv6) && rerand {
		for _, d := range devs {
			d.ReachableTime = t.randReachable(d.Params.BaseReachableTime)
		}
	}
	return nil
}

// SetConf writes conf/<dev>/<name>; dev "all" writes conf/all. On an IPv6
// table the names are net/ipv6/conf's (SetConf6).
func (t *Table) SetConf(dev, name, value string) error {
	if t.Family == IPv6 {
		return t.setConf6(dev, name, value)
	}
	if name == "drop_gratuitous_arp" && !t.F.DropGratuitousARP {
		return fmt.Errorf("conf/%s/drop_gratuitous_arp does not exist on %s (added in 4.6)", dev, t.Profile)
	}
	if name == "arp_evict_nocarrier" && !t.F.EvictNoCarrierCtl {
		return fmt.Errorf("conf/%s/arp_evict_nocarrier does not exist on %s (added in 5.16)", dev, t.Profile)
	}
	if name == "arp_accept" && value == "2" && !t.F.ARPAcceptMax {
		return fmt.Errorf("conf/%s/arp_accept=2 is not understood by %s (added in 6.0)", dev, t.Profile)
	}
	switch dev {
	case "all":
		return t.All.Set(name, value)
	case "default":
		return t.DefaultConf.Set(name, value)
	}
	d, ok := t.Device(dev)
	if !ok {
		return fmt.Errorf("conf/%s/%s: no device %q", dev, name, dev)
	}
	return d.Conf.Set(name, value)
}

// arpAccept combines conf/all and conf/<dev> (OR before 6.0, MAX after).
func (t *Table) arpAccept(d *Device) int {
	a, b := t.All.ARPAccept, d.Conf.ARPAccept
	if t.F.ARPAcceptMax {
		return max(a, b)
	}
	if a != 0 || b != 0 {
		return 1
	}
	return 0
}

// randReachable is neigh_rand_reach_time: uniform in [base/2, 3·base/2).
func (t *Table) randReachable(base vtime.Ticks) vtime.Ticks {
	if base <= 0 {
		return 0
	}
	return vtime.Ticks(t.rng.Uint64()%uint64(base)) + base/2
}

// key is an arp_tbl key: the device's index, then the address's four
// bytes in network order (one load; every output and received frame
// computes it).
func key(d *Device, ip netip.Addr) uint64 {
	b := ip.As4()
	return uint64(d.Index)<<32 | uint64(binary.BigEndian.Uint32(b[:]))
}

// key6 is an nd_tbl key: (device, 16-byte address), ndisc §0.3. A host's
// link-local and global addresses are separate keys, so separate entries.
type key6 struct {
	dev  int
	addr [16]byte
}

// get is the entry for ip on d, nil when there is none. An IPv4 table
// keeps its one-word keys; only nd_tbl hashes 16-byte addresses.
func (t *Table) get(d *Device, ip netip.Addr) *Entry {
	if t.entries6 != nil {
		return t.entries6[key6{d.Index, ip.As16()}]
	}
	if !ip.Is4() {
		return nil // an IPv6 address asked of arp_tbl: never an entry
	}
	k := key(d, ip)
	r := &t.recent[k%uint64(len(t.recent))]
	if r.e != nil && r.k == k {
		return r.e
	}
	e, _ := t.entries.Get(k)
	if e != nil {
		r.k, r.e = k, e
	}
	return e
}

// recentEntry is a slot of Table.recent: the entry e has key k.
type recentEntry struct {
	k uint64
	e *Entry
}

func (t *Table) put(e *Entry) {
	if t.entries6 != nil {
		t.entries6[key6{e.dev.Index, e.ip.As16()}] = e
		return
	}
	k := key(e.dev, e.ip)
	t.entries.Set(k, e)
	if r := &t.recent[k%uint64(len(t.recent))]; r.k == k {
		r.e = e
	}
}

func (t *Table) del(e *Entry) {
	if t.entries6 != nil {
		delete(t.entries6, key6{e.dev.Index, e.ip.As16()})
		return
	}
	k := key(e.dev, e.ip)
	t.entries.Delete(k)
	if r := &t.recent[k%uint64(len(t.recent))]; r.k == k {
		r.e = nil
	}
}

// each calls fn for every entry, in the tables' order (callers sort);
// fn must not add or remove entries.
func (t *Table) each(fn func(e *Entry)) {
	for _, e := range t.entries.All() {
		fn(e)
	}
	for _, e := range t.entries6 {
		fn(e)
	}
}

// Lookup returns a snapshot of the entry for ip on dev.
func (t *Table) Lookup(dev *Device, ip netip.Addr) (Snapshot, bool) {
	e := t.get(dev, ip)
	if e == nil {
		return Snapshot{}, false
	}
	return e.snapshot(), true
}

// Has reports whether there is an entry for ip on dev: Lookup without the
// snapshot (112 bytes built per call), for replay's per-frame question of
// whether the host already had one.
func (t *Table) Has(dev *Device, ip netip.Addr) bool { return t.get(dev, ip) != nil }

// Entries returns snapshots of every entry, ordered by device then address.
func (t *Table) Entries() []Snapshot {
	var out []Snapshot
	for _, d := range t.devs {
		var es []*Entry
		t.each(func(e *Entry) {
			if e.dev == d {
				es = append(es, e)
			}
		})
		sortEntries(es)
		for _, e := range es {
			out = append(out, e.snapshot())
		}
	}
	return out
}

// MaxProbes is how many probes the entry for ip on dev may send before it
// fails (spec §2.3), 0 when there is no such entry.
func (t *Table) MaxProbes(dev *Device, ip netip.Addr) int {
	e := t.get(dev, ip)
	if e == nil {
		return 0
	}
	return t.maxProbes(e)
}

// Len returns the number of entries.
func (t *Table) Len() int { return t.nEntries }

// create allocates an entry (neigh_alloc + __neigh_create): stamps
// updated = used = now and confirmed "long ago" (spec §1.2), after the
// forced-GC check of spec §7.2. It returns nil when the table is full.
func (t *Table) create(now vtime.Jiffies, d *Device, ip netip.Addr) *Entry {
	entries := t.nEntries
	if t.F.GCList {
		entries = t.nGC
	}
	if entries >= t.GCThresh3 || (entries >= t.GCThresh2 && vtime.After(now, t.lastFlush+vtime.Jiffies(5*t.HZ))) {
		freed := t.forcedGC(now)
		if freed == 0 && entries >= t.GCThresh3 {
			t.Stats.TableFull++
			t.decide(&Decision{Rule: RuleTableFull, Dev: d.Name, IP: ip, Now: now, Count: entries})
			return nil
		}
	}
	t.seq++
	e := &Entry{dev: d, ip: ip, state: None, updated: now, used: now,
		confirmed: now - vtime.Jiffies(2*d.Params.BaseReachableTime), idx: -1, created: t.seq}
	t.put(e)
	t.nEntries++
	t.nGC++
	return e
}

// remove unlinks e from the table.
func (t *Table) remove(e *Entry) {
	t.stopTimer(e)
	t.del(e)
	t.nEntries--
	if e.state != Permanent {
		t.nGC--
	}
}

// setState changes e's state, keeping the GC count of permanent entries.
func (t *Table) setState(e *Entry, s State) {
	if e.state == Permanent && s != Permanent {
		t.nGC++
	} else if e.state != Permanent && s == Permanent {
		t.nGC--
	}
	e.state = s
}

// begin resets the reusable result for a new input.
func (t *Table) begin(now vtime.Jiffies) *Result {
	t.cur = now
	t.res.Decisions = t.res.Decisions[:0]
	t.res.Actions = t.res.Actions[:0]
	return &t.res
}

// decide appends d to the result, with the table's profile and HZ (set
// in d too). A Decision is 272 bytes: taking a pointer and storing into
// the slot itself copies it once, where a value parameter and append
// (which copies its operand aside first) copied it three times for every
// received frame.
func (t *Table) decide(d *Decision) {
	d.Profile = t.Profile
	d.HZ = t.HZ
	ds := t.res.Decisions
	if len(ds) == cap(ds) {
		ds = slices.Grow(ds, 1)
	}
	ds = ds[:len(ds)+1]
	ds[len(ds)-1] = *d
	t.res.Decisions = ds
}

func (t *Table) act(a Action) {
	a.At = t.cur
	t.res.Actions = append(t.res.Actions, a)
}
