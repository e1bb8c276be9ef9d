package watch

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"arplab/internal/wire/arp"
)

// neigh_update update_flags (include/net/neighbour.h NEIGH_UPDATE_F_*).
const (
	flagOverride = 0x00000001
	flagAdmin    = 0x80000000
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

// tracepointKeys are the field names of the neigh_update print format
// (include/trace/events/neigh.h). A value may be empty (lladdr of an entry
// without one), so parsing goes by key rather than by position.
var tracepointKeys = map[string]bool{
	"family": true, "dev": true, "lladdr": true, "flags": true, "nud_state": true, "type": true,
	"dead": true, "refcnt": true, "primary_key4": true, "primary_key6": true, "confirmed": true,
	"updated": true, "used": true, "new_lladdr": true, "new_state": true, "update_flags": true, "pid": true,
}

// parseTracepoint parses a trace_pipe line of the neigh_update event. ok is
// false for other lines (other events, lost-event notices) and for IPv6.
func parseTracepoint(line string) (tp tracepoint, ok bool, err error) {
	head, body, found := strings.Cut(line, ": neigh_update: ")
	if !found {
		return tp, false, nil
	}
	// head ends with the timestamp: "… [001] ..s2.  1234.567890"
	ts := head[strings.LastIndexByte(head, ' ')+1:]
	if tp.mono, err = parseTraceTime(ts); err != nil {
		return tp, false, err
	}
	fields := map[string]string{}
	toks := strings.Fields(body)
	for i := 0; i < len(toks); i++ {
		k := toks[i]
		if !tracepointKeys[k] {
			return tp, false, fmt.Errorf("neigh_update: unexpected token %q in %q", k, body)
		}
		if i+1 < len(toks) && !tracepointKeys[toks[i+1]] {
			fields[k] = toks[i+1]
			i++
		} else {
			fields[k] = ""
		}
	}
	if fields["family"] != "2" {
		return tp, false, nil
	}
	tp.dev = fields["dev"]
	if tp.ip, err = netip.ParseAddr(fields["primary_key4"]); err != nil {
		return tp, false, fmt.Errorf("neigh_update primary_key4: %v", err)
	}
	if tp.lladdr, err = hexMAC(fields["lladdr"]); err != nil {
		return tp, false, err
	}
	if tp.newLLAddr, err = hexMAC(fields["new_lladdr"]); err != nil {
		return tp, false, err
	}
	tp.state = tracepointState(fields["nud_state"])
	tp.newState = tracepointState(fields["new_state"])
	f, err := strconv.ParseUint(fields["update_flags"], 16, 32)
	if err != nil {
		return tp, false, fmt.Errorf("neigh_update update_flags %q: %v", fields["update_flags"], err)
	}
	tp.flags = uint32(f)
	tp.confirmed, _ = strconv.ParseUint(fields["confirmed"], 10, 64)
	tp.updated, _ = strconv.ParseUint(fields["updated"], 10, 64)
	return tp, true, nil
}

// parseTraceTime parses "SECONDS.FRACTION" exactly (no float rounding).
func parseTraceTime(ts string) (time.Duration, error) {
	whole, frac, _ := strings.Cut(ts, ".")
	sec, err1 := strconv.ParseInt(whole, 10, 64)
	if len(frac) > 9 {
		frac = frac[:9]
	}
	ns, err2 := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	if err1 != nil || err2 != nil || ns < 0 {
		return 0, fmt.Errorf("neigh_update timestamp %q is not SECONDS.FRACTION", ts)
	}
	return time.Duration(sec)*time.Second + time.Duration(ns), nil
}

// hexMAC turns the tracepoint's "0200000000bb" into "02:00:00:00:00:bb".
func hexMAC(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 6 {
		return "", fmt.Errorf("neigh_update lladdr %q is not a MAC address", s)
	}
	return arp.MAC(b).String(), nil
}

// tracepointState maps __print_symbolic output to ip-neigh spelling; a
// state with no name (0, NUD_NONE) prints as "0x0".
func tracepointState(s string) string {
	if s == "0x0" || s == "" {
		return "NONE"
	}
	return strings.ToUpper(s)
}

// valid is NUD_VALID: the entry has a usable lladdr.
func valid(state string) bool {
	switch state {
	case "PERMANENT", "NOARP", "REACHABLE", "PROBE", "STALE", "DELAY":
		return true
	}
	return false
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
