package lab

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"arplab/internal/wire/arp"
)

// NUD state bits (include/uapi/linux/neighbour.h; unchanged since 2.6).
const (
	NUDNone       uint16 = 0x00
	NUDIncomplete uint16 = 0x01
	NUDReachable  uint16 = 0x02
	NUDStale      uint16 = 0x04
	NUDDelay      uint16 = 0x08
	NUDProbe      uint16 = 0x10
	NUDFailed     uint16 = 0x20
	NUDNoARP      uint16 = 0x40
	NUDPermanent  uint16 = 0x80
)

// nudNames lists the state bits in the order iproute2's print_neigh_state
// prints them.
var nudNames = []struct {
	bit  uint16
	name string
}{
	{NUDIncomplete, "INCOMPLETE"},
	{NUDReachable, "REACHABLE"},
	{NUDStale, "STALE"},
	{NUDDelay, "DELAY"},
	{NUDProbe, "PROBE"},
	{NUDFailed, "FAILED"},
	{NUDNoARP, "NOARP"},
	{NUDPermanent, "PERMANENT"},
}

// StateString prints a NUD state the way `ip neigh` does: the name of every
// set bit, space-separated, with leftover unknown bits in hex. The kernel
// normally sets exactly one bit; 0 (an entry being created or deleted) prints
// as "NONE", which ip leaves blank.
func StateString(nud uint16) string {
	if nud == 0 {
		return "NONE"
	}
	var parts []string
	for _, n := range nudNames {
		if nud&n.bit != 0 {
			parts = append(parts, n.name)
			nud &^= n.bit
		}
	}
	if nud != 0 {
		parts = append(parts, fmt.Sprintf("%x", nud))
	}
	return strings.Join(parts, " ")
}

// ParseState is the inverse of StateString for a single state name, in any
// case ("stale", "STALE"); "none" is 0 and "0x.." is a raw value. It accepts what
// `ip neigh ... nud X` accepts plus the names the tracepoints print.
func ParseState(s string) (uint16, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "NONE" {
		return NUDNone, nil
	}
	if strings.HasPrefix(u, "0X") {
		// __print_symbolic prints values without a name in hex.
		v, err := strconv.ParseUint(u[2:], 16, 16)
		if err != nil {
			return 0, fmt.Errorf("lab: bad neighbour state %q: %w", s, err)
		}
		return uint16(v), nil
	}
	for _, n := range nudNames {
		if u == n.name {
			return n.bit, nil
		}
	}
	return 0, fmt.Errorf("lab: unknown neighbour state %q (want reachable, stale, delay, probe, incomplete, failed, noarp, permanent or none)", s)
}

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

// Neigh is one IPv4 neighbour entry as a netlink dump reports it.
type Neigh struct {
	Dev       string
	IP        netip.Addr
	LLAddr    arp.MAC
	HasLLAddr bool   // false for INCOMPLETE/FAILED entries without an address
	NUD       uint16 // raw ndm_state
	State     string // StateString(NUD): "REACHABLE", "STALE", ...
	Flags     uint8  // raw ndm_flags
	Router    bool   // NTF_ROUTER

	// Ages from NDA_CACHEINFO: how long ago each timestamp was set, at
	// USER_HZ (10 ms) resolution. Updated is the locktime reference
	// (spec §1.2).
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

// NeighOp selects the netlink semantics of NeighSet, as in `ip neigh`.
type NeighOp uint8

// Neighbour operations. The zero value is invalid on purpose.
const (
	_ NeighOp = iota
	// NeighReplace creates or overrides (NLM_F_CREATE|NLM_F_REPLACE),
	// like `ip neigh replace`.
	NeighReplace
	// NeighAdd creates and fails if the entry exists
	// (NLM_F_CREATE|NLM_F_EXCL), like `ip neigh add`.
	NeighAdd
	// NeighChange modifies an existing entry and fails if there is none
	// (NLM_F_REPLACE), like `ip neigh change`.
	NeighChange
)

func (o NeighOp) String() string {
	switch o {
	case NeighReplace:
		return "replace"
	case NeighAdd:
		return "add"
	case NeighChange:
		return "change"
	}
	return fmt.Sprintf("NeighOp(%d)", uint8(o))
}

// NeighSpec describes an administrative neighbour update.
type NeighSpec struct {
	Dev       string
	IP        netip.Addr
	LLAddr    arp.MAC
	HasLLAddr bool // send NDA_LLADDR; without it the kernel keeps the old address
	// State is a state name ("reachable", "stale", ...). Empty means
	// "permanent", the default of `ip neigh add/replace`.
	State string
	// Router sets NTF_ROUTER.
	Router bool
	// Use sets NTF_USE: instead of updating, the kernel runs
	// neigh_event_send on the entry as if a packet were queued to it
	// (`ip neigh ... use`), which starts resolution or DELAY.
	Use bool
}
