package labnet

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"arplab/internal/labsys"
	"arplab/internal/neigh"
)

// Neighbour-table attributes (include/uapi/linux/neighbour.h); x/sys/unix
// does not define them.
const (
	nlaTypeMask = 0x3fff // NLA_TYPE_MASK: without NLA_F_NESTED and NLA_F_NET_BYTEORDER

	ndtaName       = 1
	ndtaThresh1    = 2
	ndtaThresh2    = 3
	ndtaThresh3    = 4
	ndtaConfig     = 5
	ndtaParms      = 6
	ndtaStats      = 7
	ndtaGCInterval = 8

	ndtpaIfindex           = 1
	ndtpaReachableTime     = 3
	ndtpaBaseReachableTime = 4
	ndtpaRetransTime       = 5
	ndtpaGCStaletime       = 6
	ndtpaDelayProbeTime    = 7
	ndtpaAppProbes         = 9
	ndtpaUcastProbes       = 10
	ndtpaMcastProbes       = 11
	ndtpaAnycastDelay      = 12
	ndtpaProxyDelay        = 13
	ndtpaProxyQlen         = 14
	ndtpaLocktime          = 15
	ndtpaQueueLenBytes     = 16
	ndtpaMcastReprobes     = 17
	ndtpaIntervalProbeTime = 19
)

// NeighTable reads the ARP table's settings and this host's per-interface
// parameter sets over netlink (RTM_GETNEIGHTBL, what `ip ntable` shows),
// keyed by interface index. Times are exact: the kernel converts jiffies
// to milliseconds, and every HZ divides 1000 ms into whole ticks except
// 300, where the value is within a millisecond.
func (h *Host) NeighTable() (TableInfo, map[int]NeighParams, error) {
	return h.neighTable(unix.AF_INET, "arp_cache")
}

// NDTable is NeighTable for the IPv6 neighbour-discovery table
// (ndisc_cache): its own thresholds and, per interface, the parameters of
// neigh/<dev> under net/ipv6 (locktime reads 0 there, and no IPv6 code
// reads it; spec ndisc §2.1). It needs IPv6 on in the host.
func (h *Host) NDTable() (TableInfo, map[int]NeighParams, error) {
	return h.neighTable(unix.AF_INET6, "ndisc_cache")
}

