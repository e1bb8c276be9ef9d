package watch

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"arplab/internal/ktrace"
	"arplab/internal/neigh"
)

// neigh_update update_flags (include/net/neighbour.h NEIGH_UPDATE_F_*).
// ADMIN moved from bit 31 to bit 7 in 5.16; either means an administrator.
const (
	flagOverride = ktrace.UpdateOverride
	flagAdmin    = ktrace.UpdateAdmin | 0x80000000
)

// tracepoint is one neigh:neigh_update record: the entry as it was when
// __neigh_update was called, and the update asked for.
type tracepoint struct {
	mono      time.Duration // trace timestamp (trace_clock mono)
	dev       string
	ip        netip.Addr
	lladdr    string // current n->ha, "" if none
	newLLAddr string
	state     string // current state, as ip neigh prints it
	newState  string
	flags     uint32
	confirmed uint64
	updated   uint64
}

// traceParser is ktrace's parser of neigh:* trace lines (one parser for
// the lab and the watcher).
var traceParser = ktrace.NewParser()

// parseTracepoint parses a trace_pipe line of the neigh_update event. ok is
// false for other lines (other events, headers, lost-event notices) and for
// IPv6.
func parseTracepoint(line string) (tp tracepoint, ok bool, err error) {
	if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") || !strings.Contains(line, ": neigh_") {
		return tp, false, nil
	}
	ev, err := traceParser.Parse(line)
	if err != nil {
		var lost *ktrace.LostEventsError
		if errors.As(err, &lost) {
			return tp, false, nil
		}
		return tp, false, err
	}
	tp, ok = fromTraceEvent(ev)
	return tp, ok, nil
}

// fromTraceEvent converts the ktrace parser's event; ok is false for other
// events and for IPv6.
func fromTraceEvent(ev ktrace.Event) (tracepoint, bool) {
	if ev.Event != "neigh_update" || ev.Family != 2 {
		return tracepoint{}, false
	}
	tp := tracepoint{mono: time.Duration(ev.TimestampNs), dev: ev.Dev, ip: ev.IP,
		newLLAddr: ev.NewLLAddr.String(), state: ev.State.String(), newState: ev.NewState.String(),
		flags: ev.UpdateFlags, confirmed: ev.Confirmed, updated: ev.Updated}
	if ev.LLAddrLen == 6 {
		tp.lladdr = ev.LLAddr.String()
	}
	return tp, true
}

// valid is NUD_VALID (neigh.State.Valid): the entry has a usable lladdr.
// state is as ip neigh spells it; a combination or an unknown name is not.
func valid(state string) bool {
	st, err := neigh.ParseState(state)
	return err == nil && st.Valid()
}

// ignored reports whether __neigh_update will leave the entry alone, and
// why (net/core/neighbour.c, spec §5): a different lladdr without OVERRIDE
// for a valid entry, or a non-admin update of a PERMANENT/NOARP entry.
func (tp tracepoint) ignored() (bool, string) {
	if tp.flags&flagAdmin != 0 {
		return false, ""
	}
	if tp.state == "PERMANENT" || tp.state == "NOARP" {
		return true, fmt.Sprintf("the entry is %s; only an administrator can change it", tp.state)
	}
	if valid(tp.state) && tp.newLLAddr != "" && tp.newLLAddr != tp.lladdr && tp.flags&flagOverride == 0 {
		return true, fmt.Sprintf("the entry is %s with lladdr %s and the update brings %s without OVERRIDE "+
			"(update_flags %02x): the frame arrived within locktime of the entry's last change (updated=%d) and "+
			"is not a gratuitous ARP to this kernel", tp.state, tp.lladdr, tp.newLLAddr, tp.flags, tp.updated)
	}
	return false, ""
}
