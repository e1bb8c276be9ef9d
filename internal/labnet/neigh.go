package labnet

import (
	"fmt"
	"net/netip"
	"time"

	"arplab/internal/neigh"
	"arplab/internal/vtime"
	"arplab/internal/wire/arp"
)

// userHZ is the unit of NDA_CACHEINFO ages (clock_t, USER_HZ). It is 100 on
// every architecture Linux runs arplab on (x86, arm, arm64, riscv, ppc, s390);
// only alpha and ia64 differ.
const userHZ = 100

// Neighbour-entry flags (ndm_flags).
const (
	NTFUse    uint8 = 0x01
	NTFProxy  uint8 = 0x08
	NTFRouter uint8 = 0x80
)

// Neigh is one neighbour entry (ARP or ND) as a netlink dump reports it.
type Neigh struct {
	Dev       string
	IP        netip.Addr
	LLAddr    arp.MAC
	HasLLAddr bool        // false for INCOMPLETE/FAILED entries without an address
	State     neigh.State // ndm_state
	Flags     uint8       // raw ndm_flags
	Router    bool        // NTF_ROUTER

	// Ages from NDA_CACHEINFO: how long ago each timestamp was set, at
	// USER_HZ (10 ms) resolution. Updated is the locktime reference
	// (spec §1.2; IPv6 has no locktime, ndisc §5.5).
	Confirmed, Used, Updated time.Duration
}

func (n Neigh) String() string {
	ll := "(none)"
	if n.HasLLAddr {
		ll = n.LLAddr.String()
	}
	return fmt.Sprintf("%s dev %s lladdr %s %s (confirmed %v used %v updated %v ago)",
		n.IP, n.Dev, ll, n.State, n.Confirmed, n.Used, n.Updated)
}

func ticksToDuration(ticks uint32) time.Duration {
	return time.Duration(ticks) * (time.Second / userHZ)
}

// NeighSpec describes an administrative neighbour update.
type NeighSpec struct {
	Dev       string
	IP        netip.Addr
	LLAddr    arp.MAC
	HasLLAddr bool // send NDA_LLADDR; without it the kernel keeps the old address
	// State is the entry's new state; `ip neigh add/replace` defaults
	// to PERMANENT (scenario.ParseNeighCmd does).
	State neigh.State
	// Router sets NTF_ROUTER.
	Router bool
	// Use sets NTF_USE: instead of updating, the kernel runs
	// neigh_event_send on the entry as if a packet were queued to it
	// (`ip neigh ... use`), which starts resolution or DELAY.
	Use bool
}

// NeighParams is one parameter set as the kernel reports it over netlink
// (`ip ntable`): times in milliseconds, converted from jiffies exactly.
type NeighParams struct {
	ReachableTime     time.Duration // the randomised value in force
	BaseReachableTime time.Duration
	RetransTime       time.Duration
	GCStaleTime       time.Duration
	DelayProbeTime    time.Duration
	AnycastDelay      time.Duration
	ProxyDelay        time.Duration
	Locktime          time.Duration
	IntervalProbeTime time.Duration
	QueueLenBytes     int
	AppProbes         int
	UcastProbes       int
	McastProbes       int
	McastReprobes     int
	ProxyQlen         int
}

// ArpCacheStat is what /proc/net/stat/arp_cache says of the machine-wide
// IPv4 neighbour table.
type ArpCacheStat struct {
	PeriodicRuns uint64 // runs of the periodic work (neigh_periodic_work)
	Entries      int    // entries of every namespace (tbl->entries)
}

// TableInfo is the ARP table's global part (`ip ntable show name arp_cache`):
// it is shared by every namespace on the machine.
type TableInfo struct {
	Thresh1, Thresh2, Thresh3 int
	Entries                   int           // entries of every namespace
	LastFlushAgo, LastRandAgo time.Duration // at the time of reading
	GCInterval                time.Duration
	PeriodicRuns, ForcedRuns  uint64
	// Default is the table's own parameter set (init_net's neigh/default):
	// its base_reachable_time paces the periodic work.
	Default NeighParams
}

// Apply puts the parameter set into a model device: times in jiffies at hz
// (milliseconds converted by vtime.MsToTicks, as the kernel's proc handlers
// do), and the kernel's randomised reachable_time as the device's own. It
// is the one mapping of the lab's parameters onto neigh.Params.
func (p NeighParams) Apply(d *neigh.Device, hz int) {
	t := func(x time.Duration) vtime.Ticks { return vtime.MsToTicks(x.Milliseconds(), hz) }
	q := &d.Params
	q.BaseReachableTime = t(p.BaseReachableTime)
	q.RetransTime = t(p.RetransTime)
	q.DelayProbeTime = t(p.DelayProbeTime)
	q.GCStaleTime = t(p.GCStaleTime)
	q.Locktime = t(p.Locktime)
	q.ProxyDelay = t(p.ProxyDelay)
	q.AnycastDelay = t(p.AnycastDelay)
	q.UcastProbes, q.McastProbes, q.AppProbes, q.McastReprobes = p.UcastProbes, p.McastProbes, p.AppProbes, p.McastReprobes
	q.UnresQlenBytes, q.ProxyQlen = p.QueueLenBytes, p.ProxyQlen
	d.ReachableTime = t(p.ReachableTime)
}