func (h *Host) neighTable(family uint8, table string) (TableInfo, map[int]NeighParams, error) {
	var info TableInfo
	parms := map[int]NeighParams{}
	err := h.do(func() error {
		req := nl.NewNetlinkRequest(unix.RTM_GETNEIGHTBL, unix.NLM_F_DUMP)
		req.AddData(ndtmsg{family: family})
		msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWNEIGHTBL)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if len(m) < 4 || m[0] != family {
				continue
			}
			attrs, err := nl.ParseRouteAttr(m[4:])
			if err != nil {
				return err
			}
			name := ""
			for i := range attrs {
				attrs[i].Attr.Type &= nlaTypeMask
			}
			for _, a := range attrs {
				if a.Attr.Type == ndtaName {
					name = strings.TrimRight(string(a.Value), "\x00")
				}
			}
			if name != table {
				continue
			}
			for _, a := range attrs {
				switch a.Attr.Type {
				case ndtaThresh1:
					info.Thresh1 = int(u32(a.Value))
				case ndtaThresh2:
					info.Thresh2 = int(u32(a.Value))
				case ndtaThresh3:
					info.Thresh3 = int(u32(a.Value))
				case ndtaGCInterval:
					info.GCInterval = time.Duration(u64(a.Value)) * time.Millisecond
				case ndtaConfig:
					// struct ndt_config: key_len u16, entry_size u16,
					// entries, last_flush, last_rand (ms ago), ...
					if len(a.Value) >= 16 {
						info.Entries = int(binary.NativeEndian.Uint32(a.Value[4:]))
						info.LastFlushAgo = time.Duration(binary.NativeEndian.Uint32(a.Value[8:])) * time.Millisecond
						info.LastRandAgo = time.Duration(binary.NativeEndian.Uint32(a.Value[12:])) * time.Millisecond
					}
				case ndtaStats:
					// struct ndt_stats: 11 u64 counters; periodic_gc_runs
					// is the 9th, forced_gc_runs the 10th.
					if len(a.Value) >= 80 {
						info.PeriodicRuns = binary.NativeEndian.Uint64(a.Value[64:])
						info.ForcedRuns = binary.NativeEndian.Uint64(a.Value[72:])
					}
				case ndtaParms:
					idx, p, err := parseParms(a.Value)
					if err != nil {
						return err
					}
					if idx == 0 {
						info.Default = p
					} else {
						parms[idx] = p
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return info, nil, labsys.PermErr(h.ns+": read "+table+" parameters", err)
	}
	return info, parms, nil
}

// ndtmsg is struct ndtmsg: the family and three bytes of padding.
type ndtmsg struct{ family uint8 }

func (m ndtmsg) Len() int          { return 4 }
func (m ndtmsg) Serialize() []byte { return []byte{m.family, 0, 0, 0} }

func parseParms(b []byte) (int, NeighParams, error) {
	attrs, err := nl.ParseRouteAttr(b)
	if err != nil {
		return 0, NeighParams{}, err
	}
	var p NeighParams
	idx := 0
	for i := range attrs {
		attrs[i].Attr.Type &= nlaTypeMask
	}
	ms := func(v []byte) time.Duration { return time.Duration(u64(v)) * time.Millisecond }
	for _, a := range attrs {
		v := a.Value
		switch a.Attr.Type {
		case ndtpaIfindex:
			idx = int(u32(v))
		case ndtpaReachableTime:
			p.ReachableTime = ms(v)
		case ndtpaBaseReachableTime:
			p.BaseReachableTime = ms(v)
		case ndtpaRetransTime:
			p.RetransTime = ms(v)
		case ndtpaGCStaletime:
			p.GCStaleTime = ms(v)
		case ndtpaDelayProbeTime:
			p.DelayProbeTime = ms(v)
		case ndtpaAnycastDelay:
			p.AnycastDelay = ms(v)
		case ndtpaProxyDelay:
			p.ProxyDelay = ms(v)
		case ndtpaLocktime:
			p.Locktime = ms(v)
		case ndtpaIntervalProbeTime:
			p.IntervalProbeTime = ms(v)
		case ndtpaQueueLenBytes:
			p.QueueLenBytes = int(u32(v))
		case ndtpaAppProbes:
			p.AppProbes = int(u32(v))
		case ndtpaUcastProbes:
			p.UcastProbes = int(u32(v))
		case ndtpaMcastProbes:
			p.McastProbes = int(u32(v))
		case ndtpaMcastReprobes:
			p.McastReprobes = int(u32(v))
		case ndtpaProxyQlen:
			p.ProxyQlen = int(u32(v))
		}
	}
	return idx, p, nil
}

func u32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(b)
}

func u64(b []byte) uint64 {
	switch {
	case len(b) >= 8:
		return binary.NativeEndian.Uint64(b)
	case len(b) >= 4:
		return uint64(binary.NativeEndian.Uint32(b))
	}
	return 0
}

// ReadConf reads conf/<dev>/ (dev may be "all") inside the host's
// namespace: the settings the model reads (neigh.ConfNames, spec §8.2).
func (h *Host) ReadConf(dev string) (map[string]string, error) {
	return h.readConf("ipv4", neigh.ConfNames, dev)
}

// ReadConf6 reads net/ipv6/conf/<dev>/ (dev may be "all"): the settings
// the model reads (neigh.Conf6Names, ndisc §8.2). A kernel that lacks one
// (an older release) simply does not report it.
func (h *Host) ReadConf6(dev string) (map[string]string, error) {
	return h.readConf("ipv6", neigh.Conf6Names, dev)
}

func (h *Host) readConf(family string, names []string, dev string) (map[string]string, error) {
	out := map[string]string{}
	err := h.do(func() error {
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join("/proc/sys/net", family, "conf", dev, n))
			if err != nil {
				if os.IsNotExist(err) {
					continue
				}
				return err
			}
			out[n] = strings.TrimSpace(string(b))
		}
		return nil
	})
	return out, err
}

// ReadArpCacheStat reads /proc/net/stat/arp_cache (the table is global,
// so any namespace will do): periodic_gc_runs summed over the CPUs, and the
// table's entries of every namespace.
func ReadArpCacheStat() (ArpCacheStat, error) {
	var st ArpCacheStat
	b, err := os.ReadFile("/proc/net/stat/arp_cache")
	if err != nil {
		return st, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return st, fmt.Errorf("lab: /proc/net/stat/arp_cache: no data")
	}
	runs, entries := -1, -1
	for i, f := range strings.Fields(lines[0]) {
		switch f {
		case "periodic_gc_runs":
			runs = i
		case "entries":
			entries = i
		}
	}
	if runs < 0 || entries < 0 {
		return st, fmt.Errorf("lab: /proc/net/stat/arp_cache lacks the periodic_gc_runs or entries column")
	}
	for n, l := range lines[1:] {
		f := strings.Fields(l)
		if runs >= len(f) || entries >= len(f) {
			continue
		}
		v, err := strconv.ParseUint(f[runs], 16, 64)
		if err != nil {
			return st, fmt.Errorf("lab: /proc/net/stat/arp_cache: %w", err)
		}
		st.PeriodicRuns += v
		if n == 0 { // the same global count on every CPU's line
			e, err := strconv.ParseUint(f[entries], 16, 32)
			if err != nil {
				return st, fmt.Errorf("lab: /proc/net/stat/arp_cache: %w", err)
			}
			st.Entries = int(e)
		}
	}
	return st, nil
}
