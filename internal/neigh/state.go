package neigh

import (
	"fmt"

	"arplab/internal/wire/ether"
)

// State is a NUD state, with the kernel's bit values (spec §1.1) so that the
// groupings below are the kernel's masks.
type State uint8

// NUD states. Each prints as `ip neigh` prints it.
const (
	// None: just created, nothing known.
	None State = 0x00
	// Incomplete: resolution in progress with broadcast probes; packets queue.
	Incomplete State = 0x01
	// Reachable: lladdr known and recently confirmed; timer running.
	Reachable State = 0x02
	// Stale: lladdr known but unconfirmed; no timer; packets still use it.
	Stale State = 0x04
	// Delay: a Stale entry that was used; waiting delay_first_probe_time
	// for an upper-layer confirmation before probing.
	Delay State = 0x08
	// Probe: unicast probes are being sent to the cached lladdr.
	Probe State = 0x10
	// Failed: resolution failed; no timer.
	Failed State = 0x20
	// NoARP: no resolution needed (multicast, broadcast, NOARP devices).
	NoARP State = 0x40
	// Permanent: a static entry set by an administrator.
	Permanent State = 0x80
)

// Kernel groupings (include/net/neighbour.h, spec §1.1).
const (
	inTimer   = Incomplete | Reachable | Delay | Probe
	valid     = Permanent | NoARP | Reachable | Probe | Stale | Delay
	connected = Permanent | NoARP | Reachable
)

// InTimer reports NUD_IN_TIMER: the states with an armed per-entry timer.
func (s State) InTimer() bool { return s&inTimer != 0 }

// Valid reports NUD_VALID: the cached lladdr is usable.
func (s State) Valid() bool { return s&valid != 0 }

// Connected reports NUD_CONNECTED: the fast-path states.
func (s State) Connected() bool { return s&connected != 0 }

// String prints the state the way `ip neigh` does.
func (s State) String() string {
	switch s {
	case None:
		return "NONE"
	case Incomplete:
		return "INCOMPLETE"
	case Reachable:
		return "REACHABLE"
	case Stale:
		return "STALE"
	case Delay:
		return "DELAY"
	case Probe:
		return "PROBE"
	case Failed:
		return "FAILED"
	case NoARP:
		return "NOARP"
	case Permanent:
		return "PERMANENT"
	}
	return fmt.Sprintf("NUD(0x%02x)", uint8(s))
}

// ParseState parses a state name as `ip neigh` spells it (any case).
func ParseState(s string) (State, error) {
	for _, st := range []State{None, Incomplete, Reachable, Stale, Delay, Probe, Failed, NoARP, Permanent} {
		if equalFold(st.String(), s) {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown NUD state %q (want REACHABLE, STALE, DELAY, PROBE, INCOMPLETE, FAILED, NOARP, PERMANENT or NONE)", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 32
		}
		if 'a' <= y && y <= 'z' {
			y -= 32
		}
		if x != y {
			return false
		}
	}
	return true
}

// PktType is how the frame reached the host (skb->pkt_type): it decides
// whether a reply asserts reachability (spec §4.4). wire/ether owns it.
type PktType = ether.PktType

// Packet types the receive path tells apart.
const (
	PktHost      = ether.PktHost      // unicast to our MAC
	PktBroadcast = ether.PktBroadcast // link-layer broadcast
	PktMulticast = ether.PktMulticast // link-layer multicast
	PktOtherHost = ether.PktOtherHost // unicast to another MAC (dropped by arp_rcv)
)
